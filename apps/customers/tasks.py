import logging

from celery import shared_task

from apps.customers import services

logger = logging.getLogger(__name__)


@shared_task(name="customers.apply_retention")
def apply_retention_task() -> int:
    """Nightly: pseudonymise contacts past retention (a batch; the next night takes the rest)."""
    erased = services.retention_apply()
    logger.info("contact retention applied", extra={"erased": len(erased), "contact_ids": erased})
    return len(erased)
