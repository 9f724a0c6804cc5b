import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.requirements import demo, selectors, services
from apps.requirements.models import (
    CustomerRequirement,
    RequirementChangeRequest,
    RequirementReview,
    RequirementVersion,
)
from tests.requirements.factories import CustomerFactory, RequirementFactory

Status = CustomerRequirement.Status

# action: (service call, the status it leads to, the reason the audit entry must carry)
ACTIONS = {
    "submit": (
        lambda r, staff, qm: services.requirement_submit(requirement_id=r.pk, actor=staff),
        Status.IN_REVIEW,
        "",
    ),
    "accept": (
        lambda r, staff, qm: services.requirement_review(
            requirement_id=r.pk, actor=qm, decision="accept", can_meet=True, conditions="Holidays excluded"
        ),
        Status.ACCEPTED,
        "",
    ),
    "reject": (
        lambda r, staff, qm: services.requirement_review(
            requirement_id=r.pk, actor=qm, decision="reject", can_meet=False, notes="No capacity"
        ),
        Status.REJECTED,
        "No capacity",
    ),
    "request_change": (
        lambda r, staff, qm: services.requirement_request_change(
            requirement_id=r.pk, actor=staff, reason="Customer wants PDF certificates", informed="Purchasing"
        ),
        Status.CHANGE_REQUESTED,
        "Customer wants PDF certificates",
    ),
    "rework": (lambda r, staff, qm: services.requirement_rework(requirement_id=r.pk, actor=staff), Status.DRAFT, ""),
    "withdraw": (
        lambda r, staff, qm: services.requirement_withdraw(requirement_id=r.pk, actor=staff, reason="Order cancelled"),
        Status.WITHDRAWN,
        "Order cancelled",
    ),
}
ALLOWED = {
    (Status.DRAFT, "submit"),
    (Status.DRAFT, "withdraw"),
    (Status.IN_REVIEW, "accept"),
    (Status.IN_REVIEW, "reject"),
    (Status.IN_REVIEW, "withdraw"),
    (Status.ACCEPTED, "request_change"),
    (Status.ACCEPTED, "withdraw"),
    (Status.REJECTED, "rework"),
    (Status.REJECTED, "withdraw"),
    (Status.CHANGE_REQUESTED, "submit"),
    (Status.CHANGE_REQUESTED, "withdraw"),
}


def _entries(requirement) -> list[AuditEntry]:
    return list(AuditEntry.objects.for_object(requirement).order_by("seq"))


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("start", Status.values)
def test_every_transition_is_allowed_or_refused_as_documented(make_requirement, staff, quality_manager, start, action):
    requirement = make_requirement(start)
    call, to, reason = ACTIONS[action]
    before = _entries(requirement)
    reviews = RequirementReview.objects.count()

    if (start, action) in ALLOWED:
        call(requirement, staff, quality_manager)
        requirement.refresh_from_db()
        assert requirement.status == to
        entry = AuditEntry.objects.for_object(requirement).filter(action=AuditEntry.Action.TRANSITION).latest("seq")
        assert entry.changes["status"] == [start, to]
        assert entry.reason == reason
        assert entry.actor in (staff, quality_manager)
    else:
        with pytest.raises(InvalidTransition):
            call(requirement, staff, quality_manager)
        requirement.refresh_from_db()
        assert requirement.status == start
        assert _entries(requirement) == before
        assert RequirementReview.objects.count() == reviews


def test_create_records_a_draft_with_version_one_and_an_audit_entry(staff, customer):
    requirement = RequirementFactory(created_by=staff, customer=customer, title="PVC-free packaging")

    assert (requirement.status, requirement.version, requirement.owner, requirement.created_by) == (
        Status.DRAFT,
        1,
        staff,
        staff,
    )
    version = requirement.versions.get()
    assert (version.number, version.title, version.created_by) == (1, "PVC-free packaging", staff)
    assert list(version.contributors.all()) == [staff]
    (entry,) = _entries(requirement)
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.changes["title"] == [None, "PVC-free packaging"]
    assert entry.changes["customer"] == [None, customer.pk]
    assert entry.changes["version"] == [None, 1]


def test_a_general_requirement_has_no_customer(staff):
    requirement = RequirementFactory(created_by=staff, customer=None, type="regulatory", source="regulation")
    assert requirement.customer is None


def test_auditors_cannot_create(auditor, customer):
    with pytest.raises(PermissionDenied):
        RequirementFactory(created_by=auditor, customer=customer)
    assert not CustomerRequirement.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("type", "wishful"), ("source", "rumour"), ("priority", "urgent"), ("title", "")]
)
def test_invalid_content_is_refused_and_nothing_is_written(staff, customer, field, value):
    with pytest.raises(ValidationError):
        RequirementFactory(created_by=staff, customer=customer, **{field: value})
    assert not CustomerRequirement.objects.exists()
    assert not RequirementVersion.objects.exists()


# Reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "call"),
    [
        (
            Status.IN_REVIEW,
            lambda r, staff, qm: services.requirement_review(
                requirement_id=r.pk, actor=qm, decision="reject", can_meet=False, notes="  "
            ),
        ),
        (Status.DRAFT, lambda r, staff, qm: services.requirement_withdraw(requirement_id=r.pk, actor=staff, reason="")),
        (
            Status.ACCEPTED,
            lambda r, staff, qm: services.requirement_request_change(requirement_id=r.pk, actor=staff, reason=" "),
        ),
    ],
    ids=["reject", "withdraw", "request_change"],
)
def test_reject_withdraw_and_change_request_need_a_reason(make_requirement, staff, quality_manager, start, call):
    requirement = make_requirement(start)
    entries = _entries(requirement)
    with pytest.raises(BusinessRuleViolation):
        call(requirement, staff, quality_manager)
    requirement.refresh_from_db()
    assert requirement.status == start
    assert _entries(requirement) == entries


# Review (8.2.3) -------------------------------------------------------------------------


def test_review_records_who_what_when_and_the_ability_to_meet(make_requirement, quality_manager):
    requirement = make_requirement(Status.IN_REVIEW)
    review = services.requirement_review(
        requirement_id=requirement.pk,
        actor=quality_manager,
        decision="accept",
        can_meet=True,
        conditions="Public holidays excluded, agreed with the buyer",
        notes="Capacity checked with logistics",
    )
    assert (review.reviewer, review.version.number, review.decision, review.can_meet) == (
        quality_manager,
        1,
        "accept",
        True,
    )
    assert review.reviewed_at is not None
    review_entry = AuditEntry.objects.for_object(review).get()
    assert review_entry.changes["decision"] == [None, "accept"]
    transition = AuditEntry.objects.for_object(requirement).latest("seq")
    assert transition.changes["review"] == [None, review.pk]
    assert transition.reason == "Capacity checked with logistics"


def test_accepting_needs_the_ability_to_meet_the_requirement(make_requirement, quality_manager):
    requirement = make_requirement(Status.IN_REVIEW)
    with pytest.raises(BusinessRuleViolation, match="cannot meet"):
        services.requirement_review(
            requirement_id=requirement.pk, actor=quality_manager, decision="accept", can_meet=False
        )
    assert not RequirementReview.objects.exists()
    requirement.refresh_from_db()
    assert requirement.status == Status.IN_REVIEW


def test_unknown_decision_is_refused(make_requirement, quality_manager):
    requirement = make_requirement(Status.IN_REVIEW)
    with pytest.raises(BusinessRuleViolation):
        services.requirement_review(
            requirement_id=requirement.pk, actor=quality_manager, decision="maybe", can_meet=True
        )


@pytest.mark.parametrize(("with_permission", "allowed"), [(False, False), (True, True)])
def test_review_needs_the_review_permission_not_a_role(
    make_requirement, other_staff, grant_review, with_permission, allowed
):
    requirement = make_requirement(Status.IN_REVIEW)
    reviewer = grant_review(other_staff) if with_permission else other_staff
    call = lambda: services.requirement_review(  # noqa: E731
        requirement_id=requirement.pk, actor=reviewer, decision="accept", can_meet=True
    )
    if allowed:
        call()
    else:
        with pytest.raises(PermissionDenied):
            call()
    requirement.refresh_from_db()
    assert requirement.status == (Status.ACCEPTED if allowed else Status.IN_REVIEW)


@pytest.mark.parametrize(("four_eyes", "allowed"), [(True, False), (False, True)])
def test_four_eyes_stop_the_author_approving_their_own(make_requirement, quality_manager, settings, four_eyes, allowed):
    settings.REQUIREMENTS_FOUR_EYES = four_eyes
    requirement = make_requirement(Status.IN_REVIEW, author=quality_manager)
    call = lambda: services.requirement_review(  # noqa: E731
        requirement_id=requirement.pk, actor=quality_manager, decision="accept", can_meet=True
    )
    if allowed:
        call()
    else:
        with pytest.raises(BusinessRuleViolation, match="Four eyes"):
            call()
    requirement.refresh_from_db()
    assert requirement.status == (Status.ACCEPTED if allowed else Status.IN_REVIEW)


@pytest.mark.parametrize(("four_eyes", "allowed"), [(True, False), (False, True)])
def test_four_eyes_stop_whoever_wrote_the_version_under_review(
    make_requirement, staff, quality_manager, settings, four_eyes, allowed
):
    settings.REQUIREMENTS_FOUR_EYES = four_eyes
    requirement = make_requirement(Status.DRAFT)  # by staff
    services.requirement_update(requirement_id=requirement.pk, actor=quality_manager, title="Sharpened by the QM")
    services.requirement_submit(requirement_id=requirement.pk, actor=staff)
    call = lambda: services.requirement_review(  # noqa: E731
        requirement_id=requirement.pk, actor=quality_manager, decision="reject", can_meet=False, notes="No"
    )
    if allowed:
        call()
    else:
        with pytest.raises(BusinessRuleViolation, match="Four eyes"):
            call()


def test_four_eyes_let_an_earlier_contributor_review_a_later_version(make_requirement, staff, quality_manager):
    """The QM who reviewed v1 and requested the change may review v2 written by staff."""
    requirement = make_requirement(Status.CHANGE_REQUESTED)
    services.requirement_update(requirement_id=requirement.pk, actor=staff, description="Now 24 hours")
    services.requirement_submit(requirement_id=requirement.pk, actor=staff)
    review = services.requirement_review(
        requirement_id=requirement.pk, actor=quality_manager, decision="accept", can_meet=True
    )
    assert review.version.number == 2


# Versions (8.2.4) -----------------------------------------------------------------------


def test_edits_to_an_unreviewed_draft_update_version_one(draft, staff):
    services.requirement_update(requirement_id=draft.pk, actor=staff, title="Deliver within 24 hours", reason="typo")
    services.requirement_update(requirement_id=draft.pk, actor=staff, priority="high")
    draft.refresh_from_db()
    assert draft.version == 1
    version = draft.versions.get()
    assert (version.title, version.priority) == ("Deliver within 24 hours", "high")
    updates = AuditEntry.objects.for_object(draft).filter(action=AuditEntry.Action.UPDATE).order_by("seq")
    assert [entry.changes for entry in updates] == [
        {"title": ["Deliver within 48 hours", "Deliver within 24 hours"]},
        {"priority": ["medium", "high"]},
    ]
    assert updates[0].reason == "typo"


def test_after_a_review_the_next_edit_starts_a_new_version_and_the_old_one_stays(
    make_requirement, staff, quality_manager
):
    requirement = make_requirement(Status.CHANGE_REQUESTED, title="Certificates on paper")
    change = requirement.change_requests.get()

    services.requirement_update(
        requirement_id=requirement.pk, actor=staff, title="Certificates as PDF", reason="Customer request"
    )
    services.requirement_update(requirement_id=requirement.pk, actor=staff, acceptance_criteria="Same day")

    requirement.refresh_from_db()
    assert requirement.version == 2
    v1, v2 = requirement.versions.order_by("number")
    assert v1.title == "Certificates on paper"
    assert (v2.title, v2.acceptance_criteria, v2.created_by, v2.change_request) == (
        "Certificates as PDF",
        "Same day",
        staff,
        change,
    )
    entry = AuditEntry.objects.for_object(requirement).filter(action=AuditEntry.Action.UPDATE).earliest("seq")
    assert entry.changes["version"] == [1, 2]
    diff = selectors.version_diff(v1, v2)
    assert {change.name for change in diff} == {"title", "acceptance_criteria"}


def test_rework_after_rejection_writes_a_new_version_on_the_first_edit(make_requirement, staff):
    requirement = make_requirement(Status.REJECTED)
    services.requirement_rework(requirement_id=requirement.pk, actor=staff, reason="Renegotiated")
    services.requirement_update(requirement_id=requirement.pk, actor=staff, description="Next working day")
    requirement.refresh_from_db()
    assert (requirement.status, requirement.version) == (Status.DRAFT, 2)
    assert requirement.versions.get(number=2).change_request is None


def test_changing_only_the_owner_starts_no_version(make_requirement, staff, other_staff):
    requirement = make_requirement(Status.CHANGE_REQUESTED)
    services.requirement_update(requirement_id=requirement.pk, actor=staff, owner=other_staff)
    requirement.refresh_from_db()
    assert (requirement.owner, requirement.version) == (other_staff, 1)


def test_saving_unchanged_content_writes_nothing(draft, staff):
    entries = _entries(draft)
    services.requirement_update(requirement_id=draft.pk, actor=staff, title=draft.title)
    assert _entries(draft) == entries


@pytest.mark.parametrize("start", [Status.IN_REVIEW, Status.ACCEPTED, Status.REJECTED, Status.WITHDRAWN])
def test_only_drafts_and_requested_changes_can_be_edited(make_requirement, staff, start):
    requirement = make_requirement(start)
    with pytest.raises(BusinessRuleViolation):
        services.requirement_update(requirement_id=requirement.pk, actor=staff, title="Sneaky")
    assert CustomerRequirement.objects.get(pk=requirement.pk).title != "Sneaky"


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("staff", True), ("other_staff", False), ("quality_manager", True), ("auditor", False)],
)
def test_staff_edit_only_their_own_requirements(request, draft, persona, allowed):
    actor = request.getfixturevalue(persona)
    call = lambda: services.requirement_update(requirement_id=draft.pk, actor=actor, title="Edited")  # noqa: E731
    if allowed:
        call()
    else:
        with pytest.raises(PermissionDenied):
            call()
    assert (CustomerRequirement.objects.get(pk=draft.pk).title == "Edited") is allowed


def test_the_owner_may_edit_what_someone_else_created(staff, other_staff, customer):
    requirement = RequirementFactory(created_by=staff, owner=other_staff, customer=customer)
    services.requirement_update(requirement_id=requirement.pk, actor=other_staff, title="Owner's edit")
    assert CustomerRequirement.objects.get(pk=requirement.pk).title == "Owner's edit"


@pytest.mark.parametrize("persona", ["other_staff", "auditor"])
def test_other_users_cannot_move_someone_elses_requirement(request, draft, persona):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        services.requirement_submit(requirement_id=draft.pk, actor=actor)
    with pytest.raises(PermissionDenied):
        services.requirement_withdraw(requirement_id=draft.pk, actor=actor, reason="mine now")
    assert CustomerRequirement.objects.get(pk=draft.pk).status == Status.DRAFT


def test_change_request_records_reason_and_people_informed(make_requirement, staff, other_staff, quality_manager):
    requirement = make_requirement(Status.ACCEPTED)
    change = services.requirement_request_change(
        requirement_id=requirement.pk,
        actor=staff,
        reason="Customer moved to e-invoicing",
        informed="Buyer at the customer",
        informed_users=[other_staff, quality_manager, other_staff],
    )
    assert (change.from_version, change.reason, change.informed, change.requested_by) == (
        1,
        "Customer moved to e-invoicing",
        "Buyer at the customer",
        staff,
    )
    assert set(change.informed_users.all()) == {other_staff, quality_manager}
    transition = AuditEntry.objects.for_object(requirement).latest("seq")
    assert transition.changes["informed_users"] == [None, sorted([other_staff.pk, quality_manager.pk])]
    assert RequirementChangeRequest.objects.count() == 1


# Selectors and demo ----------------------------------------------------------------------


def test_for_customer_lists_only_that_customers_requirements(staff, customer):
    mine = RequirementFactory(created_by=staff, customer=customer)
    RequirementFactory(created_by=staff, customer=CustomerFactory())
    RequirementFactory(created_by=staff, customer=None)
    assert list(selectors.for_customer(customer)) == [mine]


def test_visible_to_hides_everything_from_users_without_the_view_permission(draft, staff):
    from tests.factories import UserFactory

    assert list(CustomerRequirement.objects.visible_to(staff)) == [draft]
    assert not CustomerRequirement.objects.visible_to(UserFactory()).exists()
    assert not CustomerRequirement.objects.visible_to(None).exists()


@pytest.mark.parametrize("with_customers", [True, False])
def test_demo_load_is_idempotent_and_covers_every_state(staff, quality_manager, auditor, with_customers):
    if with_customers:
        CustomerFactory(name="Demo One")
        CustomerFactory(name="Demo Two")
    users = {"quality_manager": quality_manager, "staff": staff, "auditor": auditor}
    demo.load(users)
    count, entries = CustomerRequirement.objects.count(), AuditEntry.objects.count()
    demo.load(users)

    assert (CustomerRequirement.objects.count(), AuditEntry.objects.count()) == (count, entries)
    assert set(CustomerRequirement.objects.values_list("status", flat=True)) == set(Status.values)
    assert CustomerRequirement.objects.filter(customer__isnull=True).exists()
    assert CustomerRequirement.objects.filter(customer__isnull=False).exists() is with_customers
    changed = CustomerRequirement.objects.get(status=Status.CHANGE_REQUESTED)
    assert changed.versions.count() == 2
    assert RequirementReview.objects.filter(requirement__status=Status.ACCEPTED).exists()
