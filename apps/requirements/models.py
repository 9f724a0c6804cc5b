"""Customer requirements (ISO 9001 8.2.2), their review before commitment (8.2.3)
and their changes (8.2.4). Change rows only through services.py.

A requirement carries its current working content; every version of that content
is also kept as an immutable `RequirementVersion` snapshot. A version may still be
edited while nobody has reviewed it; once reviewed it is frozen (PostgreSQL refuses
the UPDATE, migration 0002) and the next edit starts a new version.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import Role
from apps.audit.models import AuditedQuerySet
from apps.core.exceptions import InvalidTransition
from apps.core.models import TimeStampedModel
from apps.customers.models import Customer, Product

REVIEW_PERMISSION = "requirements.review_customerrequirement"


def review_due_days() -> int:
    """How long a requirement may wait in review before the review is overdue."""
    return settings.REQUIREMENTS_REVIEW_DUE_DAYS


def four_eyes() -> bool:
    """With four eyes on, nobody approves a requirement they wrote."""
    return settings.REQUIREMENTS_FOUR_EYES


class RequirementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    CHANGE_REQUESTED = "change_requested", _("Change requested")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class RequirementType(models.TextChoices):
    STATED = "stated", _("Stated by the customer")
    IMPLIED = "implied", _("Implied (not stated but necessary)")
    STATUTORY = "statutory", _("Statutory")
    REGULATORY = "regulatory", _("Regulatory")
    ORGANISATION = "organisation", _("Organisation's own")


class RequirementSource(models.TextChoices):
    CONTRACT = "contract", _("Contract")
    ORDER = "order", _("Order")
    RFQ = "rfq", _("Request for quotation")
    MEETING = "meeting", _("Meeting")
    REGULATION = "regulation", _("Regulation")
    COMPLAINT = "complaint", _("Complaint")
    OTHER = "other", _("Other")


class RequirementPriority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class CustomerRequirementQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> CustomerRequirementQuerySet:
        """Everyone who may view requirements sees all of them; nobody else sees any."""
        if user is None or not user.is_authenticated or not user.has_perm("requirements.view_customerrequirement"):
            return self.none()
        return self

    def awaiting_review(self) -> CustomerRequirementQuerySet:
        return self.filter(status=CustomerRequirement.Status.IN_REVIEW)

    def review_overdue(self, *, now=None) -> CustomerRequirementQuerySet:
        """In review for longer than REQUIREMENTS_REVIEW_DUE_DAYS (the one rule for "overdue")."""
        cutoff = (now or timezone.now()) - timedelta(days=review_due_days())
        return self.awaiting_review().filter(submitted_at__lt=cutoff)

    def search(self, text: str) -> CustomerRequirementQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(models.Q(title__icontains=text) | models.Q(description__icontains=text))

    def with_relations(self) -> CustomerRequirementQuerySet:
        return self.select_related("customer", "product", "owner", "created_by")


class CustomerRequirement(TimeStampedModel):
    """What a customer (or the market, when `customer` is empty) requires.

    Status changes only through services.py along TRANSITIONS; accepted and
    rejected are reached only through a review (`requirement_review`). The
    content fields mirror the current `RequirementVersion` (number `version`).
    """

    Status = RequirementStatus

    # Rejected may go back to draft for rework (a rejection is often "not like this");
    # withdrawn is the only final state.
    TRANSITIONS: dict[str, set[str]] = {
        Status.DRAFT: {Status.IN_REVIEW, Status.WITHDRAWN},
        Status.IN_REVIEW: {Status.ACCEPTED, Status.REJECTED, Status.WITHDRAWN},
        Status.ACCEPTED: {Status.CHANGE_REQUESTED, Status.WITHDRAWN},
        Status.REJECTED: {Status.DRAFT, Status.WITHDRAWN},
        Status.CHANGE_REQUESTED: {Status.IN_REVIEW, Status.WITHDRAWN},
        Status.WITHDRAWN: set(),
    }
    EDITABLE_STATUSES = frozenset({Status.DRAFT, Status.CHANGE_REQUESTED})
    # The fields each version snapshots; the customer is fixed at creation.
    CONTENT_FIELDS = (
        "title",
        "description",
        "acceptance_criteria",
        "type",
        "source",
        "source_reference",
        "priority",
        "product",
        "target_date",
    )

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requirements",
        help_text=_("Empty for a general requirement of all customers or the market."),
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product or service"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requirements",
    )
    type = models.CharField(_("type"), max_length=20, choices=RequirementType.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    acceptance_criteria = models.TextField(_("acceptance criteria"), blank=True)
    source = models.CharField(_("source"), max_length=20, choices=RequirementSource.choices)
    source_reference = models.CharField(
        _("source reference"),
        max_length=200,
        blank=True,
        help_text=_("Contract or order number, meeting date, regulation clause…"),
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=RequirementPriority.choices, default=RequirementPriority.MEDIUM
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_requirements"
    )
    target_date = models.DateField(_("target date"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    submitted_at = models.DateTimeField(_("submitted for review"), null=True, blank=True)

    objects = CustomerRequirementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer requirement")
        verbose_name_plural = _("customer requirements")
        permissions = [("review_customerrequirement", _("Can review customer requirements (ISO 9001 8.2.3)"))]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="requirement_status_submit_idx"),
            # The keyset ordering of the list pages and API (apps.core.pagination).
            models.Index(fields=["created_at", "id"], name="requirement_created_id_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(version__gte=1), name="requirement_version_positive"),
            models.CheckConstraint(
                condition=models.Q(status__in=RequirementStatus.values), name="requirement_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(type__in=RequirementType.values), name="requirement_type_valid"),
            models.CheckConstraint(
                condition=models.Q(source__in=RequirementSource.values), name="requirement_source_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=RequirementPriority.values), name="requirement_priority_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="in_review") | models.Q(submitted_at__isnull=False),
                name="requirement_review_submitted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def audit_label(self) -> str:
        return f"Requirement {self.reference}"

    @property
    def reference(self) -> str:
        return f"REQ-{self.pk:05d}" if self.pk else "REQ-new"

    @property
    def is_final(self) -> bool:
        return not self.TRANSITIONS[self.status]

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATUSES

    @property
    def review_due_at(self):
        if self.status != self.Status.IN_REVIEW or self.submitted_at is None:
            return None
        return self.submitted_at + timedelta(days=review_due_days())

    @property
    def is_review_overdue(self) -> bool:
        due = self.review_due_at
        return due is not None and timezone.now() > due

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS[self.status]

    def check_transition(self, to: str) -> None:
        if not self.can_transition(to):
            raise InvalidTransition(
                _("%(ref)s cannot go from %(from)s to %(to)s.")
                % {"ref": self.reference, "from": self.get_status_display(), "to": self.Status(to).label}
            )

    def can_be_changed_by(self, user) -> bool:
        """The object rule: quality managers change any requirement, others only those they own or created."""
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if not user.has_perm("requirements.change_customerrequirement"):
            return False
        if user.is_superuser or user.has_role(Role.QUALITY_MANAGER):
            return True
        return user.pk in (self.owner_id, self.created_by_id)


class RequirementVersion(models.Model):
    """The content of a requirement as it stood at version `number`.

    Written by the services only: version 1 at creation, version N+1 by the first
    edit after version N was reviewed. Once a review points at it, PostgreSQL
    refuses any UPDATE (migration 0002); DELETE is always refused.
    `contributors` are everyone who wrote content into this version (four eyes).
    """

    requirement = models.ForeignKey(
        CustomerRequirement, verbose_name=_("requirement"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    acceptance_criteria = models.TextField(_("acceptance criteria"), blank=True)
    type = models.CharField(_("type"), max_length=20, choices=RequirementType.choices)
    source = models.CharField(_("source"), max_length=20, choices=RequirementSource.choices)
    source_reference = models.CharField(_("source reference"), max_length=200, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=RequirementPriority.choices)
    product = models.ForeignKey(
        Product, verbose_name=_("product or service"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_date = models.DateField(_("target date"), null=True, blank=True)
    change_request = models.ForeignKey(
        "RequirementChangeRequest",
        verbose_name=_("change request"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resulting_versions",
        help_text=_("The change request this version answers (8.2.4)."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    contributors = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("contributors"), related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["requirement_id", "number"]
        verbose_name = _("requirement version")
        verbose_name_plural = _("requirement versions")
        constraints = [
            models.UniqueConstraint(fields=["requirement", "number"], name="requirement_version_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="requirement_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.requirement_id} v{self.number}"

    def audit_label(self) -> str:
        return f"Requirement REQ-{self.requirement_id:05d} v{self.number}"


class RequirementReview(models.Model):
    """One review round before commitment (8.2.3): who reviewed which version, when, the
    outcome, and whether the organisation can meet the requirement. Append-only
    (PostgreSQL refuses UPDATE and DELETE, migration 0002)."""

    class Decision(models.TextChoices):
        ACCEPT = "accept", _("Accept")
        REJECT = "reject", _("Reject")

    requirement = models.ForeignKey(
        CustomerRequirement, verbose_name=_("requirement"), on_delete=models.PROTECT, related_name="reviews"
    )
    version = models.ForeignKey(
        RequirementVersion, verbose_name=_("version reviewed"), on_delete=models.PROTECT, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed"), default=timezone.now)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    can_meet = models.BooleanField(_("we can meet the requirement"))
    conditions = models.TextField(
        _("conditions and differences resolved with the customer"),
        blank=True,
    )
    notes = models.TextField(_("notes"), blank=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["requirement_id", "reviewed_at", "id"]
        verbose_name = _("requirement review")
        verbose_name_plural = _("requirement reviews")
        # The review lead-time KPI and the clause map read reviews by their date.
        indexes = [models.Index(fields=["reviewed_at"], name="requirement_review_time_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(decision__in=["accept", "reject"]), name="review_decision_valid"),
            models.CheckConstraint(
                condition=~models.Q(decision="accept") | models.Q(can_meet=True), name="review_accept_needs_can_meet"
            ),
        ]

    def __str__(self) -> str:
        return f"Review #{self.pk} ({self.decision})"

    def audit_label(self) -> str:
        return f"Requirement review #{self.pk}"


class RequirementChangeRequest(models.Model):
    """A request to change an accepted requirement (8.2.4): why, and who was informed.

    The versions written to answer it point back at it (`resulting_versions`).
    """

    requirement = models.ForeignKey(
        CustomerRequirement, verbose_name=_("requirement"), on_delete=models.PROTECT, related_name="change_requests"
    )
    from_version = models.PositiveIntegerField(_("version changed"))
    reason = models.TextField(_("reason"))
    informed = models.TextField(_("people informed"), blank=True)
    informed_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("users informed"), blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["requirement_id", "requested_at", "id"]
        verbose_name = _("requirement change request")
        verbose_name_plural = _("requirement change requests")
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""), name="change_request_reason_given")]

    def __str__(self) -> str:
        return f"Change request #{self.pk}"

    def audit_label(self) -> str:
        return f"Requirement change request #{self.pk}"
