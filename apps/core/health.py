"""GET /healthz: can this instance reach what it needs?

200 when the database, Redis and the Celery broker answer; 503 otherwise.
The worker's last heartbeat (left by the `core.canary` beat task) is
reported too; it decides the status only with ?worker=1, because a web
instance stays useful while workers restart.
"""

from __future__ import annotations

from datetime import datetime

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.redis_client import redis_client
from apps.core.tasks import HEARTBEAT_KEY
from qms_portal.celery import app as celery_app

TIMEOUT_SECONDS = 2


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure here means "not reachable"
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _redis() -> tuple[dict, str | None]:
    client = redis_client(timeout=TIMEOUT_SECONDS)
    try:
        client.ping()
        heartbeat = client.get(HEARTBEAT_KEY)
    except (redis.RedisError, OSError) as error:
        return {"ok": False, "error": type(error).__name__}, None
    finally:
        client.close()
    return {"ok": True}, heartbeat


def _broker() -> dict:
    try:
        with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _worker(heartbeat: str | None) -> dict:
    if heartbeat is None:
        return {"ok": False, "last_seen": None}
    seen = datetime.fromisoformat(heartbeat)
    return {"ok": timezone.now() - seen <= settings.WORKER_HEARTBEAT_MAX_AGE, "last_seen": heartbeat}


@never_cache
@require_GET
def healthz(request):
    database = _database()
    redis_status, heartbeat = _redis()
    checks = {
        "database": database,
        "redis": redis_status,
        "celery_broker": _broker(),
        "celery_worker": _worker(heartbeat),
    }
    required = ["database", "redis", "celery_broker"]
    if request.GET.get("worker") == "1":
        required.append("celery_worker")
    healthy = all(checks[name]["ok"] for name in required)
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
