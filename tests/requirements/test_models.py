from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from apps.core.exceptions import InvalidTransition
from apps.requirements.models import CustomerRequirement, RequirementReview, RequirementVersion
from apps.requirements.selectors import text_diff, version_diff
from tests.requirements.factories import RequirementFactory

Status = CustomerRequirement.Status

ALLOWED = {
    (Status.DRAFT, Status.IN_REVIEW),
    (Status.DRAFT, Status.WITHDRAWN),
    (Status.IN_REVIEW, Status.ACCEPTED),
    (Status.IN_REVIEW, Status.REJECTED),
    (Status.IN_REVIEW, Status.WITHDRAWN),
    (Status.ACCEPTED, Status.CHANGE_REQUESTED),
    (Status.ACCEPTED, Status.WITHDRAWN),
    (Status.CHANGE_REQUESTED, Status.IN_REVIEW),
    (Status.CHANGE_REQUESTED, Status.WITHDRAWN),
    (Status.REJECTED, Status.DRAFT),
    (Status.REJECTED, Status.WITHDRAWN),
}
ALL_PAIRS = [(a, b) for a in Status.values for b in Status.values]


@pytest.mark.parametrize(("current", "to"), ALL_PAIRS)
def test_the_guard_allows_exactly_the_documented_transitions(current, to):
    requirement = CustomerRequirement(status=current, title="x")
    if (current, to) in ALLOWED:
        requirement.check_transition(to)
        assert requirement.can_transition(to)
    else:
        with pytest.raises(InvalidTransition):
            requirement.check_transition(to)
        assert not requirement.can_transition(to)


def test_withdrawn_is_the_only_final_state():
    assert [status for status in Status.values if CustomerRequirement(status=status).is_final] == [Status.WITHDRAWN]


def test_only_drafts_and_requested_changes_are_editable():
    editable = [status for status in Status.values if CustomerRequirement(status=status).is_editable]
    assert editable == [Status.DRAFT, Status.CHANGE_REQUESTED]


@pytest.mark.parametrize(
    ("persona", "owns_it", "expected"),
    [
        ("staff", False, True),  # staff created it
        ("other_staff", True, True),
        ("other_staff", False, False),
        ("quality_manager", False, True),
        ("auditor", False, False),
        ("anonymous", False, False),
    ],
)
def test_object_rule_lets_staff_change_only_what_they_own_or_created(
    request, staff, customer, persona, owns_it, expected
):
    user = request.getfixturevalue(persona)
    requirement = RequirementFactory(created_by=staff, owner=user if owns_it else staff, customer=customer)
    assert requirement.can_be_changed_by(user) is expected


def test_review_is_overdue_after_the_configured_days(make_requirement, settings):
    settings.REQUIREMENTS_REVIEW_DUE_DAYS = 3
    fresh = make_requirement(Status.IN_REVIEW)
    old = make_requirement(Status.IN_REVIEW)
    CustomerRequirement.objects.filter(pk=old.pk).unaudited_update(submitted_at=timezone.now() - timedelta(days=4))
    make_requirement(Status.DRAFT)

    assert list(CustomerRequirement.objects.review_overdue()) == [CustomerRequirement.objects.get(pk=old.pk)]
    assert CustomerRequirement.objects.get(pk=old.pk).is_review_overdue
    assert not CustomerRequirement.objects.get(pk=fresh.pk).is_review_overdue


def test_reference_is_padded_and_stable(draft):
    assert draft.reference == f"REQ-{draft.pk:05d}"
    assert str(draft) == f"{draft.reference} Deliver within 48 hours"


def test_database_refuses_an_accepting_review_that_cannot_be_met(make_requirement, quality_manager):
    requirement = make_requirement(Status.IN_REVIEW)
    version = requirement.versions.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        RequirementReview.objects.create(
            requirement=requirement, version=version, reviewer=quality_manager, decision="accept", can_meet=False
        )


def test_database_freezes_a_reviewed_version_and_keeps_reviews(make_requirement):
    requirement = make_requirement(Status.ACCEPTED)
    version = requirement.versions.get()
    version.title = "Rewritten behind the reviewer's back"
    with pytest.raises(DatabaseError, match="reviewed and cannot change"), transaction.atomic():
        version.save()
    review = requirement.reviews.get()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        review.delete()
    assert RequirementVersion.objects.get(pk=version.pk).title == requirement.title


def test_database_lets_an_unreviewed_version_be_edited(draft):
    version = draft.versions.get()
    version.title = "Still being written"
    version.save()
    assert RequirementVersion.objects.get(pk=version.pk).title == "Still being written"


def test_bulk_writes_on_requirements_are_refused(draft):
    from apps.audit.models import AuditBypassError

    with pytest.raises(AuditBypassError):
        CustomerRequirement.objects.filter(pk=draft.pk).update(status=Status.ACCEPTED)


def test_text_diff_marks_added_and_removed_words():
    segments = text_diff("Deliver within 48 hours.", "Deliver within 24 hours, weekends too.")
    assert [(s.op, s.text) for s in segments] == [
        ("equal", "Deliver within "),
        ("delete", "48 "),
        ("insert", "24 "),
        ("equal", "hours"),
        ("insert", ", weekends too"),
        ("equal", "."),
    ]


def test_version_diff_lists_only_changed_fields():
    older = RequirementVersion(number=1, title="A", description="same", type="stated", source="order", priority="low")
    newer = RequirementVersion(
        number=2, title="A", description="same", type="regulatory", source="order", priority="low"
    )
    changes = version_diff(older, newer)
    assert [(c.name, c.before, c.after) for c in changes] == [("type", "Stated by the customer", "Regulatory")]
