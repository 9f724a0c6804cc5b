"""System tasks: e-mail outbox and the worker canary. Scheduled in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.utils import timezone

from apps.core import services
from apps.core.redis_client import redis_client

HEARTBEAT_KEY = "qms:worker:heartbeat"


@shared_task(
    name="core.send_email",
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    max_retries=7,
)
def send_email_task(email_id: int) -> None:
    services.email_send(email_id=email_id)


@shared_task(name="core.sweep_outbox")
def sweep_outbox_task() -> int:
    ids = services.outbox_sweep()
    for email_id in ids:
        send_email_task.delay(email_id)
    return len(ids)


@shared_task(name="core.purge_outbox")
def purge_outbox_task() -> int:
    return services.outbox_purge()


@shared_task(name="core.canary", ignore_result=False)
def canary_task() -> str:
    """Leave a timestamp that /healthz reads as proof that a worker consumes the queue."""
    now = timezone.now().isoformat()
    redis_client().set(HEARTBEAT_KEY, now, ex=24 * 60 * 60)
    return now
