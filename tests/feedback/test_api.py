import pytest

from apps.feedback.models import Feedback
from tests.feedback.factories import FeedbackFactory

Status = Feedback.Status
BASE = "/api/v1/feedback/"


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 200), ("auditor", 200), ("anonymous", 401)]
)
def test_list_and_retrieve_matrix(api_clients, others_feedback, persona, expected):
    assert api_clients[persona].get(BASE).status_code == expected
    assert api_clients[persona].get(f"{BASE}{others_feedback.pk}/").status_code == expected


def test_output_hides_personal_data(api_clients, staff):
    feedback = FeedbackFactory(actor=staff, submitter_name="Pat", submitter_email="pat@example.com")
    body = api_clients["auditor"].get(f"{BASE}{feedback.pk}/").json()
    assert body["reference"] == feedback.reference
    assert "pat@example.com" not in str(body)
    assert "submitter_email" not in body


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 201), ("staff", 201), ("auditor", 403), ("anonymous", 401)]
)
def test_create_records_feedback_for_staff(api_clients, persona, expected, db):
    response = api_clients[persona].post(BASE, {"channel": "email", "text": "Invoice was wrong", "rating": 2})
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["status"] == "new"
        assert response.json()["sentiment"] == "negative"


def test_create_validates_input(api_clients, db):
    response = api_clients["staff"].post(BASE, {"channel": "web_form", "text": "", "rating": 7})
    assert response.status_code == 400
    assert {"channel", "text", "rating"} <= set(response.json()["error"]["fields"])


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 401)]
)
def test_triage_is_reserved_to_quality_managers(api_clients, own_feedback, category, persona, expected):
    response = api_clients[persona].post(f"{BASE}{own_feedback.pk}/triage/", {"category": category.pk})
    assert response.status_code == expected
    assert (Feedback.objects.get(pk=own_feedback.pk).status == Status.TRIAGED) is (expected == 200)


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 401)]
)
def test_close_anothers_feedback_matrix(api_clients, others_feedback, persona, expected):
    assert api_clients[persona].post(f"{BASE}{others_feedback.pk}/close/", {}).status_code == expected


def test_owner_closes_own_and_a_second_close_conflicts(api_clients, own_feedback):
    assert api_clients["staff"].post(f"{BASE}{own_feedback.pk}/close/", {"reason": "ok"}).json()["status"] == "closed"
    response = api_clients["staff"].post(f"{BASE}{own_feedback.pk}/close/", {})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 201), ("staff", 403), ("auditor", 403), ("anonymous", 401)]
)
def test_raise_action_on_anothers_feedback_matrix(api_clients, others_feedback, persona, expected):
    response = api_clients[persona].post(f"{BASE}{others_feedback.pk}/raise_action/", {"title": "Fix"})
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["reference"].startswith("ACT-")


@pytest.mark.parametrize(("persona", "expected"), [("staff", 403), ("auditor", 403), ("anonymous", 401)])
def test_convert_is_refused_to_other_roles(api_clients, own_feedback, persona, expected):
    assert api_clients[persona].post(f"{BASE}{own_feedback.pk}/convert/").status_code == expected


def test_convert_links_the_complaint_and_refuses_twice(api_clients, own_feedback):
    response = api_clients["quality_manager"].post(f"{BASE}{own_feedback.pk}/convert/")
    assert response.status_code == 200
    assert response.json()["complaint"] is not None
    assert response.json()["status"] == "actioned"
    assert api_clients["quality_manager"].post(f"{BASE}{own_feedback.pk}/convert/").status_code == 409


def test_unknown_feedback_is_404(api_clients, db):
    assert api_clients["quality_manager"].post(f"{BASE}999999/close/").status_code == 404


@pytest.mark.parametrize("rows", [5, 40])
def test_list_runs_a_bounded_number_of_queries(api_clients, staff, django_assert_max_num_queries, rows):
    for _ in range(rows):
        FeedbackFactory(actor=staff)
    with django_assert_max_num_queries(8):
        response = api_clients["auditor"].get(f"{BASE}?page_size=50")
    assert response.status_code == 200
    assert response.json()["count"] == rows
