"""Every write of management reviews: schedules, reviews, compiling, reports, decisions.

Compiling and rendering happen in a worker: a service queues a ReviewJob row and enqueues
`reviews.run_job` after commit; `job_run` claims the row with a conditional UPDATE (committed
on its own) and then does all the work in one transaction, so a worker that dies half-way
leaves nothing behind but a claimed row, which the sweeper hands out again. A scheduled
period is a unique (schedule, period_start) review, and a report is one-to-one with its job,
so "one review and one report per period" holds however often beat fires or a task reruns.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.analytics.services import local_midnight
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.core.links import absolute_url
from apps.core.queue import enqueue_on_commit
from apps.core.sequences import next_reference
from apps.reviews.models import (
    CHANGE_PERMISSION,
    MAX_LEAD_DAYS,
    DecisionKind,
    ManagementReview,
    ReviewDecision,
    ReviewJob,
    ReviewReport,
    ReviewSchedule,
    ReviewSnapshot,
    ReviewStatus,
    is_manager,
    parse_addresses,
)

logger = logging.getLogger(__name__)

JOB_MAX_ATTEMPTS = 3
MAX_PERIOD_DAYS = 2 * 366
SCHEDULE_FIELDS = (
    "name",
    "active",
    "interval",
    "next_period_start",
    "meeting_week",
    "meeting_weekday",
    "lead_days",
    "chair",
    "attendees",
    "distribution",
)
REVIEW_FIELDS = ("title", "period_start", "period_end", "meeting_date", "chair", "attendees", "distribution")
SECTION_FIELDS = tuple(name for name, _item in ManagementReview.MANUAL_SECTIONS)


def _check_manager(actor: User, permission: str = CHANGE_PERMISSION) -> None:
    if not (is_manager(actor) and actor.has_perm(permission)):
        raise PermissionDenied(_("Only quality managers manage management reviews."))


def _check_chair(chair: User | None) -> None:
    if chair is None or not chair.is_active:
        raise BusinessRuleViolation(_("The chair must be an active user."))
    if not (chair.is_superuser or chair.has_role(Role.QUALITY_MANAGER, Role.STAFF)):
        raise BusinessRuleViolation(_("The chair must be a quality manager or a member of staff."))


def _check_addresses(text: str) -> str:
    addresses = parse_addresses(text or "")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise BusinessRuleViolation(
                _("%(address)s is not an e-mail address.") % {"address": address[:100]}
            ) from None
    if len(addresses) > 50:
        raise BusinessRuleViolation(_("The distribution list holds at most 50 addresses."))
    return "\n".join(addresses)


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.REVIEW_JOB_STALE_SECONDS)


def compile_at(day: date) -> datetime:
    """The moment on `day` when scheduled compilations run (REVIEW_COMPILE_HOUR, local time)."""
    return local_midnight(day) + timedelta(hours=settings.REVIEW_COMPILE_HOUR)


# --- schedules ---------------------------------------------------------------------------------


def _schedule_check(schedule: ReviewSchedule) -> None:
    if not (schedule.name or "").strip():
        raise BusinessRuleViolation(_("Give the schedule a name."))
    if schedule.next_period_start is None or schedule.next_period_start.day != 1:
        raise BusinessRuleViolation(_("A review period starts on the first day of a month."))
    if schedule.lead_days is None or not 0 <= schedule.lead_days <= MAX_LEAD_DAYS:
        raise BusinessRuleViolation(_("The lead time is 0 to %(max)s days.") % {"max": MAX_LEAD_DAYS})
    _check_chair(schedule.chair)
    schedule.distribution = _check_addresses(schedule.distribution)


@transaction.atomic
def schedule_save(*, actor: User, schedule_id: int | None = None, **data: Any) -> ReviewSchedule:
    """Create or edit the review calendar. The next compilation time follows from the next
    period and the meeting rule, and is recomputed whenever either changes. Audited."""
    _check_manager(actor, "reviews.change_reviewschedule")
    unknown = set(data) - set(SCHEDULE_FIELDS)
    if unknown:
        raise TypeError(f"schedule_save: unknown fields {sorted(unknown)}")
    if schedule_id is None:
        schedule = ReviewSchedule(**data)
        before: dict[str, Any] = {}
    else:
        schedule = ReviewSchedule.objects.select_for_update().get(pk=schedule_id)
        before = audit.snapshot(schedule, SCHEDULE_FIELDS)
        for name, value in data.items():
            setattr(schedule, name, value)
    _schedule_check(schedule)
    schedule.next_run_at = compile_at(schedule.compile_date(schedule.next_period_start))
    schedule.save()
    changes = audit.diff(before, audit.snapshot(schedule, (*SCHEDULE_FIELDS, "next_run_at")))
    if changes or schedule_id is None:
        action = AuditEntry.Action.CREATE if schedule_id is None else AuditEntry.Action.UPDATE
        audit.record(actor=actor, action=action, obj=schedule, changes=changes)
    return schedule


def schedule_tick(*, now: datetime | None = None, limit: int = 20) -> list[int]:
    """Beat, every five minutes: for each due schedule, create the review of its next period
    with a job that compiles the inputs, renders the report and sends it, then move the
    schedule on by one period. Returns the ids of the jobs queued.

    Each schedule is claimed under a row lock (SKIP LOCKED, so two beats never wait on each
    other) in its own transaction; the review is unique per (schedule, period), so a period
    that somehow already has its review is skipped, not doubled. A schedule that fell behind
    catches up one period per tick.
    """
    now = now or timezone.now()
    queued: list[int] = []
    claimed: list[int] = []
    for _attempt in range(limit):
        schedule_id, job_id = _claim_one_schedule(now, exclude=claimed)
        if schedule_id is None:
            break
        claimed.append(schedule_id)
        if job_id:
            queued.append(job_id)
    return queued


@transaction.atomic
def _claim_one_schedule(now: datetime, *, exclude: list[int]) -> tuple[int | None, int | None]:
    """(schedule id, job id) of the schedule claimed; (None, None) when none is due."""
    schedule = (
        ReviewSchedule.objects.due(now=now)
        .exclude(pk__in=exclude)
        .select_for_update(skip_locked=True)
        .order_by("next_run_at", "pk")
        .first()
    )
    if schedule is None:
        return None, None
    start = schedule.next_period_start
    job_id = None
    if not ManagementReview.objects.filter(schedule=schedule, period_start=start).exists():
        review = _review_insert(
            actor=None,
            schedule=schedule,
            title=_("%(name)s: %(start)s to %(end)s")
            % {"name": schedule.name, "start": start.isoformat(), "end": schedule.period_end(start).isoformat()},
            period_start=start,
            period_end=schedule.period_end(start),
            meeting_date=schedule.meeting_date(start),
            chair=schedule.chair,
            attendees=schedule.attendees,
            distribution=schedule.distribution,
        )
        job_id = _job_queue(review=review, actor=None, compile=True, distribute=True, reason="scheduled").pk
    before = audit.snapshot(schedule, ("next_period_start", "next_run_at"))
    schedule.next_period_start = schedule.period_end(start) + timedelta(days=1)
    schedule.next_run_at = compile_at(schedule.compile_date(schedule.next_period_start))
    schedule.last_run_at = now
    schedule.save(update_fields=["next_period_start", "next_run_at", "last_run_at", "updated_at"])
    audit.record(
        actor=None,
        action=AuditEntry.Action.UPDATE,
        obj=schedule,
        changes=audit.diff(before, audit.snapshot(schedule, ("next_period_start", "next_run_at"))),
        reason="period scheduled",
    )
    return schedule.pk, job_id


# --- reviews -----------------------------------------------------------------------------------


def _review_check(review: ManagementReview) -> None:
    if not (review.title or "").strip():
        raise BusinessRuleViolation(_("Give the review a title."))
    if None in (review.period_start, review.period_end, review.meeting_date):
        raise BusinessRuleViolation(_("A review needs a period and a meeting date."))
    if review.period_end < review.period_start:
        raise BusinessRuleViolation(_("The period must end on or after its first day."))
    if (review.period_end - review.period_start).days > MAX_PERIOD_DAYS:
        raise BusinessRuleViolation(_("A review covers at most two years."))
    if review.meeting_date < review.period_start:
        raise BusinessRuleViolation(_("The meeting cannot come before the period starts."))
    _check_chair(review.chair)
    review.distribution = _check_addresses(review.distribution)


def _check_not_a_duplicate(review: ManagementReview) -> None:
    """The very same period as another review is refused: its figures would be identical and
    its decisions split over two records, so it is almost always a second click or a typo.
    Periods that merely overlap are allowed (a half-year review after a quarterly one, an
    extraordinary review): the form warns about them instead (`overlapping_reviews`).
    Scheduled periods are not checked here: the tick must not stall on a manual review.

    Two requests for the same period at once queue on a transaction-scoped advisory lock of
    that period, so the second sees the first's review once it commits."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"review-period:{review.period_start.isoformat()}:{review.period_end.isoformat()}"],
        )
    twin = (
        ManagementReview.objects.filter(period_start=review.period_start, period_end=review.period_end)
        .exclude(pk=review.pk)
        .order_by("pk")
        .first()
    )
    if twin is not None:
        raise BusinessRuleViolation(
            _("%(ref)s already covers %(start)s to %(end)s: edit that review instead of planning a second one.")
            % {"ref": twin.reference, "start": review.period_start, "end": review.period_end}
        )


def overlapping_reviews(
    *, period_start: date, period_end: date, exclude_id: int | None = None
) -> list[ManagementReview]:
    """Other reviews whose periods share days with this one, oldest period first (for a warning)."""
    return list(
        ManagementReview.objects.overlapping(period_start, period_end)
        .exclude(pk=exclude_id)
        .order_by("period_start", "pk")[:10]
    )


def _review_insert(*, actor: User | None, **data: Any) -> ManagementReview:
    review = ManagementReview(created_by=actor, **data)
    _review_check(review)
    review.reference = next_reference("MR")
    review.save(force_insert=True)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=review,
        changes=audit.diff({}, audit.snapshot(review, ("reference", "status", "schedule", *REVIEW_FIELDS))),
    )
    return review


@transaction.atomic
def review_create(*, actor: User, **data: Any) -> ManagementReview:
    """A review outside the schedule (an extraordinary review). Starts planned."""
    _check_manager(actor, "reviews.add_managementreview")
    unknown = set(data) - set(REVIEW_FIELDS)
    if unknown:
        raise TypeError(f"review_create: unknown fields {sorted(unknown)}")
    if data.get("period_start") and data.get("period_end"):
        _check_not_a_duplicate(ManagementReview(period_start=data["period_start"], period_end=data["period_end"]))
    return _review_insert(actor=actor, **data)


def _lock(review_id: int) -> ManagementReview:
    return ManagementReview.objects.select_for_update().get(pk=review_id)


@transaction.atomic
def review_update(*, review_id: int, actor: User, **data: Any) -> ManagementReview:
    """Edit the facts of a review and the 9.3.2 sections people write. The period is fixed
    once inputs exist (they describe it); everything is fixed once the review is held."""
    _check_manager(actor)
    unknown = set(data) - set(REVIEW_FIELDS) - set(SECTION_FIELDS)
    if unknown:
        raise TypeError(f"review_update: unknown fields {sorted(unknown)}")
    review = _lock(review_id)
    if not review.manual_sections_editable:
        raise BusinessRuleViolation(_("A review that has been held can no longer be edited."))
    fields = (*REVIEW_FIELDS, *SECTION_FIELDS)
    before = audit.snapshot(review, fields)
    for name, value in data.items():
        setattr(review, name, value.strip() if isinstance(value, str) else value)
    period_changed = (review.period_start, review.period_end) != (before["period_start"], before["period_end"])
    if period_changed and (review.schedule_id or review.snapshots.exists()):
        raise BusinessRuleViolation(
            _("The period cannot change once it is scheduled or its inputs have been compiled.")
        )
    _review_check(review)
    if period_changed:
        _check_not_a_duplicate(review)
    changes = audit.diff(before, audit.snapshot(review, fields))
    if changes:
        review.save(update_fields=[*changes, "updated_at"])
        audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=review, changes=changes)
    return review


def _job_queue(
    *, review: ManagementReview, actor: User | None, compile: bool, distribute: bool, reason: str
) -> ReviewJob:
    from apps.reviews.tasks import run_job_task

    try:
        with transaction.atomic():
            job = ReviewJob.objects.create(
                review=review, compile=compile, distribute=distribute, requested_by=actor, reason=reason[:200]
            )
    except IntegrityError:
        raise BusinessRuleViolation(
            _("The review is already being prepared; wait until that job has finished.")
        ) from None
    enqueue_on_commit(run_job_task, job.pk)
    return job


@transaction.atomic
def review_request_compile(*, review_id: int, actor: User, distribute: bool = False) -> ReviewJob:
    """ "Compile now": freeze the inputs anew and render a report from them, in a worker.
    Only before the meeting: the inputs a review was held on never change."""
    _check_manager(actor)
    review = _lock(review_id)
    if review.status not in (ReviewStatus.PLANNED, ReviewStatus.COMPILED):
        raise BusinessRuleViolation(_("The inputs of a review that has been held are final."))
    return _job_queue(review=review, actor=actor, compile=True, distribute=distribute, reason="compile requested")


@transaction.atomic
def review_request_report(*, review_id: int, actor: User, distribute: bool = False) -> ReviewJob:
    """A new report version from the current inputs and texts (the old versions stay)."""
    _check_manager(actor)
    review = _lock(review_id)
    if not review.snapshots.exists():
        raise BusinessRuleViolation(_("Compile the inputs first."))
    if review.status == ReviewStatus.CLOSED:
        raise BusinessRuleViolation(_("A closed review keeps its final report."))
    return _job_queue(review=review, actor=actor, compile=False, distribute=distribute, reason="report requested")


@transaction.atomic
def review_hold(*, review_id: int, actor: User, held_on: date, attendees: str, minutes: str = "") -> ManagementReview:
    """Record that the meeting took place, on the compiled inputs. Freezes the inputs and texts."""
    _check_manager(actor)
    review = _lock(review_id)
    review.check_transition(ReviewStatus.HELD)
    if ReviewJob.objects.filter(review=review, status__in=ReviewJob.ACTIVE).exists():
        raise BusinessRuleViolation(_("Wait until the inputs being compiled are ready."))
    if held_on is None or held_on > timezone.localdate():
        raise BusinessRuleViolation(_("Give the date the meeting was held (not in the future)."))
    if held_on < review.period_start:
        raise BusinessRuleViolation(_("The meeting cannot be held before the period it reviews."))
    if not (attendees or "").strip():
        raise BusinessRuleViolation(_("List who attended the meeting."))
    before = audit.snapshot(review, ("status", "held_on", "attendees", "minutes"))
    review.status = ReviewStatus.HELD
    review.held_on = held_on
    review.attendees = attendees.strip()
    review.minutes = (minutes or "").strip()
    review.save(update_fields=["status", "held_on", "attendees", "minutes", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=review,
        changes=audit.diff(before, audit.snapshot(review, ("status", "held_on", "attendees", "minutes"))),
    )
    return review


@transaction.atomic
def decision_add(
    *,
    review_id: int,
    actor: User,
    kind: str,
    text: str,
    action_title: str = "",
    action_owner: User | None = None,
    action_due: date | None = None,
) -> ReviewDecision:
    """Record a 9.3.3 output. With an action title it becomes a tracked corrective action
    (owner, a plan item due on `action_due`) whose source is the decision."""
    from apps.actions import services as actions

    _check_manager(actor)
    review = _lock(review_id)
    if not review.decisions_editable:
        raise BusinessRuleViolation(
            _("Decisions are recorded once the inputs are compiled and until the review is closed.")
        )
    if kind not in DecisionKind.values:
        raise BusinessRuleViolation(_("Choose what kind of decision this is."))
    text = (text or "").strip()
    if not text:
        raise BusinessRuleViolation(_("Write the decision."))
    action_title = (action_title or "").strip()
    if action_title and (action_owner is None or action_due is None):
        raise BusinessRuleViolation(_("An action needs an owner and a due date."))
    if not action_title and (action_owner is not None or action_due is not None):
        raise BusinessRuleViolation(_("Give the action a title, or leave owner and due date empty."))
    if action_due is not None and action_due < timezone.localdate():
        raise BusinessRuleViolation(_("The action's due date cannot be in the past."))
    decision = ReviewDecision.objects.create(review=review, kind=kind, text=text, created_by=actor)
    if action_title:
        action = actions.action_raise(
            source=decision,
            title=action_title,
            nonconformity=_("Management review %(ref)s, %(kind)s: %(text)s")
            % {"ref": review.reference, "kind": DecisionKind(kind).label, "text": text},
            actor=actor,
            owner=action_owner,
        )
        actions.plan_item_add(
            action_id=action.pk, actor=actor, description=action_title, owner=action_owner, due_date=action_due
        )
        decision.action = action
        decision.save(update_fields=["action"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=decision,
        changes={
            "review": [None, review.pk],
            "kind": [None, kind],
            "text": [None, text],
            "action": [None, decision.action.reference if decision.action else None],
        },
    )
    return decision


@transaction.atomic
def review_close(*, review_id: int, actor: User, distribute: bool = True) -> ManagementReview:
    """Close a held review and queue its final report (sent to the distribution list)."""
    _check_manager(actor)
    review = _lock(review_id)
    review.check_transition(ReviewStatus.CLOSED)
    review.status = ReviewStatus.CLOSED
    review.closed_at = timezone.now()
    review.save(update_fields=["status", "closed_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=review,
        changes={"status": [ReviewStatus.HELD, ReviewStatus.CLOSED]},
    )
    _job_queue(review=review, actor=actor, compile=False, distribute=distribute, reason="final report")
    return review


# --- the job: compile, render, store, send -------------------------------------------------------


def job_run(*, job_id: int) -> ReviewReport | None:
    """Do one queued job (or one whose worker died). None when it is not this call's to do.

    The claim commits on its own; the snapshot, the PDF's row, the audit entries and the
    e-mails then commit together or not at all. The file is written under a name fixed by
    the review and version before that commit, so a rerun after a crash overwrites the same
    file instead of leaving a second one.
    """
    now = timezone.now()
    claimed = (
        ReviewJob.objects.filter(pk=job_id, attempts__lt=JOB_MAX_ATTEMPTS)
        .filter(
            Q(status=ReviewJob.Status.QUEUED)
            | Q(status=ReviewJob.Status.RUNNING, heartbeat_at__lt=now - _stale_after())
        )
        .update(status=ReviewJob.Status.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now)
    )
    if not claimed:
        return None
    try:
        return _job_work(job_id)
    except Exception as error:
        job = ReviewJob.objects.get(pk=job_id)
        failed = job.attempts >= JOB_MAX_ATTEMPTS or isinstance(error, BusinessRuleViolation)
        ReviewJob.objects.filter(pk=job_id).update(
            status=ReviewJob.Status.FAILED if failed else ReviewJob.Status.QUEUED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now() if failed else None,
        )
        logger.exception("management review job failed", extra={"job_id": job_id, "final": failed})
        raise


@transaction.atomic
def _job_work(job_id: int) -> ReviewReport:
    from apps.reviews import report as rendering

    job = ReviewJob.objects.select_related("requested_by").get(pk=job_id)
    review = ManagementReview.objects.select_for_update().select_related("chair").get(pk=job.review_id)
    actor = job.requested_by
    entries: list[dict[str, Any]] = []
    if job.compile:
        snapshot = _snapshot_create(review, actor=actor)
        entries.append(
            {"obj": snapshot, "changes": {"number": [None, snapshot.number], "sha256": [None, snapshot.sha256]}}
        )
        if review.status == ReviewStatus.PLANNED:
            review.status = ReviewStatus.COMPILED
            review.save(update_fields=["status", "updated_at"])
            entries.append({"obj": review, "changes": {"status": [ReviewStatus.PLANNED, ReviewStatus.COMPILED]}})
    else:
        snapshot = review.snapshots.order_by("-number").first()
        if snapshot is None:
            raise BusinessRuleViolation("no inputs compiled")
    version = (review.reports.aggregate(v=Max("version"))["v"] or 0) + 1
    content = rendering.narrative(review)
    pdf, pages = rendering.render_pdf(review=review, snapshot=snapshot, content=content, version=version)
    file_name = _store(review, version, pdf)
    report = ReviewReport.objects.create(
        review=review,
        version=version,
        snapshot=snapshot,
        job=job,
        content=content,
        file_name=file_name,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        pages=pages,
        generated_at=timezone.now(),
        generated_by=actor,
    )
    entries.append(
        {
            "obj": report,
            "changes": {
                "version": [None, version],
                "snapshot": [None, snapshot.number],
                "sha256": [None, report.sha256],
                "size": [None, report.size],
            },
        }
    )
    # The chain's lock is taken last, so no other writer waits while the PDF renders.
    for entry in entries:
        action = AuditEntry.Action.TRANSITION if entry["obj"] is review else AuditEntry.Action.CREATE
        audit.record(actor=actor, action=action, obj=entry["obj"], changes=entry["changes"], reason=job.reason)
    if job.distribute:
        report_distribute(report=report)
    ReviewJob.objects.filter(pk=job.pk).update(
        status=ReviewJob.Status.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now(), error=""
    )
    return report


def _snapshot_create(review: ManagementReview, *, actor: User | None) -> ReviewSnapshot:
    from apps.reviews.inputs import compile_inputs

    started = time.monotonic()
    data = compile_inputs(review)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    number = (review.snapshots.aggregate(n=Max("number"))["n"] or 0) + 1
    return ReviewSnapshot.objects.create(
        review=review,
        number=number,
        data=data,
        sha256=hashlib.sha256(canonical).hexdigest(),
        compiled_at=timezone.now(),
        compiled_by=actor,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def report_path(file_name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / file_name


def _store(review: ManagementReview, version: int, pdf: bytes) -> str:
    """Write the PDF under its fixed name, atomically (a reader never sees half a file)."""
    file_name = f"reviews/{review.reference}/{review.reference}-v{version}.pdf"
    final = report_path(file_name)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{final.name}.partial")
    with partial.open("wb") as handle:
        handle.write(pdf)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, final)
    return file_name


def report_distribute(*, report: ReviewReport) -> int:
    """E-mail the report to the review's distribution list, once per report and address:
    a link always, the PDF attached when it is at most REVIEW_REPORT_ATTACH_MAX_BYTES."""
    from apps.core.services import email_enqueue

    review = report.review
    attach = report.size <= settings.REVIEW_REPORT_ATTACH_MAX_BYTES
    link = absolute_url(report.get_absolute_url())
    sent = 0
    for address in review.recipients:
        key = hashlib.sha256(address.lower().encode()).hexdigest()[:24]
        email_enqueue(
            to=address,
            subject=_("Management review %(ref)s: report version %(version)s")
            % {"ref": review.reference, "version": report.version},
            template="emails/reviews/report.txt",
            html_template="emails/reviews/report.html",
            context={"review": review, "report": report, "link": link, "attached": attach},
            idempotency_key=f"review-report:{report.pk}:{key}",
            attachment=(report.file_name, report.download_name, "application/pdf") if attach else None,
        )
        sent += 1
    return sent


def sweep_jobs(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Hand lost or stalled jobs to a worker again (a lost message, a killed worker)."""
    from apps.reviews.tasks import run_job_task

    now = now or timezone.now()
    # A job whose every attempt died with its worker is given up, so a new one can be requested.
    ReviewJob.objects.filter(
        status=ReviewJob.Status.RUNNING, heartbeat_at__lt=now - _stale_after(), attempts__gte=JOB_MAX_ATTEMPTS
    ).update(status=ReviewJob.Status.FAILED, finished_at=now, error="gave up: every attempt was interrupted")
    lost = list(
        ReviewJob.objects.filter(
            Q(
                status=ReviewJob.Status.QUEUED,
                created_at__lt=now - timedelta(seconds=settings.REVIEW_JOB_QUEUED_GRACE_SECONDS),
            )
            | Q(status=ReviewJob.Status.RUNNING, heartbeat_at__lt=now - _stale_after()),
            attempts__lt=JOB_MAX_ATTEMPTS,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for job_id in lost:
        run_job_task.delay(job_id)
    return lost


@transaction.atomic
def report_downloaded(*, report: ReviewReport, actor: User) -> None:
    """Who took a report away, and when, is part of the record."""
    audit.record(actor=actor, action=AuditEntry.Action.EXPORT, obj=report, reason="downloaded")
