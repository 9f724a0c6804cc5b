"""GET /healthz: can this instance reach what it needs?

200 when the database, Redis and the Celery broker answer and the static files were
collected; 503 otherwise. The worker and beat are reported apart, each by its own
heartbeat, and decide the status only with ?worker=1, because a web instance stays useful
while workers restart:

- beat: the scheduler writes BEAT_HEARTBEAT_KEY on every tick (apps/core/beat.py);
- worker: the `core.canary` task, consumed from the queue, writes HEARTBEAT_KEY. Beat sends
  the canary; while beat is missing, /healthz?worker=1 sends it (at most once per canary
  period), so a stopped beat does not make a running worker look dead as well.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core import keys
from apps.core.beat import BEAT_HEARTBEAT_KEY, BEAT_HEARTBEAT_MAX_AGE
from apps.core.redis_client import redis_client
from apps.core.tasks import HEARTBEAT_KEY, canary_task
from qms_portal.celery import app as celery_app

TIMEOUT_SECONDS = 2
# Set (with the canary period as expiry) when /healthz sent a canary in beat's place.
CANARY_SENT_KEY = "qms:worker:canary-sent"


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure here means "not reachable"
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _redis() -> tuple[dict, str | None, str | None]:
    """Redis's state and the worker's and beat's heartbeats, in one round trip."""
    client = redis_client(timeout=TIMEOUT_SECONDS)
    try:
        worker, beat = client.mget(HEARTBEAT_KEY, BEAT_HEARTBEAT_KEY)
    except (redis.RedisError, OSError) as error:
        return {"ok": False, "error": type(error).__name__}, None, None
    return {"ok": True}, worker, beat


def _broker() -> dict:
    try:
        with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def heartbeat_state(stamp: str | None, max_age: timedelta) -> dict:
    if stamp is None:
        return {"ok": False, "last_seen": None}
    return {"ok": timezone.now() - datetime.fromisoformat(stamp) <= max_age, "last_seen": stamp}


def _send_canary_in_beats_place() -> None:
    """Keep proving the worker while beat is down: one canary per canary period from all the
    web instances together (the SET NX decides which request sends it)."""
    period = settings.WORKER_CANARY_SECONDS
    try:
        if redis_client(timeout=TIMEOUT_SECONDS).set(CANARY_SENT_KEY, "1", nx=True, ex=period):
            canary_task.apply_async(expires=period)
    except Exception:  # noqa: S110 - the checks above already report Redis and the broker
        pass


def _static_files() -> dict:
    """With hashed file names (production's storage) every {% static %} needs the manifest that
    collectstatic writes; this process read it when it first touched the storage, so a manifest
    collected after start-up is seen only after a restart, which is what the pages see too."""
    # The lazy storage passes isinstance and attribute reads through to the configured one.
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return {"ok": True}
    if not staticfiles_storage.hashed_files:
        return {"ok": False, "error": "static files not collected (manage.py collectstatic)"}
    return {"ok": True}


@never_cache
@require_GET
def healthz(request):
    redis_status, worker_stamp, beat_stamp = _redis()
    checks = {
        "database": _database(),
        "redis": redis_status,
        "celery_broker": _broker(),
        "static_files": _static_files(),
        "encryption_keys": keys.health(),
        "celery_worker": heartbeat_state(worker_stamp, settings.WORKER_HEARTBEAT_MAX_AGE),
        "celery_beat": heartbeat_state(beat_stamp, BEAT_HEARTBEAT_MAX_AGE),
    }
    required = ["database", "redis", "celery_broker", "static_files", "encryption_keys"]
    if request.GET.get("worker") == "1":
        required += ["celery_worker", "celery_beat"]
        if redis_status["ok"] and not checks["celery_beat"]["ok"]:
            _send_canary_in_beats_place()
    healthy = all(checks[name]["ok"] for name in required)
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
