"""A closed complaint is a record: only a reopen (with its reason) changes it, and a severity change never
moves the deadline of a stage that has already started or finished (#22 §9)."""

import pytest

from apps.audit.models import AuditEntry
from apps.complaints import services
from apps.complaints.models import Complaint

pytestmark = pytest.mark.django_db
Status = Complaint.Status
DUE = ["ack_due_at", "assess_due_at", "respond_due_at", "close_due_at"]


def _due(complaint) -> dict:
    complaint.refresh_from_db()
    return {name: getattr(complaint, name) for name in DUE}


@pytest.fixture
def closed(make, staff):
    return make(status=Status.CLOSED, assignee=staff)  # severity "medium", the default


@pytest.mark.parametrize("change", [{"severity": "low"}, {"root_cause": "Packaging"}, {"resolution": "Refund"}])
def test_the_api_refuses_to_edit_a_closed_complaint(api_clients, closed, change):
    before = _due(closed)
    response = api_clients["staff"].patch(f"/api/v1/complaints/{closed.pk}/", change, format="json")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "conflict"
    assert "reopen it" in response.json()["error"]["message"]
    assert _due(closed) == before
    assert (closed.severity, closed.root_cause, closed.resolution) == ("medium", "", "The part was replaced.")


def test_the_assessment_page_refuses_to_edit_a_closed_complaint(clients, closed):
    before = _due(closed)
    response = clients["staff"].post(
        f"/complaints/{closed.pk}/assess/", {"severity": "low", "root_cause": "Packaging"}, follow=True
    )
    assert response.status_code == 200
    assert "reopen" in " ".join(str(message) for message in response.context["messages"]).lower()
    assert _due(closed) == before
    assert (closed.severity, closed.root_cause) == ("medium", "")


def test_an_external_dispute_is_still_recorded_after_closure(api_clients, closed):
    # ISO 10003: the customer takes the outcome to a dispute body once our handling has ended.
    response = api_clients["staff"].patch(
        f"/api/v1/complaints/{closed.pk}/", {"dispute_body": "Ombudsman", "dispute_date": "2026-01-15"}, format="json"
    )
    assert response.status_code == 200
    closed.refresh_from_db()
    assert closed.dispute_body == "Ombudsman"


def test_a_reopen_needs_a_reason_is_audited_and_then_allows_changes(api_clients, closed):
    url = f"/api/v1/complaints/{closed.pk}/"
    assert api_clients["staff"].post(f"{url}transition/", {"to": "reopened"}, format="json").status_code == 409
    response = api_clients["staff"].post(
        f"{url}transition/", {"to": "reopened", "reason": "The part failed again"}, format="json"
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.for_object(closed).filter(action="transition").order_by("-seq").first()
    assert entry.reason == "The part failed again"
    assert entry.changes["status"] == ["closed", "reopened"]
    assert api_clients["staff"].patch(url, {"severity": "high"}, format="json").status_code == 200


def test_a_severity_change_moves_only_the_deadlines_of_stages_not_yet_started(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)  # acknowledged and assessed: the response stage runs
    before = _due(complaint)
    services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, severity="critical")
    after = _due(complaint)
    assert after["ack_due_at"] == before["ack_due_at"]  # finished
    assert after["assess_due_at"] == before["assess_due_at"]  # finished
    assert after["respond_due_at"] == before["respond_due_at"]  # started when the assessment ended
    assert after["close_due_at"] < before["close_due_at"]  # not started: critical closes sooner


def test_on_a_new_complaint_a_severity_change_keeps_the_running_acknowledgement_deadline(make, quality_manager):
    complaint = make()
    before = _due(complaint)
    services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, severity="critical")
    after = _due(complaint)
    assert after["ack_due_at"] == before["ack_due_at"]
    assert all(after[name] < before[name] for name in ["assess_due_at", "respond_due_at", "close_due_at"])


def test_a_later_step_does_not_move_finished_stages_to_the_new_severity(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    before = _due(complaint)
    services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, severity="critical")
    services.message_add(complaint_id=complaint.pk, actor=quality_manager, body="Replaced.", visibility="customer")
    services.complaint_transition(
        complaint_id=complaint.pk, to=Status.RESPONDED, actor=quality_manager, resolution="Replaced."
    )
    after = _due(complaint)
    assert (after["ack_due_at"], after["assess_due_at"]) == (before["ack_due_at"], before["assess_due_at"])
