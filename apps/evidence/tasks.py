from celery import shared_task

from apps.evidence import services


@shared_task(name="evidence.verify_integrity", acks_late=True)
def verify_integrity_task(check_id: int) -> str | None:
    """Verify the audit chain for one requested check (nothing if it already ran)."""
    check = services.integrity_check_run(check_id=check_id)
    return check.status if check else None
