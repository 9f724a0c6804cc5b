"""Every change to customer requirements: creation, edits (versions), the review
before commitment (8.2.3), change requests (8.2.4) and the other transitions.

Each service runs in one transaction, locks the requirement it changes, checks the
actor's right to do it (PermissionDenied) and the workflow (InvalidTransition,
BusinessRuleViolation), and writes its audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.customers.models import Customer, Product
from apps.requirements.models import (
    REVIEW_PERMISSION,
    CustomerRequirement,
    RequirementChangeRequest,
    RequirementPriority,
    RequirementReview,
    RequirementVersion,
    four_eyes,
)

Status = CustomerRequirement.Status
CONTENT_FIELDS = list(CustomerRequirement.CONTENT_FIELDS)
# Who answers for the requirement: not part of its content, so changing it starts no new version.
MANAGEMENT_FIELDS = ["owner"]


def _require_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleViolation(message)
    return reason


def _check_can_change(requirement: CustomerRequirement, actor: User) -> None:
    if not requirement.can_be_changed_by(actor):
        raise PermissionDenied(_("You may change only requirements you own or created."))


def _lock(requirement_id: int) -> CustomerRequirement:
    return CustomerRequirement.objects.select_for_update().get(pk=requirement_id)


def _snapshot_into(version: RequirementVersion, requirement: CustomerRequirement) -> None:
    for name in CONTENT_FIELDS:
        field = CustomerRequirement._meta.get_field(name)
        setattr(version, field.attname, getattr(requirement, field.attname))


def _validate(requirement: CustomerRequirement) -> None:
    """Model validation of the fields a caller may set (choices, lengths, required)."""
    requirement.full_clean(
        exclude=["customer", "product", "owner", "created_by"], validate_unique=False, validate_constraints=False
    )


def _apply(requirement: CustomerRequirement, data: Mapping[str, Any], fields: Iterable[str]) -> dict[str, list[Any]]:
    names = [name for name in fields if name in data]
    before = audit.snapshot(requirement, names)
    for name in names:
        value = data[name]
        setattr(requirement, name, value.strip() if isinstance(value, str) else value)
    return audit.diff(before, audit.snapshot(requirement, names))


@transaction.atomic
def requirement_create(
    *,
    actor: User,
    title: str,
    description: str,
    type: str,
    source: str,
    customer: Customer | None = None,
    product: Product | None = None,
    acceptance_criteria: str = "",
    source_reference: str = "",
    priority: str = RequirementPriority.MEDIUM,
    owner: User | None = None,
    target_date: date | None = None,
) -> CustomerRequirement:
    """Record a requirement as a draft with its version 1. The owner defaults to the actor."""
    if not actor.has_perm("requirements.add_customerrequirement"):
        raise PermissionDenied(_("You may not record requirements."))
    if owner is not None and not owner.is_active:
        raise BusinessRuleViolation(_("The owner must be an active user."))
    requirement = CustomerRequirement(customer=customer, owner=owner or actor, created_by=actor, version=1)
    data = {
        "title": title,
        "description": description,
        "type": type,
        "source": source,
        "product": product,
        "acceptance_criteria": acceptance_criteria,
        "source_reference": source_reference,
        "priority": priority,
        "target_date": target_date,
    }
    _apply(requirement, data, CONTENT_FIELDS)
    _validate(requirement)
    requirement.save()
    version = RequirementVersion(requirement=requirement, number=1, created_by=actor)
    _snapshot_into(version, requirement)
    version.save()
    version.contributors.add(actor)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=requirement,
        changes={
            **audit.diff({}, audit.snapshot(requirement, ["customer", *CONTENT_FIELDS, "owner", "status"])),
            "version": [None, 1],
        },
    )
    return requirement


@transaction.atomic
def requirement_update(*, requirement_id: int, actor: User, reason: str = "", **data: Any) -> CustomerRequirement:
    """Edit a draft, or a requirement whose change was requested.

    Content edits go into the current version while nobody has reviewed it; the
    first content edit after a review starts version N+1 (linked to the open change
    request, if any). Changing only the owner starts no version.
    """
    unknown = set(data) - set(CONTENT_FIELDS) - set(MANAGEMENT_FIELDS)
    if unknown:
        raise TypeError(f"requirement_update: unknown fields {sorted(unknown)}")
    requirement = _lock(requirement_id)
    _check_can_change(requirement, actor)
    if not requirement.is_editable:
        raise BusinessRuleViolation(
            _("A requirement can be edited only as a draft or after a change was requested (it is %(status)s).")
            % {"status": requirement.get_status_display()}
        )
    if "owner" in data and (data["owner"] is None or not data["owner"].is_active):
        raise BusinessRuleViolation(_("The owner must be an active user."))
    content_changes = _apply(requirement, data, CONTENT_FIELDS)
    changes = {**content_changes, **_apply(requirement, data, MANAGEMENT_FIELDS)}
    if not changes:
        return requirement
    _validate(requirement)
    if content_changes:
        version = RequirementVersion.objects.select_for_update().get(
            requirement=requirement, number=requirement.version
        )
        if version.reviews.exists():
            previous = requirement.version
            requirement.version = previous + 1
            version = RequirementVersion(
                requirement=requirement,
                number=requirement.version,
                created_by=actor,
                change_request=(
                    requirement.change_requests.order_by("-requested_at", "-id").first()
                    if requirement.status == Status.CHANGE_REQUESTED
                    else None
                ),
            )
            changes["version"] = [previous, requirement.version]
        _snapshot_into(version, requirement)
        version.save()
        version.contributors.add(actor)
    requirement.save()
    audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=requirement, changes=changes, reason=reason.strip())
    return requirement


def _transition(
    requirement: CustomerRequirement,
    *,
    to: str,
    actor: User,
    reason: str = "",
    extra: Mapping[str, list[Any]] | None = None,
    fields: Iterable[str] = (),
) -> CustomerRequirement:
    requirement.check_transition(to)
    before = requirement.status
    requirement.status = to
    requirement.save(update_fields=["status", *fields, "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=requirement,
        changes={"status": [before, to], **(extra or {})},
        reason=reason,
    )
    return requirement


@transaction.atomic
def requirement_submit(*, requirement_id: int, actor: User, reason: str = "") -> CustomerRequirement:
    """Send a draft or a changed requirement to review; the review clock starts now."""
    requirement = _lock(requirement_id)
    _check_can_change(requirement, actor)
    requirement.check_transition(Status.IN_REVIEW)
    requirement.submitted_at = timezone.now()
    return _transition(
        requirement,
        to=Status.IN_REVIEW,
        actor=actor,
        reason=reason.strip(),
        extra={"submitted_version": [None, requirement.version]},
        fields=["submitted_at"],
    )


def four_eyes_conflict(*, requirement: CustomerRequirement, version: RequirementVersion, user: User) -> bool:
    """True when REQUIREMENTS_FOUR_EYES is on and `user` wrote the requirement or any of this version."""
    if not four_eyes():
        return False
    return user.pk == requirement.created_by_id or version.contributors.filter(pk=user.pk).exists()


@transaction.atomic
def requirement_review(
    *,
    requirement_id: int,
    actor: User,
    decision: str,
    can_meet: bool,
    conditions: str = "",
    notes: str = "",
) -> RequirementReview:
    """Review the version in review before commitment (8.2.3): accept or reject it.

    Only a holder of `requirements.review_customerrequirement` may (PermissionDenied).
    Accepting needs `can_meet`; rejecting needs notes saying why. With
    REQUIREMENTS_FOUR_EYES on, the requirement's author and whoever wrote the
    version under review may not review it. Writes the review row, the
    transition to accepted/rejected, and an audit entry for each.
    """
    if not actor.is_active or not actor.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied(_("You may not review requirements."))
    if decision not in RequirementReview.Decision.values:
        raise BusinessRuleViolation(_("The decision must be accept or reject."))
    conditions, notes = (conditions or "").strip(), (notes or "").strip()
    if decision == RequirementReview.Decision.ACCEPT and not can_meet:
        raise BusinessRuleViolation(_("A requirement the organisation cannot meet must be rejected, not accepted."))
    if decision == RequirementReview.Decision.REJECT:
        _require_reason(notes, _("A rejection needs a reason in the notes."))
    requirement = _lock(requirement_id)
    to = Status.ACCEPTED if decision == RequirementReview.Decision.ACCEPT else Status.REJECTED
    requirement.check_transition(to)
    version = RequirementVersion.objects.get(requirement=requirement, number=requirement.version)
    if four_eyes_conflict(requirement=requirement, version=version, user=actor):
        raise BusinessRuleViolation(
            _("Four eyes: you wrote this requirement or its version %(n)s, so someone else must review it.")
            % {"n": version.number}
        )
    review = RequirementReview.objects.create(
        requirement=requirement,
        version=version,
        reviewer=actor,
        reviewed_at=timezone.now(),
        decision=decision,
        can_meet=can_meet,
        conditions=conditions,
        notes=notes,
    )
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=review,
        changes={
            "requirement": [None, requirement.pk],
            "version": [None, version.number],
            "decision": [None, decision],
            "can_meet": [None, can_meet],
            "conditions": [None, conditions],
            "notes": [None, notes],
        },
    )
    _transition(
        requirement,
        to=to,
        actor=actor,
        reason=notes,
        extra={"review": [None, review.pk], "can_meet": [None, can_meet], "conditions": [None, conditions]},
    )
    return review


@transaction.atomic
def requirement_request_change(
    *,
    requirement_id: int,
    actor: User,
    reason: str,
    informed: str = "",
    informed_users: Iterable[User] = (),
) -> RequirementChangeRequest:
    """Open a change to an accepted requirement (8.2.4), saying why and who was informed.

    The requirement becomes editable again; its next content edit starts a new version.
    """
    reason = _require_reason(reason, _("A change request needs a reason."))
    requirement = _lock(requirement_id)
    _check_can_change(requirement, actor)
    requirement.check_transition(Status.CHANGE_REQUESTED)
    users = sorted({user.pk: user for user in informed_users}.values(), key=lambda user: user.pk)
    change = RequirementChangeRequest.objects.create(
        requirement=requirement,
        from_version=requirement.version,
        reason=reason,
        informed=(informed or "").strip(),
        requested_by=actor,
        requested_at=timezone.now(),
    )
    change.informed_users.set(users)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=change,
        changes={
            "requirement": [None, requirement.pk],
            "from_version": [None, requirement.version],
            "informed": [None, change.informed],
            "informed_users": [None, [user.pk for user in users]],
        },
        reason=reason,
    )
    _transition(
        requirement,
        to=Status.CHANGE_REQUESTED,
        actor=actor,
        reason=reason,
        extra={
            "change_request": [None, change.pk],
            "informed": [None, change.informed],
            "informed_users": [None, [user.pk for user in users]],
        },
    )
    return change


@transaction.atomic
def requirement_rework(*, requirement_id: int, actor: User, reason: str = "") -> CustomerRequirement:
    """Take a rejected requirement back to draft to rework it; its next edit starts a new version."""
    requirement = _lock(requirement_id)
    _check_can_change(requirement, actor)
    return _transition(requirement, to=Status.DRAFT, actor=actor, reason=reason.strip())


@transaction.atomic
def requirement_withdraw(*, requirement_id: int, actor: User, reason: str) -> CustomerRequirement:
    """Withdraw a requirement for good (the customer dropped it, it was recorded in error…)."""
    reason = _require_reason(reason, _("Withdrawing needs a reason."))
    requirement = _lock(requirement_id)
    _check_can_change(requirement, actor)
    return _transition(requirement, to=Status.WITHDRAWN, actor=actor, reason=reason)
