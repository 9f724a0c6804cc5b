"""The clause map and its heat map (ISO 9001 7.5): what evidences each clause, month by month."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core import clauses
from apps.evidence.forms import default_period
from apps.evidence.selectors import clause_map
from tests.complaints.factories import make_complaint
from tests.factories import UserFactory

URL = "/evidence/clauses/"


def _at(year: int, month: int, day: int = 15, hour: int = 12) -> datetime:
    """A moment in the organisation's time zone (settings.TIME_ZONE, Europe/Berlin in tests)."""
    return datetime(year, month, day, hour, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture
def sign_ups(monkeypatch):
    """A stand-in record type (users dated by date_joined) evidencing 9.3, which no app covers yet."""
    registry = dict(clauses._evidence)
    monkeypatch.setattr(clauses, "_evidence", registry)
    clauses.register(clauses.Evidence(clause="9.3", model="accounts.user", label="Sign-ups", date_field="date_joined"))

    def make(*moments):
        for moment in moments:
            UserFactory(date_joined=moment)

    return make


def _row(rows, clause):
    return next(row for row in rows if row.clause == clause)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("auditor", 200), ("staff", 403), ("other_staff", 403), ("anonymous", 302)],
)
def test_clause_map_is_for_auditors_and_quality_managers(clients, persona, expected):
    response = clients[persona].get(URL)
    assert response.status_code == expected


@pytest.mark.django_db
def test_counts_records_per_local_month_and_marks_empty_and_thin_months(sign_ups, settings):
    settings.EVIDENCE_THIN_BELOW = 3
    sign_ups(
        _at(2026, 1, 3),
        _at(2026, 1, 20),
        _at(2026, 1, 31, 23),  # 23:00 in Berlin on 31 January is still January
        _at(2026, 3, 1, 0),  # 00:00 in Berlin on 1 March is 23:00 UTC on 28 February
        _at(2026, 4, 1),  # outside the period
    )
    months, rows = clause_map(start=date(2026, 1, 1), end=date(2026, 4, 1))

    assert months == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    review = _row(rows, "9.3")
    sign_up_row = next(row for row in review.rows if row.evidence.label == "Sign-ups")
    assert sign_up_row.by_month == [3, 0, 1]
    assert review.levels == ["ok", "none", "thin"]
    assert (review.total, review.weak_months, review.level) == (4, 2, "thin")


@pytest.mark.django_db
def test_a_clause_without_records_is_listed_as_having_no_evidence(clients):
    response = clients["auditor"].get(URL, {"start": "2026-01-01", "end": "2026-03-31"})
    review = _row(response.context["clause_rows"], "9.3")
    assert (review.total, review.level) == (0, "none")
    content = response.content.decode()
    assert 'data-clause="9.3" data-level="none"' in content
    assert "No evidence" in content


@pytest.mark.django_db
def test_real_complaints_evidence_iso_10002(clients, quality_manager):
    make_complaint(qm=quality_manager)
    make_complaint(qm=quality_manager, status="closed")
    today = timezone.localdate()
    response = clients["auditor"].get(URL, {"start": today.replace(day=1).isoformat(), "end": today.isoformat()})
    iso_10002 = _row(response.context["clause_rows"], "ISO 10002")
    totals = {str(row.evidence.label): row.total for row in iso_10002.rows}
    assert totals["Complaints received"] == 2
    assert totals["Complaints closed"] == 1
    assert reverse("complaints:complaint_list") in response.content.decode()


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_records(clients, sign_ups, django_assert_num_queries):
    params = {"start": "2026-01-01", "end": "2026-12-31"}
    sign_ups(_at(2026, 2, 1))
    clients["auditor"].get(URL, params)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as small:
        clients["auditor"].get(URL, params)
    # One grouped query per registered record type, plus session, user and permissions.
    assert len(small.captured_queries) <= len(clauses.all_evidence()) + 6
    sign_ups(*(_at(2026, month, 2) for month in range(1, 13) for _ in range(5)))
    with django_assert_num_queries(len(small.captured_queries)):
        clients["auditor"].get(URL, params)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-05-01", "end": "2026-04-01"}, "must end on or after"),
        ({"start": "2020-01-01", "end": "2026-04-01"}, "at most 36 months"),
        ({"start": "not a date", "end": "2026-04-01"}, "Enter a valid date"),
    ],
)
def test_a_bad_period_is_explained_and_the_default_shown(clients, params, message):
    response = clients["auditor"].get(URL, params)
    assert response.status_code == 200
    assert message in response.content.decode()
    start, last_day = default_period()
    assert (response.context["period_start"], response.context["period_last_day"]) == (start, last_day)


def test_default_period_is_the_last_twelve_months_including_this_one():
    assert default_period(date(2026, 11, 22)) == (date(2025, 12, 1), date(2026, 11, 22))
    assert default_period(date(2026, 12, 5)) == (date(2026, 1, 1), date(2026, 12, 5))


def test_every_registered_record_type_resolves():
    assert clauses.all_evidence(), "apps register their evidence in AppConfig.ready()"
    for evidence in clauses.all_evidence():
        dated_by_day = evidence.dated_by_day()  # resolves the field, across a relation too
        assert dated_by_day is (evidence.date_field in {"held_on", "review__held_on"}), evidence
        if evidence.url_name:
            reverse(evidence.url_name)
    covered = {evidence.clause for evidence in clauses.all_evidence()}
    assert {"7.5", "8.2.1", "8.2.2", "8.2.3", "8.2.4", "9.1.2", "10.2", "ISO 10002"} <= covered


def test_registering_an_unknown_clause_is_refused():
    with pytest.raises(ValueError, match="Unknown clause"):
        clauses.register(clauses.Evidence(clause="4.4", model="accounts.user", label="x", date_field="date_joined"))


@pytest.mark.django_db
def test_back_filled_records_count_on_their_business_dates(quality_manager):
    """Records entered today about earlier events count in the months the events happened
    (received, responded, closed; a review on the day it was held), not on the day of entry (#24)."""
    from apps.complaints.models import Complaint
    from apps.reviews.models import DecisionKind, ManagementReview, ReviewDecision
    from tests.reviews.conftest import make_review

    made = make_complaint(qm=quality_manager)
    Complaint.objects.filter(pk=made.pk).unaudited_update(
        status="closed", received_at=_at(2026, 2, 5), responded_at=_at(2026, 2, 20), closed_at=_at(2026, 3, 3)
    )
    review = make_review(quality_manager, start=date(2026, 1, 1), end=date(2026, 2, 28), meeting=date(2026, 3, 10))
    ManagementReview.objects.filter(pk=review.pk).unaudited_update(status="held", held_on=date(2026, 3, 10))
    ReviewDecision.objects.create(
        review=review, kind=DecisionKind.IMPROVEMENT, text="Faster replies", created_by=quality_manager
    )

    _months, rows = clause_map(start=date(2026, 1, 1), end=date(2026, 4, 1))

    complaints = {str(row.evidence.label): row.by_month for row in _row(rows, "ISO 10002").rows}
    assert complaints["Complaints received"] == [0, 1, 0]
    assert complaints["Complaints responded"] == [0, 1, 0]
    assert complaints["Complaints closed"] == [0, 0, 1]
    reviews = {str(row.evidence.label): row.by_month for row in _row(rows, "9.3").rows}
    assert reviews["Management reviews held"] == [0, 0, 1]
    assert reviews["Management-review decisions (9.3.3)"] == [0, 0, 1]
