"""Corrective-action tasks. Scheduled in settings.CELERY_BEAT_SCHEDULE ("actions.remind_overdue_items")."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="actions.remind_overdue_items")
def remind_overdue_items_task() -> int:
    """Once a day: one e-mail per overdue open plan item to its owner (idempotent per item and day)."""
    from apps.actions.services import remind_overdue_items

    return remind_overdue_items()
