"""Management reviews (ISO 9001 9.3): the schedule, the review, its frozen inputs, its report.

Change rows only through services.py. A review covers a period; its 9.3.2 inputs are
compiled from the portal's data into an immutable `ReviewSnapshot`, so the figures in
a report never change afterwards; each generated PDF is an immutable `ReviewReport`
(file + SHA-256). The work of compiling and rendering is a `ReviewJob` row first, done
by a worker after commit, claimed once, and re-queued by the sweeper when lost.
Snapshots and reports are append-only in the database too (migration 0002's triggers).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import Role
from apps.audit.models import AuditedQuerySet
from apps.core.dates import add_months
from apps.core.exceptions import InvalidTransition
from apps.core.models import TimeStampedModel

VIEW_PERMISSION = "reviews.view_managementreview"
MAX_LEAD_DAYS = 60
CHANGE_PERMISSION = "reviews.change_managementreview"


def is_manager(user) -> bool:
    return bool(
        user is not None and user.is_authenticated and (user.is_superuser or user.has_role(Role.QUALITY_MANAGER))
    )


class Interval(models.IntegerChoices):
    MONTHLY = 1, _("Monthly")
    QUARTERLY = 3, _("Quarterly")
    HALF_YEARLY = 6, _("Half-yearly")
    YEARLY = 12, _("Yearly")


class WeekOfMonth(models.IntegerChoices):
    FIRST = 1, _("first")
    SECOND = 2, _("second")
    THIRD = 3, _("third")
    FOURTH = 4, _("fourth")
    LAST = 5, _("last")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")


def nth_weekday(year: int, month: int, week: int, weekday: int) -> date:
    """The `week`-th (5 = last) `weekday` of a month."""
    days = [day for day in calendar.Calendar().itermonthdates(year, month) if day.month == month]
    matching = [day for day in days if day.weekday() == weekday]
    return matching[-1] if week == WeekOfMonth.LAST else matching[week - 1]


class ReviewScheduleQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> ReviewScheduleQuerySet:
        if user is None or not user.is_authenticated or not user.has_perm("reviews.view_reviewschedule"):
            return self.none()
        return self

    def due(self, *, now) -> ReviewScheduleQuerySet:
        return self.filter(active=True, next_run_at__lte=now)


class ReviewSchedule(TimeStampedModel):
    """The management-review calendar a quality manager sets: reviews every `interval`
    months, each covering the whole months of its period, the meeting on the
    `meeting_week`-th `meeting_weekday` of the month after the period, and the inputs
    compiled `lead_days` before the meeting (never before the period is over).

    `next_period_start` is the first day of the next period to review and `next_run_at`
    when the beat tick compiles it; the tick claims a due row under lock and moves both on,
    so a period is created once however often beat fires.
    """

    name = models.CharField(_("name"), max_length=120)
    active = models.BooleanField(_("active"), default=True)
    interval = models.PositiveSmallIntegerField(_("every"), choices=Interval.choices, default=Interval.QUARTERLY)
    meeting_week = models.PositiveSmallIntegerField(
        _("meeting week of the month"), choices=WeekOfMonth.choices, default=WeekOfMonth.FIRST
    )
    meeting_weekday = models.PositiveSmallIntegerField(
        _("meeting weekday"), choices=Weekday.choices, default=Weekday.MONDAY
    )
    lead_days = models.PositiveSmallIntegerField(
        _("lead time (days)"),
        default=7,
        validators=[MaxValueValidator(MAX_LEAD_DAYS)],
        help_text=_("How many days before the meeting the inputs are compiled and the report sent."),
    )
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("chair"), on_delete=models.PROTECT, related_name="+"
    )
    attendees = models.TextField(_("usual attendees"), blank=True)
    distribution = models.TextField(
        _("distribution list"),
        blank=True,
        help_text=_("E-mail addresses of top management who receive the report, one per line."),
    )
    next_period_start = models.DateField(_("next period starts"))
    next_run_at = models.DateTimeField(_("next compilation"), db_index=True)
    last_run_at = models.DateTimeField(_("last compilation"), null=True, blank=True)

    # E-mail addresses, possibly of people outside the organisation: masked in the audit trail,
    # on pages, in the API and in evidence packs without the personal-data permission.
    AUDIT_PERSONAL_FIELDS = ("distribution",)

    objects = ReviewScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("review schedule")
        verbose_name_plural = _("review schedules")
        constraints = [
            models.CheckConstraint(condition=models.Q(interval__in=Interval.values), name="review_schedule_interval"),
            models.CheckConstraint(
                condition=models.Q(meeting_week__gte=1, meeting_week__lte=5), name="review_schedule_week"
            ),
            models.CheckConstraint(
                condition=models.Q(meeting_weekday__gte=0, meeting_weekday__lte=4), name="review_schedule_weekday"
            ),
            models.CheckConstraint(condition=models.Q(lead_days__lte=MAX_LEAD_DAYS), name="review_schedule_lead_days"),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_label(self) -> str:
        return f"Review schedule #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:schedule_update", args=[self.pk])

    def period_end(self, start: date) -> date:
        """The last day of the period that starts on `start`."""
        return add_months(start, self.interval) - timedelta(days=1)

    def meeting_date(self, start: date) -> date:
        after = add_months(start, self.interval)
        return nth_weekday(after.year, after.month, self.meeting_week, self.meeting_weekday)

    def compile_date(self, start: date) -> date:
        """Lead time before the meeting, but never before the period has ended."""
        return max(self.meeting_date(start) - timedelta(days=self.lead_days), self.period_end(start) + timedelta(1))

    @property
    def recipients(self) -> list[str]:
        return parse_addresses(self.distribution)


def parse_addresses(text: str) -> list[str]:
    """E-mail addresses from a list typed one per line (commas and semicolons also separate)."""
    for separator in ",;":
        text = text.replace(separator, "\n")
    seen: list[str] = []
    for line in text.splitlines():
        address = line.strip()
        if address and address.lower() not in {known.lower() for known in seen}:
            seen.append(address)
    return seen


class ReviewStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    COMPILED = "compiled", _("Inputs compiled")
    HELD = "held", _("Held")
    CLOSED = "closed", _("Closed")


class ManagementReviewQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> ManagementReviewQuerySet:
        """Everyone who may view reviews sees all of them (they are the organisation's record)."""
        if user is None or not user.is_authenticated or not user.has_perm(VIEW_PERMISSION):
            return self.none()
        return self

    def with_relations(self) -> ManagementReviewQuerySet:
        return self.select_related("chair", "schedule")

    def overlapping(self, start: date, end: date) -> ManagementReviewQuerySet:
        """Reviews whose period shares at least one day with [start, end] (both inclusive)."""
        return self.filter(period_start__lte=end, period_end__gte=start)


class ManagementReview(TimeStampedModel):
    """One management review. `reference` is MR-YYYY-NNNNN; the period is [period_start,
    period_end], both inclusive. Status moves along TRANSITIONS through services only.

    The text fields hold the 9.3.2 inputs the portal cannot know, filled by the quality
    manager before the meeting; they are frozen once the review is held. A scheduled review
    is unique per (schedule, period_start), which makes "one review per period" a database fact.
    """

    Status = ReviewStatus
    # E-mail addresses, possibly of people outside the organisation: masked in the audit trail,
    # on pages, in the API and in evidence packs without the personal-data permission.
    AUDIT_PERSONAL_FIELDS = ("distribution",)

    TRANSITIONS: dict[str, set[str]] = {
        Status.PLANNED: {Status.COMPILED},
        Status.COMPILED: {Status.HELD},
        Status.HELD: {Status.CLOSED},
        Status.CLOSED: set(),
    }
    # The 9.3.2 items people write: (field, clause item).
    MANUAL_SECTIONS = (
        ("external_internal_issues", "9.3.2 b"),
        ("audit_results", "9.3.2 c 6"),
        ("external_providers", "9.3.2 c 7"),
        ("resources", "9.3.2 d"),
        ("risks_opportunities", "9.3.2 e"),
        ("improvement_opportunities", "9.3.2 f"),
    )

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    schedule = models.ForeignKey(
        ReviewSchedule,
        verbose_name=_("schedule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviews",
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to (inclusive)"))
    meeting_date = models.DateField(_("planned meeting date"))
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("chair"), on_delete=models.PROTECT, related_name="+"
    )
    attendees = models.TextField(_("attendees"), blank=True)
    distribution = models.TextField(
        _("distribution list"), blank=True, help_text=_("E-mail addresses that receive the report, one per line.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED, db_index=True)

    external_internal_issues = models.TextField(_("changes in external and internal issues"), blank=True)
    audit_results = models.TextField(_("audit results"), blank=True)
    external_providers = models.TextField(_("performance of external providers"), blank=True)
    resources = models.TextField(_("adequacy of resources"), blank=True)
    risks_opportunities = models.TextField(_("effectiveness of actions taken on risks and opportunities"), blank=True)
    improvement_opportunities = models.TextField(_("opportunities for improvement"), blank=True)

    held_on = models.DateField(_("held on"), null=True, blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, null=True, related_name="+"
    )

    objects = ManagementReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "-id"]
        verbose_name = _("management review")
        verbose_name_plural = _("management reviews")
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ReviewStatus.values), name="review_status_valid"),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="review_period_order"
            ),
            models.UniqueConstraint(
                fields=["schedule", "period_start"],
                condition=models.Q(schedule__isnull=False),
                name="review_once_per_scheduled_period",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["held", "closed"]) | models.Q(held_on__isnull=False),
                name="review_held_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def audit_label(self) -> str:
        return f"Management review {self.reference}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:review_detail", args=[self.pk])

    def check_transition(self, to: str) -> None:
        if to not in self.TRANSITIONS[self.status]:
            raise InvalidTransition(
                _("%(ref)s cannot go from %(from)s to %(to)s.")
                % {"ref": self.reference, "from": self.get_status_display(), "to": ReviewStatus(to).label}
            )

    def can_be_changed_by(self, user) -> bool:
        return bool(
            user is not None
            and user.is_authenticated
            and user.is_active
            and user.has_perm(CHANGE_PERMISSION)
            and is_manager(user)
        )

    @property
    def manual_sections_editable(self) -> bool:
        return self.status in (ReviewStatus.PLANNED, ReviewStatus.COMPILED)

    @property
    def decisions_editable(self) -> bool:
        return self.status in (ReviewStatus.COMPILED, ReviewStatus.HELD)

    @property
    def recipients(self) -> list[str]:
        return parse_addresses(self.distribution)

    def manual_sections(self) -> list[dict[str, str]]:
        return [
            {
                "field": name,
                "item": item,
                "label": str(self._meta.get_field(name).verbose_name),
                "text": getattr(self, name),
            }
            for name, item in self.MANUAL_SECTIONS
        ]


class ReviewSnapshot(models.Model):
    """The 9.3.2 inputs as compiled at one moment: numbers frozen as JSON (`data`), with the
    SHA-256 of its canonical form. Numbered per review; never changed (database trigger)."""

    review = models.ForeignKey(ManagementReview, on_delete=models.PROTECT, related_name="snapshots")
    number = models.PositiveIntegerField(_("snapshot"))
    data = models.JSONField()
    sha256 = models.CharField(max_length=64)
    compiled_at = models.DateTimeField(_("compiled"))
    compiled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["review_id", "-number"]
        verbose_name = _("review input snapshot")
        verbose_name_plural = _("review input snapshots")
        constraints = [models.UniqueConstraint(fields=["review", "number"], name="review_snapshot_number_unique")]

    def __str__(self) -> str:
        return f"{self.review_id}/{self.number}"

    def audit_label(self) -> str:
        return f"Inputs #{self.number} of review #{self.review_id}"


class DecisionKind(models.TextChoices):
    IMPROVEMENT = "improvement", _("Opportunity for improvement")
    QMS_CHANGE = "qms_change", _("Change to the quality management system")
    RESOURCES = "resources", _("Resource needs")


class ReviewDecision(models.Model):
    """A 9.3.3 output of a review. With an action, the action is a tracked corrective action
    (apps.actions) whose source is this decision, so the next review lists it among the
    "actions from previous reviews"."""

    review = models.ForeignKey(ManagementReview, on_delete=models.PROTECT, related_name="decisions")
    kind = models.CharField(_("kind"), max_length=20, choices=DecisionKind.choices)
    text = models.TextField(_("decision"))
    action = models.OneToOneField(
        "actions.CorrectiveAction",
        verbose_name=_("action"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review_decision",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["review_id", "id"]
        verbose_name = _("review decision")
        verbose_name_plural = _("review decisions")
        constraints = [models.CheckConstraint(condition=models.Q(kind__in=DecisionKind.values), name="decision_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:review_detail", args=[self.review_id])

    def audit_label(self) -> str:
        return f"Decision #{self.pk} of review #{self.review_id}"


class ReviewJob(models.Model):
    """Compile the inputs (when `compile`) and render the next report of a review.

    At most one job per review is queued or running (partial unique index), so a double
    click, a duplicate beat or a retried task cannot make two reports of one request; a
    worker claims the job with a conditional UPDATE and does all of it in one transaction.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    review = models.ForeignKey(ManagementReview, on_delete=models.PROTECT, related_name="jobs")
    compile = models.BooleanField(default=True)
    distribute = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("review job")
        verbose_name_plural = _("review jobs")
        constraints = [
            models.UniqueConstraint(
                fields=["review"], condition=models.Q(status__in=["queued", "running"]), name="review_one_active_job"
            ),
        ]

    def __str__(self) -> str:
        return f"Review job #{self.pk} ({self.status})"


class ReviewReport(models.Model):
    """One generated report: the PDF file, its SHA-256 and size, who made it and from which
    snapshot. `content` keeps what the report showed besides the snapshot (manual sections,
    decisions, attendees), so the HTML page of a version shows exactly what its PDF does.
    A new version never replaces an old one; rows are append-only (database trigger)."""

    review = models.ForeignKey(ManagementReview, on_delete=models.PROTECT, related_name="reports")
    version = models.PositiveIntegerField(_("version"))
    snapshot = models.ForeignKey(ReviewSnapshot, on_delete=models.PROTECT, related_name="reports")
    job = models.OneToOneField(ReviewJob, on_delete=models.PROTECT, related_name="report")
    content = models.JSONField()
    file_name = models.CharField(max_length=200, unique=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size in bytes"))
    pages = models.PositiveIntegerField(_("pages"))
    generated_at = models.DateTimeField(_("generated"))
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["review_id", "-version"]
        verbose_name = _("review report")
        verbose_name_plural = _("review reports")
        constraints = [models.UniqueConstraint(fields=["review", "version"], name="review_report_version_unique")]

    def __str__(self) -> str:
        return f"{self.review_id} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:report_view", args=[self.review_id, self.version])

    def audit_label(self) -> str:
        return f"Report v{self.version} of review #{self.review_id}"

    @property
    def download_name(self) -> str:
        return f"{self.file_name.rsplit('/', 1)[-1]}"
