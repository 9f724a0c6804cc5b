"""Every change to corrective actions (ISO 9001 10.2): raising, editing, the plan,
the stage gates of the workflow, the effectiveness check, and overdue reminders.

Each service runs in one transaction, locks the action it changes, checks the
actor's right (PermissionDenied), the workflow (InvalidTransition) and the stage
gates (BusinessRuleViolation), and writes its audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.actions.models import ActionPlanItem, CorrectiveAction, RootCauseMethod
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.core.links import absolute_url
from apps.core.sequences import next_reference
from apps.core.services import email_enqueue

Status = CorrectiveAction.Status
EDITABLE_FIELDS = (
    "title",
    "nonconformity",
    "containment",
    "root_cause_method",
    "root_cause",
    "owner",
    "effectiveness_check_date",
)
CREATE_FIELDS = ["reference", "title", "nonconformity", "containment", "owner", "status", "round"]


def effectiveness_days() -> int:
    """Default wait between implementation and the effectiveness check."""
    return settings.ACTIONS_EFFECTIVENESS_DAYS


# Helpers -------------------------------------------------------------------------------


def _lock(action_id: int) -> CorrectiveAction:
    return CorrectiveAction.objects.select_for_update().get(pk=action_id)


def _check_can_change(action: CorrectiveAction, actor: User) -> None:
    if not action.can_be_changed_by(actor):
        raise PermissionDenied(_("You may change only corrective actions you own or hold a plan item of."))


def _require_text(value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise BusinessRuleViolation(message)
    return value


def _check_owner(owner: User | None) -> None:
    if owner is None or not owner.is_active:
        raise BusinessRuleViolation(_("The owner must be an active user."))
    if not owner.has_perm("actions.change_correctiveaction"):
        raise BusinessRuleViolation(_("The owner must be someone who may work on corrective actions."))


def _transition(
    action: CorrectiveAction,
    *,
    to: str,
    actor: User,
    reason: str = "",
    extra: Mapping[str, list[Any]] | None = None,
    fields: tuple[str, ...] = (),
) -> CorrectiveAction:
    action.check_transition(to)
    before = action.status
    action.status = to
    action.save(update_fields=["status", *fields, "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=action,
        changes={"status": [before, to], **(extra or {})},
        reason=reason,
    )
    return action


# Raising and editing ---------------------------------------------------------------------


@transaction.atomic
def action_raise(
    *,
    source: models.Model | None,
    title: str,
    nonconformity: str,
    actor: User,
    owner: User | None = None,
    containment: str = "",
) -> CorrectiveAction:
    """Raise a corrective action, optionally linked to the record it comes from.

    `source` is any saved model instance (complaint, feedback, requirement review,
    survey result, management review) or None for an audit finding or a manual
    action. The owner defaults to the actor. Takes the next reference of the year
    (locking the year's counter row) and writes the audit entry.
    """
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("actions.add_correctiveaction"):
        raise PermissionDenied(_("You may not raise corrective actions."))
    owner = owner or actor
    _check_owner(owner)
    title = _require_text(title, _("A corrective action needs a title."))
    nonconformity = _require_text(nonconformity, _("Describe the nonconformity."))
    action = CorrectiveAction(
        title=title[:200],
        nonconformity=nonconformity,
        containment=(containment or "").strip(),
        owner=owner,
        created_by=actor,
    )
    if source is not None:
        if source.pk is None:
            raise ValueError("action_raise: the source must be saved first")
        action.source_content_type = ContentType.objects.get_for_model(source, for_concrete_model=True)
        action.source_object_id = str(source.pk)[:64]
        action.source_label = audit.label_for(source) if hasattr(source, "audit_label") else str(source)[:200]
    action.reference = next_reference("ACT")
    action.save(force_insert=True)
    changes = audit.diff({}, audit.snapshot(action, CREATE_FIELDS))
    if source is not None:
        content_type = action.source_content_type
        changes["source"] = [None, f"{content_type.app_label}.{content_type.model}:{action.source_object_id}"]
        if hasattr(source, "audit_label"):
            # str() of a source may hold personal data, which never enters the hash chain; audit_label() is safe.
            changes["source_label"] = [None, action.source_label]
    audit.record(actor=actor, action=AuditEntry.Action.CREATE, obj=action, changes=changes)
    return action


@transaction.atomic
def action_update(*, action_id: int, actor: User, reason: str = "", **data: Any) -> CorrectiveAction:
    """Edit an action's description, root cause, owner or check date (not once verified effective).

    Only a quality manager hands an action to another owner.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"action_update: unknown fields {sorted(unknown)}")
    action = _lock(action_id)
    _check_can_change(action, actor)
    if action.is_final:
        raise BusinessRuleViolation(_("An action verified effective can no longer be edited."))
    if "owner" in data and data["owner"] is not None and data["owner"].pk != action.owner_id:
        _check_owner(data["owner"])
        if not (actor.is_superuser or actor.has_role("quality_manager")):
            raise PermissionDenied(_("Only a quality manager hands an action to another owner."))
    if "title" in data:
        data["title"] = _require_text(data["title"], _("A corrective action needs a title."))
    if "nonconformity" in data:
        data["nonconformity"] = _require_text(data["nonconformity"], _("Describe the nonconformity."))
    if data.get("root_cause_method") not in (None, "", *RootCauseMethod.values):
        raise BusinessRuleViolation(_("Unknown root-cause method."))
    names = [name for name in EDITABLE_FIELDS if name in data and not (name == "owner" and data[name] is None)]
    before = audit.snapshot(action, names)
    for name in names:
        value = data[name]
        setattr(action, name, value.strip() if isinstance(value, str) else value)
    if "root_cause_method" in names and action.root_cause_method is None:
        action.root_cause_method = ""
    changes = audit.diff(before, audit.snapshot(action, names))
    if not changes:
        return action
    action.save(update_fields=[*changes, "updated_at"])
    audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=action, changes=changes, reason=reason.strip())
    return action


# The workflow ----------------------------------------------------------------------------


@transaction.atomic
def action_start(*, action_id: int, actor: User, reason: str = "") -> CorrectiveAction:
    """Start working on an open action."""
    action = _lock(action_id)
    _check_can_change(action, actor)
    return _transition(action, to=Status.IN_PROGRESS, actor=actor, reason=(reason or "").strip())


@transaction.atomic
def action_implement(
    *, action_id: int, actor: User, effectiveness_check_date: date | None = None, reason: str = ""
) -> CorrectiveAction:
    """Declare the current round's plan carried out.

    Gates: a root-cause finding, at least one plan item in the current round, and
    all of them done. Sets the effectiveness check date (given, already set, or
    ACTIONS_EFFECTIVENESS_DAYS from today); it may not lie in the past.
    """
    action = _lock(action_id)
    _check_can_change(action, actor)
    action.check_transition(Status.IMPLEMENTED)
    if not action.root_cause.strip():
        raise BusinessRuleViolation(_("Record the root-cause finding before declaring the action implemented."))
    items = ActionPlanItem.objects.filter(action=action, round=action.round)
    if not items.exists():
        raise BusinessRuleViolation(_("Plan at least one step in this round before declaring it implemented."))
    if items.filter(done_at__isnull=True).exists():
        raise BusinessRuleViolation(_("Every plan item of this round must be done first."))
    today = timezone.localdate()
    check_date = effectiveness_check_date or action.effectiveness_check_date
    if check_date is None or (effectiveness_check_date is None and check_date < today):
        check_date = today + timedelta(days=effectiveness_days())
    if check_date < today:
        raise BusinessRuleViolation(_("The effectiveness check date cannot lie in the past."))
    before = action.effectiveness_check_date
    action.effectiveness_check_date = check_date
    extra = {"effectiveness_check_date": [before, check_date]} if before != check_date else {}
    return _transition(
        action,
        to=Status.IMPLEMENTED,
        actor=actor,
        reason=(reason or "").strip(),
        extra=extra,
        fields=("effectiveness_check_date",),
    )


@transaction.atomic
def action_verify(*, action_id: int, actor: User, effective: bool, evidence: str) -> CorrectiveAction:
    """Record the effectiveness check of an implemented action.

    Only holders of `actions.verify_correctiveaction` who do not own the action
    (four eyes), on or after the check date, with evidence, and with no open plan item.
    """
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("actions.verify_correctiveaction"):
        raise PermissionDenied(_("You may not verify corrective actions."))
    evidence = _require_text(evidence, _("Verification needs evidence."))
    action = _lock(action_id)
    to = Status.VERIFIED_EFFECTIVE if effective else Status.NOT_EFFECTIVE
    action.check_transition(to)
    if actor.pk == action.owner_id:
        raise BusinessRuleViolation(_("Four eyes: the owner of an action may not verify it."))
    today = timezone.localdate()
    if action.effectiveness_check_date is None or today < action.effectiveness_check_date:
        raise BusinessRuleViolation(
            _("The effectiveness check is due on %(date)s, not before.") % {"date": action.effectiveness_check_date}
        )
    if action.plan_items.filter(done_at__isnull=True).exists():
        raise BusinessRuleViolation(_("An action with open plan items cannot be verified."))
    action.verifier = actor
    action.verified_at = timezone.now()
    action.verification_evidence = evidence
    return _transition(
        action,
        to=to,
        actor=actor,
        reason=evidence,
        extra={"verifier": [None, actor.pk], "effective": [None, bool(effective)]},
        fields=("verifier", "verified_at", "verification_evidence"),
    )


@transaction.atomic
def action_reopen(*, action_id: int, actor: User, reason: str) -> CorrectiveAction:
    """Reopen an action found not effective: back to in progress with a new plan round."""
    reason = _require_text(reason, _("Reopening needs a reason."))
    action = _lock(action_id)
    _check_can_change(action, actor)
    action.check_transition(Status.IN_PROGRESS)
    before = action.round
    action.round = before + 1
    return _transition(
        action,
        to=Status.IN_PROGRESS,
        actor=actor,
        reason=reason,
        extra={"round": [before, action.round]},
        fields=("round",),
    )


# The plan ----------------------------------------------------------------------------------


@transaction.atomic
def plan_item_add(*, action_id: int, actor: User, description: str, owner: User, due_date: date) -> ActionPlanItem:
    """Add a step to the current round of an open or in-progress action."""
    action = _lock(action_id)
    _check_can_change(action, actor)
    if not action.is_planning:
        raise BusinessRuleViolation(_("Plan items can be added only while the action is open or in progress."))
    description = _require_text(description, _("Describe the plan item."))
    _check_owner(owner)
    if due_date is None:
        raise BusinessRuleViolation(_("A plan item needs a due date."))
    item = ActionPlanItem.objects.create(
        action=action, round=action.round, description=description, owner=owner, due_date=due_date
    )
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=item,
        changes={
            "action": [None, action.pk],
            "round": [None, item.round],
            "description": [None, description],
            "owner": [None, owner.pk],
            "due_date": [None, due_date],
        },
    )
    return item


@transaction.atomic
def plan_item_complete(*, item_id: int, actor: User, note: str = "") -> ActionPlanItem:
    """Mark a plan item done. Staff complete only their own items; quality managers any."""
    item = ActionPlanItem.objects.select_related("action").get(pk=item_id)
    action = _lock(item.action_id)  # the action first, as every service locks it, then the item
    item = ActionPlanItem.objects.select_for_update().get(pk=item_id)
    if not item.can_be_completed_by(actor):
        raise PermissionDenied(_("You may mark done only your own plan items."))
    if item.is_done:
        raise BusinessRuleViolation(_("This plan item is already done."))
    if not action.is_planning or item.round != action.round:
        raise BusinessRuleViolation(_("Only items of the current round of an action in progress can be marked done."))
    item.done_at = timezone.now()
    item.save(update_fields=["done_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=item,
        changes={"done_at": [None, item.done_at]},
        reason=(note or "").strip(),
    )
    return item


# Reminders -----------------------------------------------------------------------------------


def _claim_reminder(item_id: int, today: date) -> bool:
    """Conditional UPDATE ... WHERE last_reminded_on IS DISTINCT FROM today: one winner per item per day.

    `last_reminded_on` is a delivery marker, not part of the quality record, hence unaudited.
    """
    claimed = (
        ActionPlanItem.objects.filter(pk=item_id, done_at__isnull=True)
        .exclude(last_reminded_on=today)
        .unaudited_update(last_reminded_on=today)
    )
    return claimed == 1


def remind_overdue_items(*, today: date | None = None, limit: int = 500) -> int:
    """E-mail each owner of an overdue open plan item one reminder per item per day.

    Each item is claimed with a conditional UPDATE and its e-mail queued (with an
    idempotency key) in the same transaction, so a second run the same day — or a
    concurrent one — sends nothing more. Returns how many reminders were queued.
    """
    today = today or timezone.localdate()
    candidates = list(
        ActionPlanItem.objects.overdue(today=today)
        .exclude(last_reminded_on=today)
        .select_related("action", "owner")
        .order_by("pk")[:limit]
    )
    sent = 0
    for item in candidates:
        with transaction.atomic():
            if not _claim_reminder(item.pk, today):
                continue
            if not item.owner.is_active:
                continue
            days = (today - item.due_date).days
            email_enqueue(
                to=item.owner.email,
                subject=_("Overdue plan item of %(ref)s") % {"ref": item.action.reference},
                template="emails/notification.txt",
                html_template="emails/notification.html",
                context={
                    "greeting": _("Hello %(name)s,") % {"name": item.owner.display_name},
                    "paragraphs": [
                        _(
                            "A plan item of corrective action %(ref)s (%(title)s) assigned to you "
                            "is %(days)s day(s) overdue:"
                        )
                        % {"ref": item.action.reference, "title": item.action.title, "days": days},
                        item.description,
                        _("It was due on %(date)s.") % {"date": item.due_date.isoformat()},
                    ],
                    "link": absolute_url(reverse("actions:action_detail", args=[item.action_id])),
                    "link_label": item.action.reference,
                },
                idempotency_key=f"action-item-reminder:{item.pk}:{today}",
            )
            sent += 1
    return sent
