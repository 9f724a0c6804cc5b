"""Integrity verification runs: started by an auditor or quality manager, run by a worker."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.audit.services import verify_chain
from apps.evidence.models import IntegrityCheck

# A run that reported no progress for this long lost its worker; a new request replaces it.
STALE_AFTER = timedelta(minutes=10)
PROGRESS_EVERY = 5000


@transaction.atomic
def integrity_check_request(*, actor) -> IntegrityCheck:
    """Queue a verification, or return the one already queued or running.

    A run whose worker died (silent for STALE_AFTER) is marked interrupted first, so a lost
    message or a killed worker never blocks verification for good. The task is enqueued
    after commit; it takes the check's id only.
    """
    from apps.evidence.tasks import verify_integrity_task

    active = IntegrityCheck.objects.select_for_update().filter(status__in=IntegrityCheck.ACTIVE).first()
    if active is not None:
        if timezone.now() - active.heartbeat_at < STALE_AFTER:
            return active
        active.status = IntegrityCheck.Status.INTERRUPTED
        active.finished_at = timezone.now()
        active.problem = "The worker stopped reporting progress; the run was abandoned."
        active.save(update_fields=["status", "finished_at", "problem"])
    try:
        with transaction.atomic():
            check = IntegrityCheck.objects.create(requested_by=actor)
    except IntegrityError:
        # Another request queued one between our read and our insert.
        return IntegrityCheck.objects.get(status__in=IntegrityCheck.ACTIVE)
    transaction.on_commit(lambda: verify_integrity_task.delay(check.pk))
    return check


def integrity_check_run(*, check_id: int) -> IntegrityCheck | None:
    """Run a queued verification, reporting progress on the row as it goes.

    Claimed with a conditional UPDATE, so a duplicate delivery of the task does nothing.
    Progress updates commit on their own (outside any transaction) so the page sees them.
    """
    claimed = IntegrityCheck.objects.filter(pk=check_id, status=IntegrityCheck.Status.QUEUED).update(
        status=IntegrityCheck.Status.RUNNING,
        total=AuditEntry.objects.count(),
        heartbeat_at=timezone.now(),
    )
    if not claimed:
        return None

    def progress(verified: int) -> None:
        IntegrityCheck.objects.filter(pk=check_id).update(verified=verified, heartbeat_at=timezone.now())

    result = verify_chain(chunk_size=PROGRESS_EVERY, progress=progress)
    IntegrityCheck.objects.filter(pk=check_id).update(
        status=IntegrityCheck.Status.INTACT if result.ok else IntegrityCheck.Status.BROKEN,
        verified=result.verified,
        checkpoints=result.checkpoints,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
        heartbeat_at=timezone.now(),
        finished_at=timezone.now(),
    )
    return IntegrityCheck.objects.get(pk=check_id)
