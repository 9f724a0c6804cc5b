import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml
from django.utils import timezone

from apps.core.beat import BEAT_HEARTBEAT_KEY, BEAT_LAST_SENT_KEY
from apps.core.health import CANARY_SENT_KEY
from apps.core.redis_client import redis_client
from apps.core.tasks import HEARTBEAT_KEY
from tests.workers import ROOT, celery_workers, wait_for


@pytest.mark.django_db
def test_healthy_when_database_redis_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: body["checks"][name]["ok"] for name in ("database", "redis", "celery_broker", "static_files")} == {
        "database": True,
        "redis": True,
        "celery_broker": True,
        "static_files": True,
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
    _stamp(BEAT_HEARTBEAT_KEY)
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


# Worker and beat apart (#23): a stopped beat used to read as a dead worker, because the
# worker's only heartbeat is the canary that beat sends.


def _stamp(key: str, age: timezone.timedelta | None = None) -> str:
    value = (timezone.now() - (age or timezone.timedelta(0))).isoformat()
    redis_client().set(key, value)
    return value


@pytest.mark.django_db
def test_a_stopped_beat_is_blamed_and_the_worker_is_not(client):
    _stamp(HEARTBEAT_KEY)
    stale = _stamp(BEAT_HEARTBEAT_KEY, timezone.timedelta(hours=1))
    response = client.get("/healthz?worker=1")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["celery_beat"] == {"ok": False, "last_seen": stale}
    assert checks["celery_worker"]["ok"] is True


@pytest.mark.django_db
def test_a_stopped_worker_is_blamed_and_the_beat_is_not(client):
    _stamp(BEAT_HEARTBEAT_KEY)
    redis_client().delete(HEARTBEAT_KEY)
    response = client.get("/healthz?worker=1")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["celery_beat"]["ok"] is True
    assert checks["celery_worker"]["ok"] is False


@pytest.mark.django_db
def test_worker_and_beat_alive_is_healthy(client):
    _stamp(HEARTBEAT_KEY)
    _stamp(BEAT_HEARTBEAT_KEY)
    response = client.get("/healthz?worker=1")
    assert response.status_code == 200, response.json()
    assert {name: response.json()["checks"][name]["ok"] for name in ("celery_worker", "celery_beat")} == {
        "celery_worker": True,
        "celery_beat": True,
    }


def _healthz_checks(live_url: str) -> dict:
    """GET /healthz?worker=1 from the live server (the real worker and beat write to its Redis)."""
    try:
        with urllib.request.urlopen(f"{live_url}/healthz?worker=1", timeout=10) as response:  # noqa: S310
            return json.loads(response.read())["checks"]
    except urllib.error.HTTPError as error:
        return json.loads(error.read())["checks"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_beat_stopped_a_running_worker_still_reports_ok(tmp_path, live_server):
    """No beat sends canaries, so /healthz sends one itself: the real worker consumes it."""
    redis_client().delete(HEARTBEAT_KEY, BEAT_HEARTBEAT_KEY, CANARY_SENT_KEY)
    with celery_workers(tmp_path, [], {}) as start:
        start("worker")
        checks = wait_for(lambda: (c := _healthz_checks(live_server.url))["celery_worker"]["ok"] and c, timeout=60)
    assert checks, (tmp_path / "worker.log").read_text()
    assert checks["celery_worker"]["ok"] is True
    assert checks["celery_beat"] == {"ok": False, "last_seen": None}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_the_worker_stopped_a_running_beat_still_reports_ok(tmp_path, live_server):
    redis_client().delete(HEARTBEAT_KEY, BEAT_HEARTBEAT_KEY, BEAT_LAST_SENT_KEY)
    every_second = [
        "CELERY_BEAT_SCHEDULE = {'core.canary': {'task': 'core.canary', 'schedule': 1.0, 'options': {'expires': 5}}}"
    ]
    with celery_workers(tmp_path, every_second, {}) as start:
        start("beat", beat=True)
        checks = wait_for(lambda: (c := _healthz_checks(live_server.url))["celery_beat"]["ok"] and c, timeout=60)
        sent = wait_for(lambda: redis_client().hget(BEAT_LAST_SENT_KEY, "core.canary"), timeout=30)
    assert checks, (tmp_path / "beat.log").read_text()
    assert checks["celery_beat"]["ok"] is True
    assert checks["celery_worker"] == {"ok": False, "last_seen": None}
    # and it left when it last sent each job, for /metrics
    assert float(sent) > time.time() - 60


def _healthcheck(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test"}
    command = [sys.executable, "-m", "apps.core.healthcheck", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.django_db
def test_the_beat_container_check_reads_beats_heartbeat():
    redis_client().delete(BEAT_HEARTBEAT_KEY)
    missing = _healthcheck("beat")
    assert missing.returncode == 1
    assert "beat" in missing.stdout
    _stamp(BEAT_HEARTBEAT_KEY)
    assert _healthcheck("beat").returncode == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_container_check_pings_its_own_worker(tmp_path):
    with celery_workers(tmp_path, [], {}) as start:
        start("checked")
        assert wait_for(lambda: "ready" in (tmp_path / "checked.log").read_text(), timeout=60)
        node = f"checked-{os.getpid()}@{socket.gethostname()}"
        answered = _healthcheck("worker", "--node", node)
        assert answered.returncode == 0, answered.stdout + answered.stderr
    assert _healthcheck("worker", "--node", "nobody@nowhere").returncode == 1


# Static files (#23): under the hashed-name storage production uses, a missing
# staticfiles.json makes every page a 500 while /healthz said 200.

MANIFEST_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.mark.django_db
def test_unavailable_when_static_files_were_never_collected(client, settings, tmp_path):
    settings.STORAGES = MANIFEST_STORAGE
    settings.STATIC_ROOT = str(tmp_path / "empty")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["static_files"]["ok"] is False


@pytest.mark.django_db
def test_healthy_once_static_files_are_collected(client, settings, tmp_path):
    settings.STORAGES = MANIFEST_STORAGE
    settings.STATIC_ROOT = str(tmp_path)
    manifest = {"paths": {"css/app.css": "css/app.0123456789ab.css"}, "version": "1.1", "hash": "0123456789ab"}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["static_files"]["ok"] is True


def test_compose_gives_the_worker_and_beat_their_own_health_checks():
    """The commands tested above are the ones the containers run."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for service in ("worker", "beat"):
        check = compose["services"][service]["healthcheck"]
        assert check["test"] == ["CMD", "python", "-m", "apps.core.healthcheck", service]
