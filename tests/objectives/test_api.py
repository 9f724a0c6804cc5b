"""The objectives API: role x outcome, pinned queries, transitions, measurements, recompute, schema."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEntry
from apps.objectives import services
from apps.objectives.models import Measurement, QualityObjective
from tests.objectives.factories import make_objective

Status = QualityObjective.Status
API = "/api/v1/objectives/"


def _payload(owner, **overrides):
    data = {
        "title": "Faster deliveries",
        "plan": "Second shift.",
        "owner": owner.pk,
        "kpi_kind": "manual",
        "kpi_label": "Average delivery time in days",
        "baseline_value": "7",
        "baseline_date": "2026-01-01",
        "target_value": "5",
        "target_date": "2026-07-01",
        "higher_is_better": False,
        "unit": "days",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 401)],
)
def test_read(api_clients, objective, persona, expected):
    listed = api_clients[persona].get(API)
    one = api_clients[persona].get(f"{API}{objective.pk}/")
    measurements = api_clients[persona].get(f"{API}{objective.pk}/measurements/")
    assert (listed.status_code, one.status_code, measurements.status_code) == (expected, expected, expected)
    if expected == 200:
        assert one.json()["reference"] == objective.reference
        assert one.json()["status"] == "active"
        assert one.json()["performance"] == "no_data"


def test_unknown_objective_is_404(api_clients, objective):
    assert api_clients["quality_manager"].get(f"{API}{objective.pk + 1000}/").status_code == 404
    assert (
        api_clients["quality_manager"].post(f"{API}{objective.pk + 1000}/transition/", {"to": "achieved"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 201), ("staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_create(api_clients, staff, persona, expected):
    response = api_clients[persona].post(API, _payload(staff), format="json")
    assert response.status_code == expected
    if expected == 201:
        body = response.json()
        assert body["status"] == "draft"
        objective = QualityObjective.objects.get(pk=body["id"])
        assert AuditEntry.objects.for_object(objective).filter(action=AuditEntry.Action.CREATE).exists()


def test_status_is_read_only_and_unsupported_filters_are_400(api_clients, staff):
    response = api_clients["quality_manager"].post(API, _payload(staff, status="achieved"), format="json")
    assert response.json()["status"] == "draft"
    refused = api_clients["quality_manager"].post(
        API,
        _payload(
            staff,
            kpi_kind="computed",
            kpi="nps",
            filter_channel="email",
            higher_is_better=True,
            baseline_value="20",
            target_value="40",
        ),
        format="json",
    )
    assert refused.status_code == 400
    assert "filter_channel" in refused.json()["error"]["fields"]


def test_rule_violation_is_409(api_clients, staff):
    response = api_clients["quality_manager"].post(API, _payload(staff, higher_is_better=True), format="json")
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_partial_update(api_clients, objective, persona, expected):
    response = api_clients[persona].patch(f"{API}{objective.pk}/", {"title": "Deliver in 5 days"}, format="json")
    assert response.status_code == expected
    objective.refresh_from_db()
    assert (objective.title == "Deliver in 5 days") == (expected == 200)


@pytest.mark.parametrize(
    ("to", "reason", "expected"),
    [("achieved", "Met early", 200), ("achieved", "", 409), ("active", "", 409), ("draft", "", 409)],
)
def test_transition_allowed_and_forbidden(api_clients, objective, to, reason, expected):
    response = api_clients["quality_manager"].post(
        f"{API}{objective.pk}/transition/", {"to": to, "reason": reason}, format="json"
    )
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["status"] == to


@pytest.mark.parametrize(("persona", "expected"), [("staff", 403), ("auditor", 403), ("anonymous", 401)])
def test_transition_refused_to_non_managers(api_clients, objective, persona, expected):
    response = api_clients[persona].post(f"{API}{objective.pk}/transition/", {"to": "achieved"}, format="json")
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 201), ("staff", 201), ("other_staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_record_measurement(api_clients, objective, persona, expected):
    response = api_clients[persona].post(
        f"{API}{objective.pk}/measurements/", {"period_start": "2026-01-10", "value": "6.6"}, format="json"
    )
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["period_start"] == "2026-01-01"
        assert response.json()["period_end"] == "2026-01-31"
    assert Measurement.objects.filter(objective=objective).exists() == (expected == 201)


def test_no_data_measurement_and_the_list(api_clients, objective):
    api_clients["staff"].post(
        f"{API}{objective.pk}/measurements/", {"period_start": "2026-01-10", "value": None}, format="json"
    )
    body = api_clients["auditor"].get(f"{API}{objective.pk}/measurements/").json()
    assert [(row["period_start"], row["value"]) for row in body] == [("2026-01-01", None)]


def test_recompute_and_raise_action(api_clients, quality_manager, staff, django_capture_on_commit_callbacks):
    computed = make_objective(
        actor=quality_manager,
        owner=staff,
        kpi_kind="computed",
        kpi="sla_compliance",
        kpi_label="",
        baseline_value=Decimal("60"),
        target_value=Decimal("90"),
        higher_is_better=True,
        target_date=date(2026, 12, 31),
    )
    assert api_clients["staff"].post(f"{API}{computed.pk}/recompute/").status_code == 403
    with django_capture_on_commit_callbacks() as callbacks:
        assert api_clients["quality_manager"].post(f"{API}{computed.pk}/recompute/").status_code == 202
    assert len(callbacks) == 1
    assert api_clients["quality_manager"].post(f"{API}{computed.pk}/raise-action/").status_code == 409
    assert (
        api_clients["staff"]
        .post(f"{API}{computed.pk}/measurements/", {"period_start": "2026-10-01", "value": "1"})
        .status_code
        == 409
    )
    services.objective_transition(objective_id=computed.pk, to=Status.NOT_ACHIEVED, actor=quality_manager, reason="x")
    assert api_clients["staff"].post(f"{API}{computed.pk}/raise-action/").status_code == 403
    raised = api_clients["quality_manager"].post(f"{API}{computed.pk}/raise-action/")
    assert raised.status_code == 201
    assert raised.json()["source"]["type"] == "objectives.qualityobjective"
    assert api_clients["auditor"].get(f"{API}{computed.pk}/").json()["corrective_actions"] == [raised.json()["id"]]


@pytest.mark.parametrize("rows", [3, 30])
def test_list_runs_a_bounded_number_of_queries(
    api_clients, quality_manager, staff, django_assert_max_num_queries, rows
):
    for n in range(rows):
        make_objective(actor=quality_manager, owner=staff, title=f"Objective {n}", activate=False)
    with django_assert_max_num_queries(12):
        response = api_clients["auditor"].get(API)
    assert response.status_code == 200


def test_delete_and_put_have_no_route(api_clients, objective):
    assert api_clients["quality_manager"].delete(f"{API}{objective.pk}/").status_code == 405
    assert api_clients["quality_manager"].put(f"{API}{objective.pk}/", {}).status_code == 405


def test_schema_documents_the_objectives_endpoints(db):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
