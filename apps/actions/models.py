"""Corrective actions (ISO 9001 10.2): react to a nonconformity, find its root cause,
act on it in planned rounds, and check that the action was effective.

Change rows only through services.py. A corrective action may point at the record
that raised it (a complaint, a feedback, a requirement review, an audit finding…)
through a generic link, so this app never imports the apps that raise actions.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import Role
from apps.audit.models import AuditedQuerySet
from apps.core.exceptions import InvalidTransition
from apps.core.models import TimeStampedModel

VERIFY_PERMISSION = "actions.verify_correctiveaction"


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    IMPLEMENTED = "implemented", _("Implemented")
    VERIFIED_EFFECTIVE = "verified_effective", _("Verified effective")
    NOT_EFFECTIVE = "not_effective", _("Not effective")


class RootCauseMethod(models.TextChoices):
    FIVE_WHYS = "five_whys", _("5 whys")
    FISHBONE = "fishbone", _("Fishbone (Ishikawa)")
    FAULT_TREE = "fault_tree", _("Fault tree")
    OTHER = "other", _("Other")


def _is_manager(user) -> bool:
    return bool(user.is_superuser or user.has_role(Role.QUALITY_MANAGER))


class CorrectiveActionQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> CorrectiveActionQuerySet:
        """Everyone who may view corrective actions sees all of them; nobody else sees any."""
        if user is None or not user.is_authenticated or not user.has_perm("actions.view_correctiveaction"):
            return self.none()
        return self

    def open(self) -> CorrectiveActionQuerySet:
        return self.exclude(status=ActionStatus.VERIFIED_EFFECTIVE)

    def overdue(self, *, today=None) -> CorrectiveActionQuerySet:
        """Actions with an open plan item of the current round past its due date."""
        today = today or timezone.localdate()
        return self.filter(
            models.Exists(
                ActionPlanItem.objects.filter(
                    action=models.OuterRef("pk"),
                    round=models.OuterRef("round"),
                    done_at__isnull=True,
                    due_date__lt=today,
                )
            )
        )

    def search(self, text: str) -> CorrectiveActionQuerySet:
        text = (text or "").strip()
        if not text:
            return self
        return self.filter(
            models.Q(reference__icontains=text)
            | models.Q(title__icontains=text)
            | models.Q(nonconformity__icontains=text)
            | models.Q(source_label__icontains=text)
        )

    def with_relations(self) -> CorrectiveActionQuerySet:
        return self.select_related("owner", "verifier", "created_by", "source_content_type")


class CorrectiveAction(TimeStampedModel):
    """One corrective action. `reference` is ACT-YYYY-NNNNN, numbered per year.

    Status changes only through services.py along TRANSITIONS. A not-effective
    action is reopened into a new plan `round`; only the current round's plan
    items count for the stage gates.
    """

    Status = ActionStatus

    TRANSITIONS: dict[str, set[str]] = {
        Status.OPEN: {Status.IN_PROGRESS},
        Status.IN_PROGRESS: {Status.IMPLEMENTED},
        Status.IMPLEMENTED: {Status.VERIFIED_EFFECTIVE, Status.NOT_EFFECTIVE},
        Status.NOT_EFFECTIVE: {Status.IN_PROGRESS},
        Status.VERIFIED_EFFECTIVE: set(),
    }
    PLANNING_STATUSES = frozenset({Status.OPEN, Status.IN_PROGRESS})

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    nonconformity = models.TextField(_("nonconformity"), help_text=_("What went wrong, and the evidence for it."))
    containment = models.TextField(
        _("containment (immediate correction)"), blank=True, help_text=_("What was done at once to limit the damage.")
    )
    root_cause_method = models.CharField(
        _("root-cause method"), max_length=20, choices=RootCauseMethod.choices, blank=True
    )
    root_cause = models.TextField(_("root-cause finding"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_actions"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    round = models.PositiveIntegerField(_("plan round"), default=1)
    effectiveness_check_date = models.DateField(_("effectiveness check date"), null=True, blank=True)
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verifier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verification_evidence = models.TextField(_("verification evidence"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("raised by"), on_delete=models.PROTECT, related_name="+"
    )
    source_content_type = models.ForeignKey(
        ContentType, verbose_name=_("source type"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source_object_id = models.CharField(_("source id"), max_length=64, blank=True)
    source_label = models.CharField(_("source"), max_length=200, blank=True)
    source = GenericForeignKey("source_content_type", "source_object_id")

    objects = CorrectiveActionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")
        permissions = [("verify_correctiveaction", _("Can verify the effectiveness of corrective actions"))]
        indexes = [
            models.Index(fields=["source_content_type", "source_object_id"], name="action_source_idx"),
            # The keyset ordering of the list pages and API (apps.core.pagination).
            models.Index(fields=["created_at", "id"], name="action_created_id_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=ActionStatus.values), name="action_status_valid"),
            models.CheckConstraint(condition=models.Q(round__gte=1), name="action_round_positive"),
            models.CheckConstraint(
                condition=models.Q(root_cause_method__in=[*RootCauseMethod.values, ""]),
                name="action_root_cause_method_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["verified_effective", "not_effective"])
                | models.Q(verifier__isnull=False, verified_at__isnull=False),
                name="action_verified_has_verifier",
            ),
            models.CheckConstraint(
                condition=models.Q(verifier__isnull=True) | ~models.Q(verifier=models.F("owner")),
                name="action_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def audit_label(self) -> str:
        return f"Corrective action {self.reference}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("actions:action_detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return not self.TRANSITIONS[self.status]

    @property
    def is_planning(self) -> bool:
        return self.status in self.PLANNING_STATUSES

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS[self.status]

    def check_transition(self, to: str) -> None:
        if not self.can_transition(to):
            raise InvalidTransition(
                _("%(ref)s cannot go from %(from)s to %(to)s.")
                % {"ref": self.reference, "from": self.get_status_display(), "to": ActionStatus(to).label}
            )

    def can_be_changed_by(self, user) -> bool:
        """The object rule: quality managers change any action; staff those they own or hold a plan item of."""
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if not user.has_perm("actions.change_correctiveaction"):
            return False
        if _is_manager(user) or user.pk == self.owner_id:
            return True
        return self.plan_items.filter(owner_id=user.pk).exists()

    def can_be_verified_by(self, user) -> bool:
        return bool(
            user is not None
            and user.is_authenticated
            and user.is_active
            and user.has_perm(VERIFY_PERMISSION)
            and user.pk != self.owner_id
        )


class ActionPlanItemQuerySet(AuditedQuerySet):
    def open(self) -> ActionPlanItemQuerySet:
        return self.filter(done_at__isnull=True)

    def overdue(self, *, today=None) -> ActionPlanItemQuerySet:
        """Open items of their action's current round, past due, on an action still being worked on."""
        today = today or timezone.localdate()
        return self.open().filter(
            due_date__lt=today,
            round=models.F("action__round"),
            action__status__in=CorrectiveAction.PLANNING_STATUSES,
        )


class ActionPlanItem(models.Model):
    """One step of an action's plan in plan round `round`. Done once `done_at` is set."""

    action = models.ForeignKey(
        CorrectiveAction, verbose_name=_("corrective action"), on_delete=models.PROTECT, related_name="plan_items"
    )
    round = models.PositiveIntegerField(_("plan round"))
    description = models.TextField(_("description"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="action_plan_items"
    )
    due_date = models.DateField(_("due date"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    last_reminded_on = models.DateField(_("last reminded"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), db_default=Now())

    objects = ActionPlanItemQuerySet.as_manager()

    class Meta:
        ordering = ["action_id", "round", "due_date", "id"]
        verbose_name = _("action plan item")
        verbose_name_plural = _("action plan items")
        indexes = [models.Index(fields=["due_date"], name="action_item_due_open_idx", condition=models.Q(done_at=None))]
        constraints = [models.CheckConstraint(condition=models.Q(round__gte=1), name="action_item_round_positive")]

    def __str__(self) -> str:
        return f"{self.action_id}/{self.round}: {self.description[:40]}"

    def audit_label(self) -> str:
        return f"Plan item #{self.pk} of action #{self.action_id}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, today=None) -> bool:
        return not self.is_done and self.due_date < (today or timezone.localdate())

    def can_be_completed_by(self, user) -> bool:
        """QM any item; staff only their own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if not user.has_perm("actions.change_correctiveaction"):
            return False
        return _is_manager(user) or user.pk == self.owner_id
