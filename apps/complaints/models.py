"""Customer complaints (ISO 10002) with external dispute resolution fields (ISO 10003).

Change rows only through services.py. The complainant's name and e-mail, and
everything written into the complaint (description, desired outcome, messages,
rating comment) are personal data, encrypted with the complaint's own data key
(apps.core.crypto) and masked in the audit trail; erasing the complainant
destroys the key and keeps the quality record. The tracking token is looked
up by its SHA-256 and kept only sealed with that data key (for the links in later e-mails).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import Role
from apps.audit.models import AuditedQuerySet
from apps.core.crypto import PersonalDataModel, encrypted_field
from apps.core.exceptions import InvalidTransition
from apps.core.models import CategoryBase, TimeStampedModel
from apps.core.sequences import ReferenceField
from apps.customers.models import Contact, Customer, Product

VIEW_PERMISSION = "complaints.view_complaint"
CHANGE_PERMISSION = "complaints.change_complaint"
ASSIGN_PERMISSION = "complaints.assign_complaint"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ComplaintCategory(CategoryBase):
    """A configurable complaint category (quality managers keep the list)."""

    objects = AuditedQuerySet.as_manager()

    class Meta(CategoryBase.Meta):
        verbose_name = _("complaint category")
        verbose_name_plural = _("complaint categories")

    def audit_label(self) -> str:
        return f"Complaint category {self.name}"


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    IN_PERSON = "in_person", _("In person")
    FEEDBACK = "feedback", _("Feedback")
    OTHER = "other", _("Other")


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Under investigation")
    AWAITING_CUSTOMER = "awaiting_customer", _("Awaiting customer")
    RESPONDED = "responded", _("Response sent")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SlaStage(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    ASSESS = "assess", _("Assess")
    RESPOND = "respond", _("Respond")
    CLOSE = "close", _("Close")


class SlaPolicy(TimeStampedModel):
    """The complaint-handling time limits for one severity, one per ISO 10002 stage.

    Hours are working hours and days working days (apps.complaints.sla). Quality managers
    edit them; complaints pick up a change when their due dates are next recomputed (at
    receipt, assessment and every transition).
    """

    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, unique=True)
    acknowledge_hours = models.PositiveSmallIntegerField(_("acknowledge within (working hours)"))
    assess_hours = models.PositiveSmallIntegerField(_("assess within (working hours)"))
    respond_days = models.PositiveSmallIntegerField(_("respond within (working days)"))
    close_days = models.PositiveSmallIntegerField(_("close within (working days)"))

    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(acknowledge_hours__gte=1, respond_days__gte=1), name="sla_policy_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(assess_hours__gte=models.F("acknowledge_hours")), name="sla_policy_assess_after_ack"
            ),
            models.CheckConstraint(
                condition=models.Q(close_days__gte=models.F("respond_days")), name="sla_policy_close_after_respond"
            ),
        ]

    def __str__(self) -> str:
        return self.get_severity_display()

    def audit_label(self) -> str:
        return f"SLA policy {self.severity}"

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in SLA_POLICY_FIELDS}


SLA_POLICY_FIELDS = ("acknowledge_hours", "assess_hours", "respond_days", "close_days")


def stage_missed_q(due: str, done: str, now) -> models.Q:
    """A stage not done whose due date passed while the clock ran.

    A pause (awaiting the customer) stops the clock, so during one only a due date that
    passed before the pause began counts: a deadline missed stays missed, however the
    complaint waits afterwards. The list filter, the dashboard, the metrics and the
    escalations all use this one rule.
    """
    not_done = models.Q(**{f"{done}__isnull": True})
    paused = models.Q(status=ComplaintStatus.AWAITING_CUSTOMER)
    running = ~paused & models.Q(**{f"{due}__lt": now})
    missed_before_pause = paused & models.Q(**{f"{due}__lt": models.F("paused_at")})
    return not_done & (running | missed_before_pause)


class ComplaintQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> ComplaintQuerySet:
        """Quality managers and auditors see all; staff only complaints assigned to them."""
        if user is None or not user.is_authenticated or not user.is_active or not user.has_perm(VIEW_PERMISSION):
            return self.none()
        if user.is_superuser or user.has_role(Role.QUALITY_MANAGER, Role.AUDITOR):
            return self
        return self.filter(assignee=user)

    def open(self) -> ComplaintQuerySet:
        return self.exclude(status__in=Complaint.FINAL_STATUSES)

    def overdue(self, *, now=None) -> ComplaintQuerySet:
        """Open complaints with a stage missed (see `stage_missed_q`)."""
        from django.utils import timezone

        now = now or timezone.now()
        q = models.Q()
        for due, done in Complaint.STAGE_FIELDS.values():
            q |= stage_missed_q(due, done, now)
        return self.open().filter(q)

    def closed_within_sla(self) -> ComplaintQuerySet:
        """Closed complaints that met every SLA stage they had a due date for. The analytics
        roll-ups apply the same rule in SQL, so a dashboard figure and its list agree."""
        met = models.Q(status=ComplaintStatus.CLOSED)
        for due, done in (
            ("ack_due_at", "acknowledged_at"),
            ("respond_due_at", "responded_at"),
            ("close_due_at", "closed_at"),
        ):
            met &= models.Q(**{f"{due}__isnull": True}) | models.Q(**{f"{done}__lte": models.F(due)})
        return self.filter(met)

    def with_relations(self) -> ComplaintQuerySet:
        return self.select_related("customer", "product", "category", "assignee", "contact")


class Complaint(PersonalDataModel, TimeStampedModel):
    """A customer complaint (ISO 10002). Change status only through services.

    `awaiting_customer` pauses the SLA clock and returns to `previous_status`
    when the customer answers. Due dates are derived from `received_at` (or
    `reopened_at` for respond/close after a reopen) plus the working time
    spent paused (`paused_seconds`).
    """

    Status = ComplaintStatus
    Severity = Severity
    Channel = Channel

    TRANSITIONS: dict[str, set[str]] = {
        Status.RECEIVED: {Status.ACKNOWLEDGED, Status.REJECTED, Status.WITHDRAWN, Status.AWAITING_CUSTOMER},
        Status.ACKNOWLEDGED: {Status.INVESTIGATING, Status.REJECTED, Status.WITHDRAWN, Status.AWAITING_CUSTOMER},
        Status.INVESTIGATING: {Status.RESPONDED, Status.REJECTED, Status.WITHDRAWN, Status.AWAITING_CUSTOMER},
        Status.AWAITING_CUSTOMER: {Status.WITHDRAWN},  # + previous_status, see allowed_targets()
        Status.RESPONDED: {Status.CLOSED, Status.INVESTIGATING, Status.WITHDRAWN, Status.AWAITING_CUSTOMER},
        Status.CLOSED: {Status.REOPENED},
        Status.REOPENED: {Status.INVESTIGATING, Status.WITHDRAWN, Status.AWAITING_CUSTOMER},
        Status.REJECTED: set(),
        Status.WITHDRAWN: set(),
    }
    FINAL_STATUSES = (Status.CLOSED, Status.REJECTED, Status.WITHDRAWN)
    # stage -> (due field, met field)
    STAGE_FIELDS = {
        SlaStage.ACKNOWLEDGE: ("ack_due_at", "acknowledged_at"),
        SlaStage.ASSESS: ("assess_due_at", "assessed_at"),
        SlaStage.RESPOND: ("respond_due_at", "responded_at"),
        SlaStage.CLOSE: ("close_due_at", "closed_at"),
    }
    # For code that looks the model up by name (apps.core.metrics may not import this app).
    stage_missed_q = staticmethod(stage_missed_q)
    AUDIT_PERSONAL_FIELDS = (
        "complainant_name",
        "complainant_email",
        "name_ct",
        "email_ct",
        "description",
        "desired_outcome",
        "rating_comment",
    )

    reference = ReferenceField(_("reference"), max_length=20, unique=True, editable=False)
    # The public form's key (apps.core.public.SubmissionKeyMixin): one record per form sent.
    submission_key = models.CharField(max_length=32, null=True, blank=True, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The token itself, sealed with the data key like the rest of the complainant's data, so every
    # e-mail can carry the link; erasure clears it and shreds the key, so it cannot outlive them.
    token_ct = models.TextField(blank=True, editable=False)
    name_ct = models.TextField(blank=True, editable=False)
    email_ct = models.TextField(blank=True, editable=False)
    email_index = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, null=True, blank=True, related_name="complaints"
    )
    customer_name = models.CharField(_("organisation"), max_length=200, blank=True)
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.PROTECT, null=True, blank=True, related_name="complaints"
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product or service"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
    )
    order_reference = models.CharField(_("order reference"), max_length=100, blank=True)
    description_ct = models.TextField(editable=False)
    desired_outcome_ct = models.TextField(blank=True, editable=False)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    category = models.ForeignKey(
        ComplaintCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_complaints",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    previous_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    dispute_body = models.CharField(_("external dispute resolution body"), max_length=200, blank=True)
    dispute_date = models.DateField(_("dispute referred on"), null=True, blank=True)
    dispute_outcome = models.TextField(_("dispute outcome"), blank=True)
    rating = models.PositiveSmallIntegerField(_("satisfaction rating"), null=True, blank=True)
    rating_comment_ct = models.TextField(blank=True, editable=False)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    flagged = models.BooleanField(_("flagged"), default=False)
    escalated = models.BooleanField(_("escalated"), default=False)
    received_at = models.DateTimeField(_("received"))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    assessed_at = models.DateTimeField(_("assessed"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopened_at = models.DateTimeField(_("reopened"), null=True, blank=True)
    cycle = models.PositiveSmallIntegerField(default=0, help_text=_("Number of reopenings."))
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0, help_text=_("Working seconds spent paused."))
    ack_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    assess_due_at = models.DateTimeField(_("assess by"), null=True, blank=True)
    respond_due_at = models.DateTimeField(_("respond by"), null=True, blank=True)
    close_due_at = models.DateTimeField(_("close by"), null=True, blank=True)

    complainant_name = encrypted_field("name_ct")
    complainant_email = encrypted_field("email_ct")
    description = encrypted_field("description_ct")
    desired_outcome = encrypted_field("desired_outcome_ct")
    rating_comment = encrypted_field("rating_comment_ct")
    stored_token = encrypted_field("token_ct")

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        # The keyset ordering of the list pages and API (apps.core.pagination).
        indexes = [
            models.Index(fields=["received_at", "id"], name="complaint_received_id_idx"),
            # The roll-up refresh re-aggregates received and closed days by time range, and the
            # stage-time KPIs (median, 90th percentile) read a period's complaints by received_at.
            # Covering the columns they use lets them read from the index alone (an index-only
            # scan) instead of one heap page per complaint (apps.analytics.services, .kpis).
            models.Index(
                fields=["received_at"],
                include=["product", "customer", "category", "channel", "acknowledged_at", "responded_at"],
                name="complaint_received_rollup_idx",
            ),
            models.Index(
                fields=["closed_at"],
                include=[
                    "status",
                    "product",
                    "customer",
                    "category",
                    "channel",
                    "ack_due_at",
                    "acknowledged_at",
                    "respond_due_at",
                    "responded_at",
                    "close_due_at",
                ],
                name="complaint_closed_idx",
            ),
        ]
        permissions = [
            ("assign_complaint", _("Can assign complaints")),
            ("erase_complaint", _("Can erase a complainant's personal data")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ComplaintStatus.values), name="complaint_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(severity__in=Severity.values), name="complaint_severity_valid"),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="complaint_rating_range",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def audit_label(self) -> str:
        return f"Complaint {self.reference}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("complaints:complaint_detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.status == self.Status.AWAITING_CUSTOMER

    @property
    def organisation(self) -> str:
        return self.customer.name if self.customer_id else self.customer_name

    def allowed_targets(self) -> set[str]:
        targets = set(self.TRANSITIONS[self.status])
        if self.status == self.Status.AWAITING_CUSTOMER and self.previous_status:
            targets.add(self.previous_status)
        return targets

    def can_transition(self, to: str) -> bool:
        return to in self.allowed_targets()

    def check_transition(self, to: str) -> None:
        if not self.can_transition(to):
            raise InvalidTransition(
                _("%(ref)s cannot go from %(from)s to %(to)s.")
                % {"ref": self.reference, "from": self.get_status_display(), "to": ComplaintStatus(to).label}
            )

    def can_be_changed_by(self, user) -> bool:
        """Quality managers change any complaint; staff only those assigned to them."""
        if user is None or not user.is_authenticated or not user.is_active or not user.has_perm(CHANGE_PERMISSION):
            return False
        if user.is_superuser or user.has_perm(ASSIGN_PERMISSION):
            return True
        return self.assignee_id == user.pk

    def stage_missed(self, stage: str, *, now=None) -> bool:
        """The Python side of `stage_missed_q`, for one loaded complaint."""
        from django.utils import timezone

        due_field, done_field = self.STAGE_FIELDS[stage]
        due = getattr(self, due_field)
        if due is None or getattr(self, done_field) is not None:
            return False
        if self.is_paused:
            return self.paused_at is not None and due < self.paused_at
        return due < (now or timezone.now())

    def sla_rows(self, *, now=None) -> list[dict]:
        rows = []
        for stage, (due, done) in self.STAGE_FIELDS.items():
            rows.append(
                {
                    "stage": SlaStage(stage),
                    "due": getattr(self, due),
                    "done": getattr(self, done),
                    "missed": self.stage_missed(stage, now=now),
                }
            )
        return rows


class ComplaintMessage(models.Model):
    """A note on a complaint: internal (staff only) or customer-visible (a response or the customer's answer).

    The body is encrypted with the complaint's data key, so erasing the complainant makes every
    message of the complaint unreadable too.
    """

    class Visibility(models.TextChoices):
        INTERNAL = "internal", _("Internal note")
        CUSTOMER = "customer", _("Visible to the customer")

    class AuthorKind(models.TextChoices):
        STAFF = "staff", _("Staff")
        CUSTOMER = "customer", _("Customer")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="messages")
    visibility = models.CharField(_("visibility"), max_length=10, choices=Visibility.choices)
    author_kind = models.CharField(max_length=10, choices=AuthorKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body_ct = models.TextField(editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    AUDIT_PERSONAL_FIELDS = ("body",)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(author_kind="customer") | models.Q(visibility="customer"),
                name="complaint_message_customer_visible",
            )
        ]

    def __str__(self) -> str:
        return f"Message #{self.pk}"

    @property
    def body(self) -> str:
        if self.complaint.erased_at is not None and not self.complaint.data_key:
            return ""
        return self.complaint._decrypt(self.body_ct)

    @body.setter
    def body(self, value: str) -> None:
        self.body_ct = self.complaint._encrypt(value or "")

    def audit_label(self) -> str:
        return f"Complaint message #{self.pk}"


def attachment_path(instance, filename: str) -> str:
    import secrets

    return f"complaints/{secrets.token_hex(16)}"


class ComplaintAttachment(models.Model):
    """A file the customer sent; stored under a random name, served only through a checked view."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    def audit_label(self) -> str:
        return f"Complaint attachment #{self.pk}"


class ComplaintEscalation(models.Model):
    """One SLA warning or breach, once per (complaint, stage, level, cycle): the unique row is the 'once'."""

    class Level(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="escalations")
    stage = models.CharField(max_length=12, choices=SlaStage.choices)
    level = models.CharField(max_length=10, choices=Level.choices)
    cycle = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["complaint", "stage", "level", "cycle"], name="complaint_escalation_once")
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.stage} {self.level}"


class RecurrenceAlert(models.Model):
    """A recurrence alert sent once per (category, product, window start)."""

    category = models.ForeignKey(ComplaintCategory, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    window_start = models.DateField()
    count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "product", "window_start"], name="complaint_recurrence_once")
        ]

    def __str__(self) -> str:
        return f"{self.category_id}/{self.product_id} {self.window_start}"
