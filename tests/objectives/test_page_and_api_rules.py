"""The review's rules as pages and the API show them: refused steps, reasons, periods, provisional figures."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.objectives import services
from apps.objectives.models import Measurement, QualityObjective
from tests.objectives.factories import make_objective

Status = QualityObjective.Status
API = "/api/v1/objectives/"


def _off_track_then_cancelled(objective, quality_manager, staff):
    services.measurement_record(
        objective_id=objective.pk, period_start=date(2026, 1, 1), value=Decimal("7.2"), actor=staff
    )
    services.objective_transition(objective_id=objective.pk, to=Status.CANCELLED, actor=quality_manager, reason="x")


def _edit_data(objective, **overrides):
    data = {
        "title": objective.title,
        "plan": objective.plan,
        "owner": objective.owner_id,
        "kpi_label": objective.kpi_label,
        "target_value": "5",
        "target_date": objective.target_date.isoformat(),
        "direction": "lower",
        "unit": objective.unit,
        "tolerance": "",
    }
    data.update(overrides)
    return data


# 18. Steps -----------------------------------------------------------------------------------------


def test_an_unknown_step_is_404(clients, objective):
    assert clients["quality_manager"].post(f"/objectives/{objective.pk}/steps/reopen/").status_code == 404


def test_an_over_long_reason_shows_the_forms_own_error(clients, objective):
    response = clients["quality_manager"].post(
        f"/objectives/{objective.pk}/steps/cancel/", {"reason": "x" * 1001}, follow=True
    )
    assert "at most 1000 characters" in response.content.decode()
    objective.refresh_from_db()
    assert objective.status == Status.ACTIVE


def test_the_achieved_step_asks_for_a_reason_unless_the_figures_show_it(clients, objective):
    html = clients["quality_manager"].get(f"/objectives/{objective.pk}/").content.decode()
    assert 'id="id_achieved_reason"' in html


# 2. Raising an action from a closed objective ----------------------------------------------------------


def test_a_cancelled_objective_raises_no_action_api_409(api_clients, quality_manager, staff, objective):
    _off_track_then_cancelled(objective, quality_manager, staff)
    assert api_clients["quality_manager"].post(f"{API}{objective.pk}/raise-action/").status_code == 409


def test_a_cancelled_objective_raises_no_action_page_error(clients, quality_manager, staff, objective):
    _off_track_then_cancelled(objective, quality_manager, staff)
    response = clients["quality_manager"].post(f"/objectives/{objective.pk}/raise-action/", follow=True)
    assert "proposed only for objectives off track or not achieved" in response.content.decode()
    assert "Raise corrective action" not in response.content.decode()


# 5. Reasons for moving the goalposts ------------------------------------------------------------------------


def test_edit_form_asks_for_the_reason_of_a_new_target(clients, objective):
    url = f"/objectives/{objective.pk}/edit/"
    response = clients["quality_manager"].post(url, _edit_data(objective, target_value="4"))
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    response = clients["quality_manager"].post(url, _edit_data(objective, target_value="4", reason="Board decision"))
    assert response.status_code == 302
    entry = AuditEntry.objects.for_object(objective).filter(action=AuditEntry.Action.UPDATE).latest("seq")
    assert (entry.changes["target_value"][1], entry.reason) == ("4", "Board decision")


def test_api_refuses_a_new_target_without_a_reason(api_clients, objective):
    client = api_clients["quality_manager"]
    assert client.patch(f"{API}{objective.pk}/", {"target_value": "4"}, format="json").status_code == 409
    response = client.patch(f"{API}{objective.pk}/", {"target_value": "4", "reason": "Board"}, format="json")
    assert response.status_code == 200
    assert response.json()["target_value"] == "4.0000"


# 10. Periods outside the objective ------------------------------------------------------------------------


def test_measurement_form_refuses_a_period_after_the_target(clients, objective):
    response = clients["staff"].post(
        f"/objectives/{objective.pk}/measurements/new/", {"period_start": "2026-09-01", "value": "6"}
    )
    assert response.status_code == 200
    assert "Only the periods" in response.content.decode()
    assert not Measurement.objects.exists()


def test_measurement_api_refuses_a_period_before_the_baseline(api_clients, objective):
    response = api_clients["staff"].post(
        f"{API}{objective.pk}/measurements/", {"period_start": "2025-12-01", "value": "6"}, format="json"
    )
    assert response.status_code == 409


# 1. The running period is shown as provisional ----------------------------------------------------------------


def test_the_running_period_is_marked_provisional(clients, quality_manager, staff):
    today = timezone.localdate()
    objective = make_objective(
        actor=quality_manager,
        owner=staff,
        baseline_date=today - timedelta(days=100),
        target_date=today + timedelta(days=200),
    )
    services.measurement_record(objective_id=objective.pk, period_start=today, value=Decimal("6"), actor=staff)
    response = clients["staff"].get(f"/objectives/{objective.pk}/")
    assert 'data-testid="provisional"' in response.content.decode()
    assert response.context["objective"].performance == "no_data"


# 4. A measured draft's edit form fixes what is measured ------------------------------------------------------


def test_edit_form_of_a_measured_draft_fixes_kpi_baseline_and_period(clients, quality_manager):
    draft = make_objective(actor=quality_manager, activate=False)
    url = f"/objectives/{draft.pk}/edit/"
    assert not clients["quality_manager"].get(url).context["form"].fields["period"].disabled
    services.measurement_record(
        objective_id=draft.pk, period_start=date(2026, 1, 1), value=Decimal("6.9"), actor=quality_manager
    )
    form = clients["quality_manager"].get(url).context["form"]
    assert all(form.fields[name].disabled for name in services.FROZEN_FIELDS)
    assert "filter_segment" in form.fields
