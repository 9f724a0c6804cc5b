"""System tasks: e-mail outbox and the worker canary (scheduled in settings.CELERY_BEAT_SCHEDULE),
and the worker's database-connection handling, which every task shares."""

from __future__ import annotations

import smtplib
import threading

from celery import shared_task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections, connections
from django.utils import timezone

from apps.core import metrics, services
from apps.core.redis_client import redis_client

HEARTBEAT_KEY = "qms:worker:heartbeat"
# Imported for its Celery signal handlers: every worker counts task runs, failures and retries.
_TASK_METRICS = metrics


class _CloseAtThreadExit:
    """Closes the database connections of the thread that owns it when that thread ends.

    A kept connection of a worker thread (the in-process test worker, a threads pool)
    would otherwise stay open until garbage collection, holding a PostgreSQL session.
    """

    def __init__(self) -> None:
        self.wrappers: list = []

    def __del__(self) -> None:
        for wrapper in self.wrappers:
            if wrapper.connection is not None:
                wrapper.connection.close()


_thread_state = threading.local()


@task_prerun.connect
@task_postrun.connect
def _recycle_old_database_connections(sender=None, **kwargs) -> None:
    """Keep a worker's database connection across tasks, but drop it when it is broken or
    older than CONN_MAX_AGE, as Django does around each web request.

    settings.CELERY_DB_REUSE_MAX stops Celery's Django fixup from closing the connection
    after every task (one new PostgreSQL session per task otherwise, measured with the
    survey dispatch batches); this handler gives back the health check that the fixup's
    close provided. Eager runs (tests inside a transaction) are left alone, as the fixup does.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()
    closer = getattr(_thread_state, "closer", None)
    if closer is None:
        closer = _thread_state.closer = _CloseAtThreadExit()
    for wrapper in connections.all(initialized_only=True):
        if wrapper not in closer.wrappers:
            closer.wrappers.append(wrapper)


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
