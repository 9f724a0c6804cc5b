"""An action's source is described only to users who may see that source (#22 §9).

Staff see only the complaints assigned to them; an action raised from another complaint must
not tell them its reference, category or product, on the page, in the list or in the API.
"""

import json
from datetime import date

import pytest

from apps.actions import services
from apps.complaints import services as complaints
from apps.reviews import services as reviews
from apps.reviews.models import ReviewDecision
from tests.complaints.factories import make_category, make_complaint
from tests.customers.factories import ProductFactory

HIDDEN = "Complaint (not visible to you)"


@pytest.fixture
def complaint(quality_manager, other_staff):
    """A complaint assigned to `other_staff`, with a category and a product."""
    made = make_complaint(qm=quality_manager, assignee=other_staff, product=ProductFactory(name="Pump HX-7"))
    complaints.complaint_assess(complaint_id=made.pk, actor=quality_manager, category=make_category("Cracked housing"))
    return made


@pytest.fixture
def action(complaint, quality_manager, staff):
    """Raised from the complaint by the quality manager and owned by `staff`, who is not its assignee."""
    return complaints.raise_corrective_action(
        complaint_id=complaint.pk,
        actor=quality_manager,
        title="Stronger packaging",
        nonconformity="Housings crack in transit.",
        owner=staff,
    )


def _secrets(complaint) -> list[str]:
    return [complaint.reference, "Cracked housing", "Pump HX-7"]


@pytest.mark.parametrize(
    ("persona", "sees"), [("quality_manager", True), ("other_staff", True), ("auditor", True), ("staff", False)]
)
def test_the_action_page_describes_the_complaint_only_to_who_may_see_it(clients, action, complaint, persona, sees):
    page = clients[persona].get(f"/actions/{action.pk}/").content.decode()
    assert "Stronger packaging" in page
    for secret in _secrets(complaint):
        assert (secret in page) is sees, secret
    assert (HIDDEN in page) is not sees
    assert (f'href="/complaints/{complaint.pk}/"' in page) is sees
    assert ('data-testid="effectiveness"' in page) is sees


@pytest.mark.parametrize(
    ("persona", "sees"), [("quality_manager", True), ("other_staff", True), ("auditor", True), ("staff", False)]
)
def test_the_action_list_describes_the_complaint_only_to_who_may_see_it(clients, action, complaint, persona, sees):
    page = clients[persona].get("/actions/").content.decode()
    assert "Stronger packaging" in page
    assert (complaint.reference in page) is sees
    assert (HIDDEN in page) is not sees


@pytest.mark.parametrize(
    ("persona", "sees"), [("quality_manager", True), ("other_staff", True), ("auditor", True), ("staff", False)]
)
def test_the_api_describes_the_complaint_only_to_who_may_see_it(api_clients, action, complaint, persona, sees):
    one = api_clients[persona].get(f"/api/v1/actions/{action.pk}/")
    listed = api_clients[persona].get("/api/v1/actions/")
    assert (one.status_code, listed.status_code) == (200, 200)
    (row,) = [row for row in listed.json()["results"] if row["id"] == action.pk]
    for source in (one.json()["source"], row["source"]):
        assert source["type"] == "complaints.complaint"
        assert source["visible"] is sees
        if sees:
            assert (source["id"], source["label"]) == (str(complaint.pk), f"Complaint {complaint.reference}")
        else:
            assert (source["id"], source["label"]) == (None, HIDDEN)
    if not sees:
        assert complaint.reference not in json.dumps([one.json(), listed.json()])


def test_a_manual_action_has_no_source_for_anyone(api_clients, clients, staff):
    manual = services.action_raise(source=None, title="Audit finding 4", nonconformity="N", actor=staff)
    assert api_clients["staff"].get(f"/api/v1/actions/{manual.pk}/").json()["source"] is None
    assert "Raised manually" in clients["staff"].get(f"/actions/{manual.pk}/").content.decode()


@pytest.mark.parametrize(("persona", "sees"), [("quality_manager", True), ("auditor", True), ("staff", False)])
def test_a_management_review_decision_is_described_only_to_who_may_read_reviews(
    clients, api_clients, quality_manager, staff, persona, sees
):
    review = reviews.review_create(
        actor=quality_manager,
        title="Q1 review",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        meeting_date=date(2026, 4, 6),
        chair=quality_manager,
        attendees="Quinn Manager",
        distribution="ceo@example.com",
    )
    decision = ReviewDecision.objects.create(review=review, kind="improvement", text="Hire", created_by=quality_manager)
    action = services.action_raise(
        source=decision, title="Hire a tester", nonconformity="N", actor=quality_manager, owner=staff
    )
    label = f"Decision #{decision.pk} of review #{review.pk}"
    page = clients[persona].get(f"/actions/{action.pk}/").content.decode()
    assert (label in page) is sees
    source = api_clients[persona].get(f"/api/v1/actions/{action.pk}/").json()["source"]
    assert source["visible"] is sees
    assert (source["label"] == label) is sees
