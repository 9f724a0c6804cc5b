import pytest

from apps.audit import services as audit
from apps.audit.models import AuditEntry


@pytest.fixture
def trail(quality_manager, staff):
    for n in range(30):
        audit.record(actor=quality_manager, action=AuditEntry.Action.UPDATE, obj=staff, reason=f"change {n}")
    audit.record(actor=staff, action=AuditEntry.Action.LOGIN, obj=staff)
    return staff


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("auditor", 200), ("staff", 403), ("other_staff", 403), ("anonymous", 302)],
)
def test_audit_trail_page_access(clients, trail, persona, expected, django_assert_max_num_queries):
    with django_assert_max_num_queries(15):
        response = clients[persona].get("/audit/")
    assert response.status_code == expected


def test_audit_trail_is_searchable_by_action_and_user(clients, trail, staff):
    response = clients["auditor"].get("/audit/", {"action": "login", "actor": staff.pk})
    entries = list(response.context["object_list"])
    assert [e.action for e in entries] == ["login"]


def test_invalid_search_shows_errors_instead_of_failing(clients, trail):
    response = clients["auditor"].get("/audit/", {"since": "yesterday-ish", "action": "nonsense"})
    assert response.status_code == 200
    assert response.context["filter"].errors


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("auditor", 200), ("staff", 403), ("anonymous", 401)],
)
def test_audit_api_access(api_clients, trail, persona, expected, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = api_clients[persona].get("/api/v1/audit/entries/", {"page_size": 10})
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert "count" not in body
        assert len(body["results"]) == 10
        assert body["next"]
        assert body["results"][0]["seq"] == 31


@pytest.mark.parametrize("persona", ["quality_manager", "auditor"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nobody_writes_the_trail_through_the_api(api_clients, trail, persona, method):
    url = "/api/v1/audit/entries/" if method == "post" else "/api/v1/audit/entries/1/"
    response = getattr(api_clients[persona], method)(url, {"reason": "rewritten"}, format="json")
    assert response.status_code in {403, 405}
    assert audit.verify_chain().ok


def test_record_page_shows_its_history(clients, trail, staff):
    response = clients["quality_manager"].get(f"/accounts/users/{staff.pk}/")
    assert b"change 29" in response.content
    assert b"Signed in" in response.content
