"""Rules of the objective services found in review: judged periods, closing, drafts, frozen fields,
reasons, measurable periods, date limits, owners, filter values and the computation outside locks."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.core.models import OutboundEmail
from apps.objectives import charts, kpi_catalogue, rules, services
from apps.objectives.models import Measurement, Performance, PerformanceChange, QualityObjective
from tests.customers.factories import CustomerFactory
from tests.objectives.factories import make_objective

Status = QualityObjective.Status


def _record(objective, actor, day, value):
    return services.measurement_record(objective_id=objective.pk, period_start=day, value=value, actor=actor)


def _status_emails():
    return OutboundEmail.objects.filter(idempotency_key__startswith="objective-status:")


def _current(quality_manager, staff, **overrides):
    """7 -> 5 days, from 100 days ago to 200 days ahead: the running month is inside it."""
    today = timezone.localdate()
    data = {"baseline_date": today - timedelta(days=100), "target_date": today + timedelta(days=200)}
    data.update(overrides)
    return make_objective(actor=quality_manager, owner=staff, **data)


def _sla(quality_manager, owner, **overrides):
    data = {
        "kpi_kind": "computed",
        "kpi": "sla_compliance",
        "kpi_label": "",
        "baseline_value": Decimal("60"),
        "target_value": Decimal("90"),
        "higher_is_better": True,
    }
    data.update(overrides)
    return make_objective(actor=quality_manager, owner=owner, **data)


# 1. The running period is provisional ------------------------------------------------------------


def test_a_figure_for_the_running_period_neither_changes_the_performance_nor_notifies(quality_manager, staff):
    objective = _current(quality_manager, staff)
    _record(objective, staff, timezone.localdate(), Decimal("9"))  # far off the path, but the month is not over
    objective.refresh_from_db()
    assert objective.performance == Performance.NO_DATA
    assert not PerformanceChange.objects.filter(objective=objective).exists()
    assert not _status_emails().exists()


def test_the_last_period_that_is_over_is_judged(quality_manager, staff):
    objective = _current(quality_manager, staff)
    last_month, _end = rules.previous_period(timezone.localdate(), "monthly")
    _record(objective, staff, last_month, Decimal("9"))
    _record(objective, staff, timezone.localdate(), Decimal("5"))  # provisional: the judgement stays on last month
    objective.refresh_from_db()
    assert objective.performance == Performance.OFF_TRACK


# 2. Closing -------------------------------------------------------------------------------------------


def test_closing_as_achieved_needs_achieved_figures_or_a_reason(quality_manager, staff, objective):
    with pytest.raises(BusinessRuleViolation, match="reason"):
        services.objective_transition(objective_id=objective.pk, to=Status.ACHIEVED, actor=quality_manager)
    _record(objective, staff, date(2026, 3, 1), Decimal("4.9"))
    objective.refresh_from_db()
    assert objective.performance == Performance.ACHIEVED
    closed = services.objective_transition(objective_id=objective.pk, to=Status.ACHIEVED, actor=quality_manager)
    assert closed.status == Status.ACHIEVED


@pytest.mark.parametrize("to", [Status.ACHIEVED, Status.CANCELLED])
def test_closing_as_achieved_or_cancelled_withdraws_the_proposal(quality_manager, staff, objective, to):
    _record(objective, staff, date(2026, 1, 1), Decimal("7.2"))  # off track
    objective.refresh_from_db()
    assert objective.action_proposed is True
    closed = services.objective_transition(objective_id=objective.pk, to=to, actor=quality_manager, reason="Reorg")
    assert closed.action_proposed is False
    entry = AuditEntry.objects.for_object(objective).filter(action=AuditEntry.Action.TRANSITION).latest("seq")
    assert entry.changes["action_proposed"] == [True, False]
    assert entry.reason == "Reorg"
    with pytest.raises(BusinessRuleViolation):
        services.objective_raise_action(objective_id=objective.pk, actor=quality_manager)


def test_a_not_achieved_objective_still_raises_its_action(quality_manager, objective):
    services.objective_transition(objective_id=objective.pk, to=Status.NOT_ACHIEVED, actor=quality_manager, reason="x")
    action = services.objective_raise_action(objective_id=objective.pk, actor=quality_manager)
    assert "was not achieved" in action.nonconformity


def test_no_action_is_raised_from_a_draft(quality_manager):
    draft = make_objective(actor=quality_manager, activate=False)
    draft.action_proposed = True  # a state no service produces: the status alone must refuse
    draft.save(update_fields=["action_proposed"])
    with pytest.raises(BusinessRuleViolation):
        services.objective_raise_action(objective_id=draft.pk, actor=quality_manager)


# 3. Drafts are judged on activation ----------------------------------------------------------------


def test_a_draft_is_not_judged_until_it_is_activated(quality_manager, staff):
    draft = make_objective(actor=quality_manager, owner=staff, activate=False)
    _record(draft, staff, date(2026, 1, 1), Decimal("7.2"))
    draft.refresh_from_db()
    assert (draft.performance, draft.action_proposed) == (Performance.NO_DATA, False)
    assert not PerformanceChange.objects.filter(objective=draft).exists()
    assert not _status_emails().exists()

    active = services.objective_activate(objective_id=draft.pk, actor=quality_manager)

    assert (active.performance, active.action_proposed) == (Performance.OFF_TRACK, True)
    assert PerformanceChange.objects.filter(objective=draft).count() == 1
    assert _status_emails().count() == 1


# 4. A draft with measurements keeps what they measure ----------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"period": "quarterly"},
        {"baseline_value": Decimal("8")},
        {"baseline_date": date(2026, 1, 2)},
        {"kpi_kind": "computed", "kpi": "sla_compliance", "baseline_value": Decimal("60"), "target_value": 90},
    ],
)
def test_a_draft_with_measurements_keeps_its_kpi_baseline_and_period(quality_manager, change):
    draft = make_objective(actor=quality_manager, activate=False)
    _record(draft, quality_manager, date(2026, 1, 1), Decimal("6.9"))
    if "kpi_kind" in change:
        change["higher_is_better"] = True
    with pytest.raises(BusinessRuleViolation, match="measurements"):
        services.objective_update(objective_id=draft.pk, actor=quality_manager, **change)
    updated = services.objective_update(objective_id=draft.pk, actor=quality_manager, title="Renamed")
    assert updated.title == "Renamed"


def test_recording_again_repairs_the_period_end(quality_manager, objective):
    first = _record(objective, quality_manager, date(2026, 2, 1), Decimal("6.5"))
    first.period_end = date(2026, 2, 27)  # as a row written before period_end was compared
    first.save(update_fields=["period_end"])
    again = _record(objective, quality_manager, date(2026, 2, 1), Decimal("6.5"))
    assert again.period_end == date(2026, 2, 28)
    entry = AuditEntry.objects.for_object(first).latest("seq")
    assert entry.changes["period_end"] == ["2026-02-27", "2026-02-28"]


# 5. Moving the goalposts needs a reason ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"target_value": Decimal("4")},
        {"target_date": date(2026, 9, 1)},
        {"tolerance": Decimal("0.5")},
        {"higher_is_better": True, "target_value": Decimal("8")},
    ],
)
def test_an_active_objectives_target_changes_only_with_a_reason(quality_manager, objective, change):
    with pytest.raises(BusinessRuleViolation, match="reason"):
        services.objective_update(objective_id=objective.pk, actor=quality_manager, reason="  ", **change)
    services.objective_update(objective_id=objective.pk, actor=quality_manager, reason="Board decision", **change)
    entry = AuditEntry.objects.for_object(objective).filter(action=AuditEntry.Action.UPDATE).latest("seq")
    assert entry.reason == "Board decision"
    assert set(change) <= set(entry.changes)


def test_a_draft_target_changes_without_a_reason(quality_manager):
    draft = make_objective(actor=quality_manager, activate=False)
    assert services.objective_update(
        objective_id=draft.pk, actor=quality_manager, target_value=Decimal("4")
    ).target_value == Decimal("4")


# 7. The KPI is computed outside the write transaction -------------------------------------------------


def test_measure_computes_before_it_takes_any_lock(quality_manager, staff, monkeypatch):
    objective = _sla(quality_manager, staff, baseline_date=date(2026, 1, 1), target_date=date(2026, 12, 31))
    depth = len(connection.savepoint_ids)
    seen = []
    compute = kpi_catalogue.compute

    def observed(*args, **kwargs):
        seen.append(len(connection.savepoint_ids))
        return compute(*args, **kwargs)

    monkeypatch.setattr(kpi_catalogue, "compute", observed)
    services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15))
    assert seen == [depth, depth]
    assert Measurement.objects.filter(objective=objective).count() == 2


# 10. Only the objective's periods are measured --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "allowed"),
    [(date(2025, 12, 31), False), (date(2026, 1, 1), True), (date(2026, 7, 31), True), (date(2026, 8, 1), False)],
)
def test_figures_only_for_periods_from_the_baselines_to_the_targets(quality_manager, objective, day, allowed):
    if allowed:
        assert _record(objective, quality_manager, day, Decimal("6.9")).value == Decimal("6.9")
    else:
        with pytest.raises(BusinessRuleViolation, match="Only the periods"):
            _record(objective, quality_manager, day, Decimal("6.9"))


# 12. Dates --------------------------------------------------------------------------------------------


def test_the_target_date_is_at_most_ten_years_after_the_baseline(quality_manager):
    with pytest.raises(BusinessRuleViolation, match="10 years"):
        make_objective(actor=quality_manager, baseline_date=date(2020, 1, 1), target_date=date(2030, 1, 2))
    objective = make_objective(actor=quality_manager, baseline_date=date(2020, 1, 1), target_date=date(2030, 1, 1))
    assert objective.target_date == date(2030, 1, 1)


def test_the_chart_shows_the_last_sixty_periods(quality_manager):
    objective = make_objective(
        actor=quality_manager, activate=False, baseline_date=date(2020, 1, 1), target_date=date(2029, 12, 31)
    )
    spans = charts.periods(objective, [])
    assert len(spans) == charts.MAX_PERIODS
    assert spans[0][0] == date(2025, 1, 1)
    assert spans[-1] == (date(2029, 12, 1), date(2029, 12, 31))


# 20. Owners ----------------------------------------------------------------------------------------------


def test_an_auditor_cannot_own_an_objective(quality_manager, auditor, objective):
    with pytest.raises(BusinessRuleViolation, match="owner"):
        make_objective(actor=quality_manager, owner=auditor)
    with pytest.raises(BusinessRuleViolation, match="owner"):
        services.objective_update(objective_id=objective.pk, actor=quality_manager, owner=auditor)


# 11. Filter values ----------------------------------------------------------------------------------------


def test_filters_name_a_known_channel_and_a_segment_in_use(quality_manager, staff):
    CustomerFactory(segment="Enterprise")
    with pytest.raises(BusinessRuleViolation, match="channel"):
        _sla(quality_manager, staff, filter_channel="pigeon")
    with pytest.raises(BusinessRuleViolation, match="segment"):
        _sla(quality_manager, staff, filter_segment="Retail")
    objective = _sla(quality_manager, staff, filter_channel="email", filter_segment="Enterprise")
    assert (objective.filter_channel, objective.filter_segment) == ("email", "Enterprise")
