"""Writes refused to everyone but the roles allowed, on pages and the API; nothing changes when refused."""

from datetime import date
from decimal import Decimal

import pytest

from apps.audit.models import AuditEntry
from apps.objectives.models import Measurement, QualityObjective
from tests.objectives.factories import make_objective

Status = QualityObjective.Status
API = "/api/v1/objectives/"
LOGIN = "/accounts/login/"
OUTSIDERS = [("staff", 403), ("other_staff", 403), ("auditor", 403)]


def _computed(quality_manager, staff):
    return make_objective(
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


@pytest.mark.parametrize(("persona", "expected"), [*OUTSIDERS, ("anonymous", 302)])
def test_posting_the_objective_forms_is_refused(clients, objective, persona, expected):
    entries = AuditEntry.objects.count()
    created = clients[persona].post("/objectives/new/", {"title": "x"})
    edited = clients[persona].post(f"/objectives/{objective.pk}/edit/", {"title": "x"})
    assert (created.status_code, edited.status_code) == (expected, expected)
    if expected == 302:
        assert created["Location"].startswith(LOGIN)
    assert AuditEntry.objects.count() == entries
    assert QualityObjective.objects.get().title == objective.title


@pytest.mark.parametrize(("persona", "expected"), [("other_staff", 403), ("auditor", 403), ("anonymous", 302)])
def test_posting_a_figure_is_refused_to_all_but_owner_and_managers(clients, objective, persona, expected):
    response = clients[persona].post(
        f"/objectives/{objective.pk}/measurements/new/", {"period_start": "2026-01-01", "value": "6"}
    )
    assert response.status_code == expected
    assert not Measurement.objects.exists()


def test_the_owner_enters_no_figure_for_a_computed_kpi_page(clients, quality_manager, staff):
    computed = _computed(quality_manager, staff)
    assert clients["staff"].get(f"/objectives/{computed.pk}/measurements/new/").status_code == 403


@pytest.mark.parametrize("suffix", ["steps/cancel/", "recompute/", "raise-action/", "measurements/new/"])
def test_writes_on_an_unknown_objective_are_404(clients, objective, suffix):
    assert clients["quality_manager"].post(f"/objectives/{objective.pk + 1000}/{suffix}").status_code == 404


@pytest.mark.parametrize(("persona", "expected"), [*OUTSIDERS, ("anonymous", 401)])
def test_api_writes_are_refused_to_non_managers(api_clients, quality_manager, staff, persona, expected):
    computed = _computed(quality_manager, staff)
    client = api_clients[persona]
    entries = AuditEntry.objects.count()
    responses = [
        client.patch(f"{API}{computed.pk}/", {"title": "x"}, format="json"),
        client.post(f"{API}{computed.pk}/transition/", {"to": "cancelled", "reason": "x"}, format="json"),
        client.post(f"{API}{computed.pk}/recompute/"),
        client.post(f"{API}{computed.pk}/raise-action/"),
    ]
    assert [response.status_code for response in responses] == [expected] * 4
    assert AuditEntry.objects.count() == entries
    computed.refresh_from_db()
    assert (computed.title, computed.status) == ("Faster deliveries", Status.ACTIVE)


@pytest.mark.parametrize("path", ["", "transition/", "recompute/", "raise-action/", "measurements/"])
def test_api_writes_on_an_unknown_objective_are_404(api_clients, objective, path):
    url = f"{API}{objective.pk + 1000}/{path}"
    client = api_clients["quality_manager"]
    response = client.patch(url, {"title": "x"}, format="json") if not path else client.post(url, {}, format="json")
    assert response.status_code == 404
