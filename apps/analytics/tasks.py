"""Roll-up tasks. Scheduled in settings.CELERY_BEAT_SCHEDULE ("analytics.refresh_rollups")."""

from __future__ import annotations

from celery import shared_task

# A backlog larger than this many batches waits for the next beat tick rather than keeping
# one worker busy past the entry's 50-second expiry.
MAX_BATCHES = 10


@shared_task(name="analytics.refresh_rollups")
def refresh_rollups_task() -> int:
    """Every minute: fold the marked days into the roll-ups, batch after batch while a full
    batch came back (at most MAX_BATCHES). Returns the markers consumed. Idempotent: with no
    markers it only stamps the refresh time."""
    from django.conf import settings

    from apps.analytics.services import refresh

    batch = settings.ANALYTICS_REFRESH_BATCH
    total = 0
    for _ in range(MAX_BATCHES):
        markers = refresh(batch=batch).markers
        total += markers
        if markers < batch:
            break
    return total


@shared_task(name="analytics.record_monthly_exposure")
def record_monthly_exposure_task() -> str:
    """Every night: freeze the active-customer count of the month that just ended (the
    complaint u-chart's exposure); idempotent, an already recorded month stays as it is."""
    from apps.analytics.services import monthly_exposure_close_previous_month

    return monthly_exposure_close_previous_month().isoformat()
