"""Objective pages: role x outcome, pinned queries, the rule and chart on the page, the forms."""

import re
from datetime import date
from decimal import Decimal

import pytest

from apps.audit.models import AuditEntry
from apps.objectives import services
from apps.objectives.models import Measurement, Performance, QualityObjective
from tests.objectives.factories import make_objective

Status = QualityObjective.Status
LOGIN = "/accounts/login/"


def _main(html: str) -> str:
    return re.search(r"<main.*?</main>", html, re.S).group(0)


def _form_data(owner, **overrides):
    data = {
        "title": "Fewer late deliveries",
        "plan": "Second dispatch shift.",
        "resources": "",
        "evaluation": "Monthly review",
        "owner": owner.pk,
        "kpi_kind": "manual",
        "kpi": "",
        "kpi_label": "Average delivery time in days",
        "baseline_value": "7",
        "baseline_date": "2026-01-01",
        "target_value": "5",
        "target_date": "2026-07-01",
        "direction": "lower",
        "unit": "days",
        "period": "monthly",
        "tolerance": "",
    }
    data.update(overrides)
    return data


# Role x outcome -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 302)],
)
@pytest.mark.parametrize("page", ["list", "detail"])
def test_read_pages(clients, objective, persona, expected, page):
    url = "/objectives/" if page == "list" else f"/objectives/{objective.pk}/"
    response = clients[persona].get(url)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith(LOGIN)
    else:
        assert objective.title in response.content.decode()


def test_unknown_objective_is_404(clients, objective):
    assert clients["quality_manager"].get(f"/objectives/{objective.pk + 1000}/").status_code == 404
    assert clients["quality_manager"].get(f"/objectives/{objective.pk + 1000}/edit/").status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 302)],
)
@pytest.mark.parametrize("suffix", ["new/", "{pk}/edit/"])
def test_editing_pages_are_for_quality_managers(clients, objective, persona, expected, suffix):
    assert clients[persona].get(f"/objectives/{suffix.format(pk=objective.pk)}").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 403), ("auditor", 403), ("anonymous", 302)],
)
def test_measurement_page_for_the_owner_and_managers(clients, objective, persona, expected):
    assert clients[persona].get(f"/objectives/{objective.pk}/measurements/new/").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 302)],
)
@pytest.mark.parametrize("suffix", ["steps/achieved/", "recompute/", "raise-action/"])
def test_steps_are_refused_to_everyone_but_managers(clients, objective, persona, expected, suffix):
    assert clients[persona].post(f"/objectives/{objective.pk}/{suffix}").status_code == expected
    objective.refresh_from_db()
    assert objective.status == Status.ACTIVE


@pytest.mark.parametrize("rows", [3, 30])
def test_list_page_runs_a_bounded_number_of_queries(
    clients, quality_manager, staff, django_assert_max_num_queries, rows
):
    for n in range(rows):
        make_objective(actor=quality_manager, owner=staff, title=f"Objective {n}", activate=n % 2 == 0)
    with django_assert_max_num_queries(12):
        response = clients["auditor"].get("/objectives/")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(rows, 25)


@pytest.mark.parametrize("months", [1, 7])
def test_detail_page_runs_a_bounded_number_of_queries(clients, objective, staff, django_assert_max_num_queries, months):
    for month in range(1, months + 1):
        services.measurement_record(
            objective_id=objective.pk, period_start=date(2026, month, 1), value=Decimal("6.5"), actor=staff
        )
    with django_assert_max_num_queries(22):
        assert clients["staff"].get(f"/objectives/{objective.pk}/").status_code == 200


def test_list_filters_by_status_performance_and_owner(clients, quality_manager, staff, other_staff):
    mine = make_objective(actor=quality_manager, owner=staff, title="Mine")
    make_objective(actor=quality_manager, owner=other_staff, title="Theirs", activate=False)
    services.measurement_record(objective_id=mine.pk, period_start=date(2026, 1, 1), value=Decimal("9"), actor=staff)
    client = clients["auditor"]
    assert [o.title for o in client.get("/objectives/?status=draft").context["object_list"]] == ["Theirs"]
    assert [o.title for o in client.get("/objectives/?performance=off_track").context["object_list"]] == ["Mine"]
    assert [o.title for o in client.get(f"/objectives/?owner={other_staff.pk}").context["object_list"]] == ["Theirs"]


# Content ----------------------------------------------------------------------------------------------


def test_detail_states_the_rule_shows_the_chart_no_data_and_links(clients, objective, staff):
    services.measurement_record(
        objective_id=objective.pk, period_start=date(2026, 1, 1), value=Decimal("6.6"), actor=staff
    )
    services.measurement_record(objective_id=objective.pk, period_start=date(2026, 2, 1), value=None, actor=staff)
    html = _main(clients["auditor"].get(f"/objectives/{objective.pk}/").content.decode())
    assert "planned(t) = baseline" in html
    assert "exactly on the path counts as on track" in html
    assert 'data-testid="chart"' in html
    assert "<svg" in html
    assert "Planned path" in html
    assert 'data-testid="no-data"' in html
    assert "no data" in html
    assert "Average delivery time in days" in html
    assert "History" in html
    assert f"/objectives/{objective.pk}/steps/" not in html  # auditors see no steps


def test_owner_sees_the_measurement_link_and_managers_the_steps(clients, objective):
    staff_html = _main(clients["staff"].get(f"/objectives/{objective.pk}/").content.decode())
    assert f"/objectives/{objective.pk}/measurements/new/" in staff_html
    assert f"/objectives/{objective.pk}/steps/" not in staff_html
    manager_html = _main(clients["quality_manager"].get(f"/objectives/{objective.pk}/").content.decode())
    assert f"/objectives/{objective.pk}/steps/achieved/" in manager_html
    assert f"/objectives/{objective.pk}/steps/activate/" not in manager_html


# Forms --------------------------------------------------------------------------------------------------


def test_manager_creates_an_objective_through_the_form(clients, quality_manager, staff):
    response = clients["quality_manager"].post("/objectives/new/", _form_data(staff))
    objective = QualityObjective.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/objectives/{objective.pk}/"
    assert objective.owner == staff
    assert objective.higher_is_better is False
    assert objective.status == Status.DRAFT
    assert AuditEntry.objects.for_object(objective).filter(action=AuditEntry.Action.CREATE).exists()


def test_form_refuses_filters_the_kpi_does_not_support(clients, staff):
    data = _form_data(
        staff,
        kpi_kind="computed",
        kpi="nps",
        kpi_label="",
        filter_channel="email",
        direction="higher",
        baseline_value="20",
        target_value="40",
    )
    response = clients["quality_manager"].post("/objectives/new/", data)
    assert response.status_code == 200
    assert "cannot be filtered" in response.content.decode()
    assert not QualityObjective.objects.exists()


def test_form_shows_service_rule_errors(clients, staff):
    response = clients["quality_manager"].post("/objectives/new/", _form_data(staff, direction="higher"))
    assert response.status_code == 200
    assert "better than the baseline" in response.content.decode()


def test_owner_records_a_measurement_through_the_form(clients, objective):
    response = clients["staff"].post(
        f"/objectives/{objective.pk}/measurements/new/", {"period_start": "2026-01-15", "value": "6.6", "note": "ERP"}
    )
    assert response.status_code == 302
    measurement = Measurement.objects.get(objective=objective)
    assert (measurement.period_start, measurement.value, measurement.note) == (date(2026, 1, 1), Decimal("6.6"), "ERP")


def test_manager_closes_and_the_refused_step_is_a_message(clients, objective):
    client = clients["quality_manager"]
    response = client.post(f"/objectives/{objective.pk}/steps/not_achieved/", {"reason": ""}, follow=True)
    assert "Give the reason" in response.content.decode()
    response = client.post(f"/objectives/{objective.pk}/steps/achieved/", follow=True)
    assert "give the reason for closing it as achieved" in response.content.decode()
    client.post(f"/objectives/{objective.pk}/steps/achieved/", {"reason": "Met by the new carrier"})
    objective.refresh_from_db()
    assert objective.status == Status.ACHIEVED
    response = client.post(f"/objectives/{objective.pk}/steps/cancel/", {"reason": "x"}, follow=True)
    assert "cannot go from" in response.content.decode()


def test_off_track_page_offers_the_action_and_one_click_raises_it(clients, objective, staff):
    services.measurement_record(
        objective_id=objective.pk, period_start=date(2026, 1, 1), value=Decimal("7.5"), actor=staff
    )
    objective.refresh_from_db()
    assert objective.performance == Performance.OFF_TRACK
    html = _main(clients["quality_manager"].get(f"/objectives/{objective.pk}/").content.decode())
    assert 'data-testid="action-proposed"' in html
    response = clients["quality_manager"].post(f"/objectives/{objective.pk}/raise-action/")
    action = objective.corrective_actions.get()
    assert response["Location"] == f"/actions/{action.pk}/"
    action_page = clients["quality_manager"].get(f"/actions/{action.pk}/").content.decode()
    assert f'href="/objectives/{objective.pk}/"' in action_page
    html = _main(clients["quality_manager"].get(f"/objectives/{objective.pk}/").content.decode())
    assert f"/actions/{action.pk}/" in html
    assert 'data-testid="action-proposed"' not in html


def test_recompute_button_is_only_for_computed_objectives(clients, objective):
    response = clients["quality_manager"].post(f"/objectives/{objective.pk}/recompute/", follow=True)
    assert "Only computed KPIs are recomputed" in response.content.decode()


def test_round_figures_show_without_trailing_zeros(clients, quality_manager):
    objective = make_objective(
        actor=quality_manager,
        kpi_kind="computed",
        kpi="sla_compliance",
        kpi_label="",
        baseline_value=Decimal("70"),
        target_value=Decimal("90"),
        higher_is_better=True,
        unit="%",
    )
    html = _main(clients["auditor"].get(f"/objectives/{objective.pk}/").content.decode())
    assert "90 %" in html
    assert "E+1" not in html
    assert "Target 90<" in html


def test_edit_form_of_an_active_objective_fixes_the_kpi_and_offers_only_supported_filters(
    clients, quality_manager, objective
):
    computed = make_objective(
        actor=quality_manager,
        kpi_kind="computed",
        kpi="nps",
        kpi_label="",
        baseline_value=Decimal("20"),
        target_value=Decimal("40"),
        higher_is_better=True,
    )
    form = clients["quality_manager"].get(f"/objectives/{computed.pk}/edit/").context["form"]
    assert form.fields["kpi"].disabled
    assert "filter_segment" in form.fields
    assert "filter_category" not in form.fields
    manual_form = clients["quality_manager"].get(f"/objectives/{objective.pk}/edit/").context["form"]
    assert not any(name.startswith("filter_") for name in manual_form.fields)

    data = {
        **{k: v for k, v in manual_form.initial.items() if v is not None},
        "title": "Deliver faster",
        "direction": "lower",
        "reason": "clearer title",
        "baseline_value": "99",  # disabled: ignored
    }
    data["owner"] = objective.owner_id
    response = clients["quality_manager"].post(f"/objectives/{objective.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    objective.refresh_from_db()
    assert (objective.title, objective.baseline_value) == ("Deliver faster", Decimal("7"))
