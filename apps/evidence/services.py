"""What auditors start and workers run: integrity verifications and evidence packs."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.audit import checkpoints
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.audit.services import verify_chain
from apps.core import clauses as clause_registry
from apps.core.exceptions import BusinessRuleViolation
from apps.core.personal_data import can_see_personal_data
from apps.core.queue import enqueue_on_commit
from apps.evidence.models import EvidencePack, IntegrityCheck
from apps.evidence.packs import PackBuilder

logger = logging.getLogger(__name__)

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
    enqueue_on_commit(verify_integrity_task, check.pk)
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

    # The head as it is now is signed first, so what this check saw intact can no longer be
    # rewritten unnoticed later, even before the next minute's checkpoint.
    checkpoints.sign_head()
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


# --- evidence packs -------------------------------------------------------------------------

# A queued pack not picked up this long after its request lost its message; a build silent
# this long lost its worker. The sweeper hands both to a worker again.
PACK_QUEUED_GRACE = timedelta(minutes=2)
PACK_STALE_AFTER = timedelta(minutes=30)
PACK_MAX_ATTEMPTS = 3
MAX_PACK_MONTHS = 36


def pack_request_key(
    *,
    clauses: list[str],
    period_start: date,
    period_end: date,
    customer_ids: list[int],
    product_ids: list[int],
    include_personal_data: bool,
) -> str:
    """The fingerprint of a request: equal for requests that ask for the same pack."""
    canonical = json.dumps(
        {
            "clauses": clauses,
            "period": [period_start.isoformat(), period_end.isoformat()],
            "customers": sorted(set(customer_ids)),
            "products": sorted(set(product_ids)),
            "personal_data": include_personal_data,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _take_turn(actor) -> None:
    """One user's pack requests take turns (a transaction-scoped advisory lock), so two sent at
    once cannot both pass the limits; other users' requests do not wait."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"evidence-pack:{actor.pk}"])


def _expire(pack: EvidencePack) -> None:
    pack_path(pack).unlink(missing_ok=True)
    EvidencePack.objects.filter(pk=pack.pk).update(status=EvidencePack.Status.EXPIRED, file_name="")


def _retire_dead_packs(actor, now) -> None:
    """Packs of `actor` that look live but never will be again leave the live set: a build whose
    worker died on its last attempt (the sweeper gives it no further attempt), and a ready pack
    past its retention that the sweeper has not deleted yet. Otherwise they would be handed back
    to identical requests, and the dead builds would count against the user's limit for good."""
    EvidencePack.objects.filter(
        requested_by=actor,
        status=EvidencePack.Status.BUILDING,
        heartbeat_at__lt=now - PACK_STALE_AFTER,
        attempts__gte=PACK_MAX_ATTEMPTS,
    ).update(
        status=EvidencePack.Status.FAILED,
        error="The worker stopped reporting progress on the last attempt.",
        finished_at=now,
    )
    cutoff = now - timedelta(days=settings.EVIDENCE_PACK_RETENTION_DAYS)
    for pack in EvidencePack.objects.filter(
        requested_by=actor, status=EvidencePack.Status.READY, finished_at__lt=cutoff
    ):
        _expire(pack)


def _check_limits(actor) -> None:
    """A user may have EVIDENCE_PACK_MAX_ACTIVE_PER_USER packs waiting for a worker and request
    EVIDENCE_PACK_MAX_PER_HOUR an hour: each build reads a whole period of records, and one
    account must not keep the workers from everyone else's packs."""
    mine = EvidencePack.objects.filter(requested_by=actor)
    limit = settings.EVIDENCE_PACK_MAX_ACTIVE_PER_USER
    if mine.filter(status__in=EvidencePack.PENDING).count() >= limit:
        raise BusinessRuleViolation(
            ngettext(
                "You may have at most %(limit)s evidence pack being built at a time. "
                "Request this one when yours is ready.",
                "You may have at most %(limit)s evidence packs being built at a time. "
                "Request this one when one of yours is ready.",
                limit,
            )
            % {"limit": limit}
        )
    limit = settings.EVIDENCE_PACK_MAX_PER_HOUR
    if mine.filter(created_at__gte=timezone.now() - timedelta(hours=1)).count() >= limit:
        raise BusinessRuleViolation(
            ngettext(
                "You may request at most %(limit)s evidence pack an hour. Please try again later.",
                "You may request at most %(limit)s evidence packs an hour. Please try again later.",
                limit,
            )
            % {"limit": limit}
        )


@transaction.atomic
def pack_request(
    *,
    actor,
    clauses: list[str],
    period_start: date,
    period_end: date,
    customer_ids: list[int] | None = None,
    product_ids: list[int] | None = None,
    include_personal_data: bool = False,
    enqueue: bool = True,
) -> EvidencePack:
    """Queue an evidence pack (audited as an export); a worker builds it after commit, or
    the caller does (`enqueue=False`, the export_evidence command).

    A clause-limited auditor may ask only for their clauses; personal data only with the
    personal-data permission (apps.core.personal_data.VIEW_PERMISSION). The same request while the user's equal pack is
    queued, building or ready returns that pack (`reused` set, nothing audited or enqueued);
    otherwise the per-user limits apply (BusinessRuleViolation). One user's requests take
    turns on an advisory lock; the partial unique constraint on (requester, request_key)
    keeps it to one pack even without it.
    """
    from apps.evidence.tasks import build_pack_task

    chosen = [clause for clause in clause_registry.CLAUSES if clause in set(clauses)]
    if not chosen or len(chosen) != len(set(clauses)):
        raise BusinessRuleViolation(_("Choose one or more of the portal's clauses."))
    if actor.clause_scope and not set(chosen) <= set(actor.clause_scope):
        raise BusinessRuleViolation(
            _("Your account may export only clauses %(clauses)s.") % {"clauses": ", ".join(actor.clause_scope)}
        )
    if period_end < period_start:
        raise BusinessRuleViolation(_("The period must end on or after its first day."))
    if (period_end.year - period_start.year) * 12 + period_end.month - period_start.month >= MAX_PACK_MONTHS:
        raise BusinessRuleViolation(_("Choose at most %(months)s months.") % {"months": MAX_PACK_MONTHS})
    if include_personal_data and not can_see_personal_data(actor):
        raise BusinessRuleViolation(_("You may not include personal data in evidence packs."))
    customer_ids = sorted(set(customer_ids or []))
    product_ids = sorted(set(product_ids or []))
    key = pack_request_key(
        clauses=chosen,
        period_start=period_start,
        period_end=period_end,
        customer_ids=customer_ids,
        product_ids=product_ids,
        include_personal_data=include_personal_data,
    )
    _take_turn(actor)
    _retire_dead_packs(actor, timezone.now())
    live = EvidencePack.objects.filter(requested_by=actor, request_key=key, status__in=EvidencePack.LIVE)
    earlier = live.first()
    if earlier is None:
        _check_limits(actor)
        try:
            with transaction.atomic():
                pack = EvidencePack.objects.create(
                    requested_by=actor,
                    clauses=chosen,
                    period_start=period_start,
                    period_end=period_end,
                    customer_ids=customer_ids,
                    product_ids=product_ids,
                    include_personal_data=include_personal_data,
                    request_key=key,
                )
        except IntegrityError:
            # The same request committed its pack between our look and our insert.
            earlier = live.get()
    if earlier is not None:
        earlier.reused = True
        return earlier
    audit.record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        obj=pack,
        changes={
            "clauses": [None, pack.clauses],
            "period": [None, [period_start.isoformat(), period_end.isoformat()]],
            "customers": [None, pack.customer_ids],
            "products": [None, pack.product_ids],
            "personal_data": [None, include_personal_data],
        },
    )
    if enqueue:
        enqueue_on_commit(build_pack_task, pack.pk)
    return pack


def _pack_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pack_path(pack: EvidencePack) -> Path:
    return Path(settings.MEDIA_ROOT) / pack.file_name


def pack_build(*, pack_id: int) -> EvidencePack | None:
    """Build a queued pack (or one whose worker died). Returns None when another run has it.

    The ZIP is written to a temporary name and renamed into place only when complete, so a
    crash never leaves a half pack that looks ready.
    """
    now = timezone.now()
    claimed = (
        EvidencePack.objects.filter(pk=pack_id, attempts__lt=PACK_MAX_ATTEMPTS)
        .filter(
            Q(status=EvidencePack.Status.QUEUED)
            | Q(status=EvidencePack.Status.BUILDING, heartbeat_at__lt=now - PACK_STALE_AFTER)
        )
        .update(status=EvidencePack.Status.BUILDING, attempts=F("attempts") + 1, heartbeat_at=now)
    )
    if not claimed:
        return None
    pack = EvidencePack.objects.select_related("requested_by").get(pk=pack_id)
    # The pack carries the checkpoints covering its period: sign the head first, so the
    # entries written up to now are vouched for by a signature inside the pack.
    checkpoints.sign_head()
    folder = _pack_dir()
    final = folder / f"pack-{pack.pk}-{secrets.token_hex(8)}.zip"
    partial = folder / f".{final.name}.partial"
    try:
        result = PackBuilder(pack).build(partial)
        digest = hashlib.sha256()
        with partial.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        os.replace(partial, final)
    except Exception as error:
        partial.unlink(missing_ok=True)
        logger.exception("evidence pack build failed", extra={"pack_id": pack_id})
        failed = pack.attempts >= PACK_MAX_ATTEMPTS
        EvidencePack.objects.filter(pk=pack_id).update(
            status=EvidencePack.Status.FAILED if failed else EvidencePack.Status.QUEUED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now() if failed else None,
        )
        raise
    EvidencePack.objects.filter(pk=pack_id).update(
        status=EvidencePack.Status.READY,
        file_name=str(final.relative_to(settings.MEDIA_ROOT)),
        sha256=digest.hexdigest(),
        size=final.stat().st_size,
        record_count=result.records,
        error="",
        finished_at=timezone.now(),
    )
    return EvidencePack.objects.get(pk=pack_id)


@transaction.atomic
def pack_downloaded(*, pack: EvidencePack, actor) -> None:
    """Who took the pack away, and when, is part of the record."""
    audit.record(actor=actor, action=AuditEntry.Action.EXPORT, obj=pack, reason="downloaded")


def sweep_packs(*, now=None, limit: int = 100) -> dict[str, int]:
    """Hand lost or stalled builds to a worker again; delete packs past their retention."""
    from apps.evidence.tasks import build_pack_task

    now = now or timezone.now()
    lost = EvidencePack.objects.filter(
        Q(status=EvidencePack.Status.QUEUED, created_at__lt=now - PACK_QUEUED_GRACE)
        | Q(status=EvidencePack.Status.BUILDING, heartbeat_at__lt=now - PACK_STALE_AFTER),
        attempts__lt=PACK_MAX_ATTEMPTS,
    ).values_list("pk", flat=True)[:limit]
    requeued = list(lost)
    for pack_id in requeued:
        build_pack_task.delay(pack_id)
    expired = 0
    cutoff = now - timedelta(days=settings.EVIDENCE_PACK_RETENTION_DAYS)
    for pack in EvidencePack.objects.filter(status=EvidencePack.Status.READY, finished_at__lt=cutoff)[:limit]:
        _expire(pack)
        expired += 1
    return {"requeued": len(requeued), "expired": expired}
