import logging

from celery import shared_task

from apps.audit import checkpoints

logger = logging.getLogger(__name__)


@shared_task(name="audit.sign_checkpoint")
def sign_checkpoint_task() -> int | None:
    """Every minute: sign the audit chain's head into the checkpoint log (nothing when unchanged)."""
    checkpoint = checkpoints.sign_head()
    if checkpoint is not None:
        logger.info("audit checkpoint signed", extra={"seq": checkpoint.seq, "key_id": checkpoint.key_id})
    return checkpoint.seq if checkpoint else None
