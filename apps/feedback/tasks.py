"""Feedback tasks: thin, idempotent, call services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="feedback.apply_retention")
def apply_retention_task() -> int:
    """Nightly: erase feedback submitters past retention (a batch; the next night takes the rest)."""
    from apps.feedback.services import retention_apply

    return len(retention_apply())
