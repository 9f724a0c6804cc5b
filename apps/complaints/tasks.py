"""Complaint tasks: thin, idempotent, call services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="complaints.check_sla")
def check_sla_task() -> int:
    """Escalate every SLA warning and breach not escalated yet (each exactly once)."""
    from apps.complaints.services import sla_check

    return sla_check()


@shared_task(name="complaints.apply_retention")
def apply_retention_task() -> int:
    """Nightly: erase complainants past retention (a batch; the next night takes the rest)."""
    from apps.complaints.services import retention_apply

    return len(retention_apply())


@shared_task(name="complaints.check_recurrence")
def check_recurrence_task(complaint_id: int) -> bool:
    from apps.complaints.services import recurrence_check

    return recurrence_check(complaint_id=complaint_id)
