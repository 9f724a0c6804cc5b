import pytest
from django.utils import timezone

from apps.core.redis_client import redis_client
from apps.core.tasks import HEARTBEAT_KEY


@pytest.mark.django_db
def test_healthy_when_database_redis_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items() if name != "celery_worker"} == {
        "database": True,
        "redis": True,
        "celery_broker": True,
    }


@pytest.mark.django_db
def test_unavailable_when_redis_is_unreachable(client, settings):
    settings.REDIS_CLIENT_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["celery_broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_worker_heartbeat_decides_only_when_asked(client):
    redis_client().delete(HEARTBEAT_KEY)
    first = client.get("/healthz")
    assert first.status_code == 200, first.json()
    assert client.get("/healthz?worker=1").status_code == 503
    redis_client().set(HEARTBEAT_KEY, timezone.now().isoformat())
    response = client.get("/healthz?worker=1")
    assert response.status_code == 200
    assert response.json()["checks"]["celery_worker"]["ok"] is True


@pytest.mark.django_db
def test_stale_heartbeat_is_reported(client):
    stale = timezone.now() - timezone.timedelta(hours=1)
    redis_client().set(HEARTBEAT_KEY, stale.isoformat())
    response = client.get("/healthz?worker=1")
    assert response.status_code == 503
    assert response.json()["checks"]["celery_worker"] == {"ok": False, "last_seen": stale.isoformat()}


def test_only_get_is_allowed(client):
    assert client.post("/healthz").status_code == 405
