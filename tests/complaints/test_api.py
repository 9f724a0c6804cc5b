import pytest

from apps.complaints.models import Complaint

Status = Complaint.Status


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 404), ("auditor", 200), ("anonymous", 403)],
)
def test_retrieve_by_role(api_clients, complaint, persona, expected):
    response = api_clients[persona].get(f"/api/v1/complaints/{complaint.pk}/")
    assert response.status_code in ((401, 403) if expected == 403 else (expected,))


@pytest.mark.parametrize(
    ("persona", "count"), [("quality_manager", 2), ("staff", 1), ("other_staff", 0), ("auditor", 2)]
)
def test_list_is_scoped(api_clients, make, staff, persona, count):
    make(assignee=staff)
    make()
    response = api_clients[persona].get("/api/v1/complaints/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 200), ("other_staff", 404), ("auditor", 403)]
)
def test_transition_by_role(api_clients, complaint, persona, expected):
    response = api_clients[persona].post(f"/api/v1/complaints/{complaint.pk}/transition/", {"to": "acknowledged"})
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["status"] == "acknowledged"


def test_forbidden_transition_is_409(api_clients, complaint):
    response = api_clients["staff"].post(f"/api/v1/complaints/{complaint.pk}/transition/", {"to": "closed"})
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("other_staff", 403)]
)
def test_only_quality_managers_assign(api_clients, complaint, other_staff, persona, expected):
    response = api_clients[persona].post(f"/api/v1/complaints/{complaint.pk}/assign/", {"to": other_staff.pk})
    assert response.status_code == expected


@pytest.mark.parametrize(("persona", "expected"), [("staff", 200), ("auditor", 403), ("other_staff", 404)])
def test_assessment_by_role(api_clients, complaint, persona, expected):
    response = api_clients[persona].patch(
        f"/api/v1/complaints/{complaint.pk}/", {"severity": "high", "root_cause": "Packaging"}, format="json"
    )
    assert response.status_code == expected
    complaint.refresh_from_db()
    assert (complaint.severity == "high") is (expected == 200)


@pytest.mark.parametrize(("persona", "expected"), [("staff", 201), ("auditor", 403), ("other_staff", 404)])
def test_messages_by_role(api_clients, complaint, persona, expected):
    response = api_clients[persona].post(
        f"/api/v1/complaints/{complaint.pk}/messages/", {"body": "Called the customer", "visibility": "internal"}
    )
    assert response.status_code == expected


def test_output_never_contains_personal_data(api_clients, complaint):
    body = api_clients["quality_manager"].get(f"/api/v1/complaints/{complaint.pk}/").content.decode()
    assert "clara@example.org" not in body
    assert "token" not in body
