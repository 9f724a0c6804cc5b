"""Objective tasks. "objectives.measure_all" is scheduled nightly in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="objectives.measure_all")
def measure_all_task() -> int:
    """Nightly: queue one "objectives.measure" per active computed objective still measured,
    and tell owners once when an objective's target period is over."""
    from apps.objectives.services import measure_all, notify_past_target

    queued = measure_all()
    notify_past_target()
    return queued


@shared_task(name="objectives.measure", acks_late=True)
def measure_task(objective_id: int, backfill: bool = False) -> int:
    """Compute the current and previous period of one objective, or its whole history with `backfill`
    (idempotent: a period is replaced)."""
    from apps.objectives.models import QualityObjective
    from apps.objectives.services import objective_measure

    if not QualityObjective.objects.filter(pk=objective_id).exists():
        return 0
    return len(objective_measure(objective_id=objective_id, backfill=backfill))
