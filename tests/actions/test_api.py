import pytest
from django.utils import timezone

from apps.actions import services
from apps.actions.models import ActionPlanItem, CorrectiveAction
from apps.audit.models import AuditEntry
from tests.actions.factories import ActionFactory

Status = CorrectiveAction.Status
API = "/api/v1/actions/"


def _item(action, actor, owner=None):
    return services.plan_item_add(
        action_id=action.pk,
        actor=actor,
        description="Add buffer stock",
        owner=owner or action.owner,
        due_date=timezone.localdate(),
    )


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 401)],
)
def test_read(api_clients, action, persona, expected):
    listed = api_clients[persona].get(API)
    one = api_clients[persona].get(f"{API}{action.pk}/")
    items = api_clients[persona].get(f"{API}{action.pk}/plan-items/")
    assert (listed.status_code, one.status_code, items.status_code) == (expected, expected, expected)
    if expected == 200:
        assert one.json()["reference"] == action.reference
        assert one.json()["status"] == "open"


def test_unknown_action_is_404(api_clients, action):
    assert api_clients["staff"].get(f"{API}{action.pk + 1000}/").status_code == 404
    assert api_clients["staff"].post(f"{API}{action.pk + 1000}/start/").status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 201), ("staff", 201), ("auditor", 403), ("anonymous", 401)]
)
def test_create(api_clients, persona, expected, staff):
    response = api_clients[persona].post(
        API, {"title": "Dented boxes", "nonconformity": "Boxes arrive dented", "owner": staff.pk}, format="json"
    )
    assert response.status_code == expected
    if expected == 201:
        body = response.json()
        assert body["owner"]["id"] == staff.pk
        assert body["status"] == "open"
        assert body["source"] is None


def test_create_validates(api_clients):
    response = api_clients["staff"].post(API, {"title": ""}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"title", "nonconformity"}


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_partial_update_object_rule(api_clients, action, persona, expected):
    response = api_clients[persona].patch(
        f"{API}{action.pk}/", {"root_cause": "No buffer stock", "status": "verified_effective"}, format="json"
    )
    assert response.status_code == expected
    action.refresh_from_db()
    assert action.status == Status.OPEN  # status is read-only
    assert (action.root_cause == "No buffer stock") is (expected == 200)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_start_object_rule(api_clients, action, persona, expected):
    response = api_clients[persona].post(f"{API}{action.pk}/start/", {"reason": "Go"}, format="json")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["status"] == "in_progress"


def test_forbidden_transition_is_409(api_clients, action):
    response = api_clients["staff"].post(f"{API}{action.pk}/implement/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_stage_gate_is_409(api_clients, make_action):
    action = make_action(Status.IN_PROGRESS)
    response = api_clients["staff"].post(f"{API}{action.pk}/implement/", {}, format="json")
    assert response.status_code == 409
    assert "root-cause" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_verify(api_clients, make_action, persona, expected):
    action = make_action(Status.IMPLEMENTED)
    response = api_clients[persona].post(
        f"{API}{action.pk}/verify/", {"effective": False, "evidence": "Recurred in May"}, format="json"
    )
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["status"] == "not_effective"
        assert response.json()["verifier"]["id"]


def test_owner_may_not_verify(api_clients, make_action, quality_manager):
    action = make_action(Status.IMPLEMENTED, owner=quality_manager)
    response = api_clients["quality_manager"].post(
        f"{API}{action.pk}/verify/", {"effective": True, "evidence": "Fine"}, format="json"
    )
    assert response.status_code == 403


def test_full_workflow(api_clients, action, staff):
    client = api_clients["staff"]
    client.post(f"{API}{action.pk}/start/", {}, format="json")
    client.patch(f"{API}{action.pk}/", {"root_cause_method": "fishbone", "root_cause": "Worn die"}, format="json")
    today = timezone.localdate().isoformat()
    created = client.post(
        f"{API}{action.pk}/plan-items/",
        {"description": "Replace die", "owner": staff.pk, "due_date": today},
        format="json",
    )
    assert created.status_code == 201
    done = client.post(f"{API}{action.pk}/plan-items/{created.json()['id']}/done/")
    assert done.status_code == 200
    assert done.json()["is_done"]
    implemented = client.post(f"{API}{action.pk}/implement/", {"effectiveness_check_date": today}, format="json")
    assert implemented.status_code == 200
    assert implemented.json()["status"] == "implemented"
    verified = api_clients["quality_manager"].post(
        f"{API}{action.pk}/verify/", {"effective": False, "evidence": "Recurred"}, format="json"
    )
    assert verified.json()["status"] == "not_effective"
    reopened = client.post(f"{API}{action.pk}/reopen/", {"reason": "Recurred"}, format="json")
    assert reopened.status_code == 200
    assert reopened.json()["round"] == 2
    actions = list(AuditEntry.objects.for_object(action).values_list("action", flat=True))
    assert actions.count(AuditEntry.Action.TRANSITION) == 4


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 201), ("staff", 201), ("other_staff", 403), ("auditor", 403)]
)
def test_add_plan_item_object_rule(api_clients, action, staff, persona, expected):
    today = timezone.localdate().isoformat()
    response = api_clients[persona].post(
        f"{API}{action.pk}/plan-items/", {"description": "Step", "owner": staff.pk, "due_date": today}, format="json"
    )
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("other_staff", 200), ("staff", 403), ("auditor", 403)]
)
def test_mark_done_only_own_items(api_clients, action, staff, other_staff, persona, expected):
    item = _item(action, staff, owner=other_staff)
    response = api_clients[persona].post(f"{API}{action.pk}/plan-items/{item.pk}/done/")
    assert response.status_code == expected
    assert ActionPlanItem.objects.get(pk=item.pk).is_done is (expected == 200)


def test_item_of_another_action_is_404(api_clients, staff):
    first, second = ActionFactory(actor=staff), ActionFactory(actor=staff)
    item = _item(first, staff)
    assert api_clients["staff"].post(f"{API}{second.pk}/plan-items/{item.pk}/done/").status_code == 404


def test_filters(api_clients, make_action, other_staff):
    make_action(Status.OPEN, title="Mine")
    make_action(Status.IN_PROGRESS, title="Theirs", owner=other_staff)
    body = api_clients["auditor"].get(f"{API}?status=in_progress").json()
    assert [row["title"] for row in body["results"]] == ["Theirs"]
    body = api_clients["auditor"].get(f"{API}?owner={other_staff.pk}").json()
    assert [row["title"] for row in body["results"]] == ["Theirs"]


@pytest.mark.parametrize("rows", [5, 40])
def test_list_runs_a_bounded_number_of_queries(api_clients, staff, django_assert_max_num_queries, rows):
    for _ in range(rows):
        ActionFactory(actor=staff)
    with django_assert_max_num_queries(8):
        response = api_clients["auditor"].get(API)
    assert response.status_code == 200
