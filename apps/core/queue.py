"""Handing work to the Celery broker once the transaction that recorded it has committed."""

from __future__ import annotations

import logging

import kombu.exceptions
from django.db import transaction

from apps.core.redis_client import REDIS_UNAVAILABLE, redis_failed, redis_resting

logger = logging.getLogger(__name__)

BROKER_UNAVAILABLE = (kombu.exceptions.OperationalError, *REDIS_UNAVAILABLE)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """`task.delay(*args, **kwargs)` after commit. A broker outage at that moment is logged, not
    raised: the record is saved, so the request has succeeded and must say so (a 503 would invite
    a duplicate), and the job's row is picked up again by its sweeper or beat schedule.

    After a failed publish this process does not try that broker again for a few seconds
    (apps.core.redis_client.RETRY_AFTER_SECONDS): each try costs a request over half a second
    of kombu's retries, and during an outage the sweepers are the way the job gets done."""
    transaction.on_commit(lambda: _publish(task, args, kwargs), robust=True)


def _publish(task, args: tuple, kwargs: dict) -> None:
    conf = task.app.conf
    url = conf.broker_write_url or conf.broker_url
    if redis_resting(url):
        logger.info("broker unavailable: task left to its sweeper", extra={"task": task.name})
        return
    try:
        task.delay(*args, **kwargs)
    except BROKER_UNAVAILABLE:
        redis_failed(url)
        raise
