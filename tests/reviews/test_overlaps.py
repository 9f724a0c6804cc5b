"""Reviews whose periods overlap (#24): an open action decided at an earlier review is carried
into every later review while it is open, whatever the periods; a new period that overlaps
another review's is planned with a warning, and the very same period twice is refused."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from apps.core.exceptions import BusinessRuleViolation
from apps.reviews import services
from apps.reviews.models import ManagementReview
from tests.reviews.conftest import compiled, make_review, run_jobs

pytestmark = pytest.mark.django_db
# (period start, period end, meeting)
Q1 = (date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 6))
H1 = (date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 6))


def _decide_and_close(qm, owner, review, held_on):
    compiled(qm, review)
    decision = services.decision_add(
        review_id=review.pk,
        actor=qm,
        kind="improvement",
        text="Shorten the response time to complaints.",
        action_title="Add a second complaint handler",
        action_owner=owner,
        action_due=timezone.localdate(),
    )
    services.review_hold(review_id=review.pk, actor=qm, held_on=held_on, attendees="QM")
    services.review_close(review_id=review.pk, actor=qm)
    run_jobs(review)
    return decision.action


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        # The same start: a half-year review after a quarterly one.
        (Q1, H1),
        # An extraordinary review of March-April, then the regular review of the first half year.
        ((date(2026, 3, 1), date(2026, 4, 30), date(2026, 5, 4)), H1),
        # Periods that do not overlap still work.
        (Q1, (date(2026, 4, 1), date(2026, 6, 30), date(2026, 7, 6))),
    ],
)
def test_an_open_action_from_an_earlier_review_is_carried_forward_whatever_the_periods(
    quality_manager, staff, earlier, later
):
    first = make_review(quality_manager, start=earlier[0], end=earlier[1], meeting=earlier[2], title="First")
    action = _decide_and_close(quality_manager, staff, first, earlier[2])

    following = make_review(quality_manager, start=later[0], end=later[1], meeting=later[2], title="Following")
    report = compiled(quality_manager, following)
    rows = report.snapshot.data["actions_from_previous_reviews"]
    assert [(r["review"], r["reference"]) for r in rows] == [(first.reference, action.reference)]
    assert report.snapshot.data["previous_review"]["reference"] == first.reference


def test_the_previous_review_is_the_last_meeting_not_the_latest_period(quality_manager, staff):
    """A half-year review held in July follows an extraordinary March-April review held in May:
    the next review compares with the July one, and follows up the actions of both."""
    extraordinary = make_review(
        quality_manager, start=date(2026, 3, 1), end=date(2026, 4, 30), meeting=date(2026, 5, 4), title="Recall"
    )
    first_action = _decide_and_close(quality_manager, staff, extraordinary, date(2026, 5, 4))
    half_year = make_review(quality_manager, start=H1[0], end=H1[1], meeting=H1[2], title="Half year")
    second_action = _decide_and_close(quality_manager, staff, half_year, date(2026, 7, 6))

    third = make_review(quality_manager, start=date(2026, 7, 1), end=date(2026, 9, 30), meeting=date(2026, 10, 5))
    report = compiled(quality_manager, third)
    assert report.snapshot.data["previous_review"]["reference"] == half_year.reference
    rows = report.snapshot.data["actions_from_previous_reviews"]
    assert [(r["review"], r["reference"]) for r in rows] == [
        (extraordinary.reference, first_action.reference),
        (half_year.reference, second_action.reference),
    ]


def test_the_very_same_period_twice_is_refused(quality_manager):
    first = make_review(quality_manager, start=date(2026, 1, 1), end=date(2026, 3, 31))
    with pytest.raises(BusinessRuleViolation, match=first.reference):
        make_review(quality_manager, start=date(2026, 1, 1), end=date(2026, 3, 31))
    other = make_review(quality_manager, start=date(2026, 4, 1), end=date(2026, 6, 30))
    with pytest.raises(BusinessRuleViolation, match=first.reference):
        services.review_update(
            review_id=other.pk, actor=quality_manager, period_start=date(2026, 1, 1), period_end=date(2026, 3, 31)
        )
    assert ManagementReview.objects.count() == 2


def _form(start, end, chair):
    return {
        "title": "Half-year review",
        "period_start": start,
        "period_end": end,
        "meeting_date": "2026-07-06",
        "chair": chair.pk,
        "attendees": "",
        "distribution": "",
    }


def test_the_form_warns_when_a_new_period_overlaps_another_review(clients, quality_manager):
    existing = make_review(quality_manager, start=date(2026, 1, 1), end=date(2026, 3, 31))
    client = clients["quality_manager"]
    response = client.post("/reviews/new/", _form("2026-03-01", "2026-06-30", quality_manager))
    assert response.status_code == 302
    warnings = [m for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert len(warnings) == 1
    assert existing.reference in str(warnings[0])
    assert "2026-01-01" in str(warnings[0])
    page = client.get(response["Location"])
    assert existing.reference in page.content.decode()

    calm = client.post("/reviews/new/", _form("2026-07-01", "2026-09-30", quality_manager))
    assert calm.status_code == 302
    assert not [m for m in get_messages(calm.wsgi_request) if m.level_tag == "warning"]


def test_the_form_refuses_an_exact_duplicate_with_a_message(clients, quality_manager):
    existing = make_review(quality_manager, start=date(2026, 1, 1), end=date(2026, 3, 31))
    response = clients["quality_manager"].post("/reviews/new/", _form("2026-01-01", "2026-03-31", quality_manager))
    assert response.status_code == 200
    assert existing.reference in response.content.decode()
    assert ManagementReview.objects.count() == 1
