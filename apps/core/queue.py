"""Handing work to the Celery broker once the transaction that recorded it has committed."""

from __future__ import annotations

from django.db import transaction


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """`task.delay(*args, **kwargs)` after commit. A broker outage at that moment is logged, not
    raised: the record is saved, so the request has succeeded and must say so (a 503 would invite
    a duplicate), and the job's row is picked up again by its sweeper or beat schedule."""
    transaction.on_commit(lambda: task.delay(*args, **kwargs), robust=True)
