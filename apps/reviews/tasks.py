"""Management-review tasks: thin, idempotent, ids only. The schedule is in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    name="reviews.run_job",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def run_job_task(job_id: int) -> int | None:
    """Compile and/or render one review job; the report's id, or None when it was not this run's
    to do (done already, or another worker has it). A failure re-queues the row for the sweeper."""
    from apps.core.exceptions import BusinessRuleViolation
    from apps.reviews import services

    try:
        report = services.job_run(job_id=job_id)
    except BusinessRuleViolation:
        return None
    return report.pk if report else None


@shared_task(name="reviews.tick")
def tick_task() -> list[int]:
    """Every five minutes: create and compile the reviews whose scheduled time has come."""
    from apps.reviews import services

    return services.schedule_tick()


@shared_task(name="reviews.sweep_jobs")
def sweep_jobs_task() -> list[int]:
    """Every five minutes: hand lost or stalled review jobs to a worker again."""
    from apps.reviews import services

    return services.sweep_jobs()
