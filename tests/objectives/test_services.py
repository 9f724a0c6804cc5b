"""Objective services: lifecycle, measurements (entered and computed), performance, notifications, actions."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.actions import sources
from apps.actions.models import CorrectiveAction
from apps.analytics.models import ComplaintDaily, ComplaintMonthly, ComplaintMonthlyTotal
from apps.audit.models import AuditEntry
from apps.complaints.models import ComplaintCategory
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.core.models import OutboundEmail
from apps.objectives import services, tasks
from apps.objectives.models import Measurement, Performance, PerformanceChange, QualityObjective
from tests.objectives.factories import make_objective

Status = QualityObjective.Status


def _record(objective, actor, month, value, year=2026):
    return services.measurement_record(
        objective_id=objective.pk, period_start=date(year, month, 1), value=value, actor=actor
    )


def _sla_objective(quality_manager, owner, **overrides):
    data = {
        "title": "Handle complaints within SLA",
        "kpi_kind": "computed",
        "kpi": "sla_compliance",
        "kpi_label": "",
        "baseline_value": Decimal("60"),
        "baseline_date": date(2026, 1, 1),
        "target_value": Decimal("90"),
        "target_date": date(2026, 12, 31),
        "higher_is_better": True,
        "unit": "%",
    }
    data.update(overrides)
    return make_objective(actor=quality_manager, owner=owner, **data)


def _rollup(day, *, closed, within, category=None, channel="web"):
    """A daily roll-up row and its month's rows kept in step, as the analytics refresh keeps them."""
    ComplaintDaily.objects.create(
        day=day, category=category, channel=channel, segment="", received=0, closed=closed, closed_within_sla=within
    )
    month, _created = ComplaintMonthly.objects.get_or_create(
        month=day.replace(day=1),
        product=None,
        segment="",
        category=category,
        defaults={"received": 0, "closed": 0, "closed_within_sla": 0},
    )
    month.closed += closed
    month.closed_within_sla += within
    month.save()
    total, _created = ComplaintMonthlyTotal.objects.get_or_create(
        month=day.replace(day=1), category=category, defaults={"received": 0, "closed": 0, "closed_within_sla": 0}
    )
    total.closed += closed
    total.closed_within_sla += within
    total.save()


# Creating and the lifecycle -------------------------------------------------------------------


def test_create_numbers_the_objective_and_writes_the_audit_entry(quality_manager, staff):
    objective = make_objective(actor=quality_manager, owner=staff, activate=False)
    assert objective.reference.startswith(f"OBJ-{timezone.localdate().year}-")
    assert objective.status == Status.DRAFT
    assert objective.performance == Performance.NO_DATA
    entry = AuditEntry.objects.for_object(objective).get()
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.changes["reference"] == [None, objective.reference]


@pytest.mark.parametrize("persona", ["staff", "auditor"])
def test_only_quality_managers_create_objectives(persona, request, staff):
    with pytest.raises(PermissionDenied):
        make_objective(actor=request.getfixturevalue(persona), owner=staff)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target_date": date(2025, 12, 1)}, "after the baseline"),
        ({"target_value": Decimal("7")}, "differ"),
        ({"higher_is_better": True}, "better than the baseline"),
        ({"kpi_label": ""}, "Name the manual KPI"),
        ({"filter_segment": "retail"}, "only to computed"),
    ],
)
def test_create_refuses_inconsistent_objectives(quality_manager, overrides, message):
    with pytest.raises(BusinessRuleViolation, match=message):
        make_objective(actor=quality_manager, activate=False, **overrides)


def test_computed_kpi_refuses_filters_it_does_not_support(quality_manager):
    category = ComplaintCategory.objects.create(name="Delivery")
    with pytest.raises(BusinessRuleViolation, match="cannot be filtered"):
        _sla_objective(quality_manager, quality_manager, kpi="nps", filter_category=category)
    objective = _sla_objective(quality_manager, quality_manager, filter_category=category)
    assert objective.filter_category == category


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([Status.ACTIVE], True),
        ([Status.CANCELLED], True),
        ([Status.ACHIEVED], False),
        ([Status.ACTIVE, Status.ACHIEVED], True),
        ([Status.ACTIVE, Status.NOT_ACHIEVED], True),
        ([Status.ACTIVE, Status.ACHIEVED, Status.ACTIVE], False),
        ([Status.ACTIVE, Status.CANCELLED, Status.ACTIVE], False),
    ],
)
def test_lifecycle_follows_the_transitions(quality_manager, path, allowed):
    objective = make_objective(actor=quality_manager, activate=False)
    *steps, last = path
    for step in steps:
        services.objective_transition(objective_id=objective.pk, to=step, actor=quality_manager, reason="r")
    if allowed:
        result = services.objective_transition(objective_id=objective.pk, to=last, actor=quality_manager, reason="r")
        assert result.status == last
        entry = AuditEntry.objects.for_object(objective).filter(action=AuditEntry.Action.TRANSITION).latest("seq")
        assert entry.changes["status"][1] == last
    else:
        with pytest.raises(InvalidTransition):
            services.objective_transition(objective_id=objective.pk, to=last, actor=quality_manager, reason="r")


def test_closing_as_not_achieved_needs_a_reason_and_proposes_an_action(quality_manager, objective):
    with pytest.raises(BusinessRuleViolation):
        services.objective_transition(objective_id=objective.pk, to=Status.NOT_ACHIEVED, actor=quality_manager)
    closed = services.objective_transition(
        objective_id=objective.pk, to=Status.NOT_ACHIEVED, actor=quality_manager, reason="Carrier changed"
    )
    assert closed.action_proposed is True


def test_staff_cannot_move_the_lifecycle(staff, objective):
    with pytest.raises(PermissionDenied):
        services.objective_transition(objective_id=objective.pk, to=Status.ACHIEVED, actor=staff)


def test_kpi_and_baseline_are_fixed_once_active(quality_manager, objective):
    with pytest.raises(BusinessRuleViolation, match="cannot change"):
        services.objective_update(objective_id=objective.pk, actor=quality_manager, baseline_value=Decimal("8"))
    updated = services.objective_update(
        objective_id=objective.pk, actor=quality_manager, title="Deliver in five days", reason="clearer"
    )
    assert updated.title == "Deliver in five days"
    entry = AuditEntry.objects.for_object(objective).filter(action=AuditEntry.Action.UPDATE).latest("seq")
    assert entry.changes["title"] == ["Faster deliveries", "Deliver in five days"]
    assert entry.reason == "clearer"


# Manual measurements ----------------------------------------------------------------------------


def test_owner_records_a_figure_for_the_whole_period_and_correcting_replaces_it(staff, objective):
    first = _record(objective, staff, 2, Decimal("6.8"))
    assert (first.period_start, first.period_end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert first.recorded_by == staff
    again = services.measurement_record(
        objective_id=objective.pk, period_start=date(2026, 2, 20), value=Decimal("6.3"), actor=staff
    )
    assert again.pk == first.pk
    assert Measurement.objects.filter(objective=objective).count() == 1
    entries = AuditEntry.objects.for_object(first).order_by("seq")
    assert [entry.action for entry in entries] == [AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE]
    assert entries.last().changes["value"] == ["6.8000", "6.3"]


def test_recording_the_same_value_twice_writes_no_second_entry(staff, objective):
    measurement = _record(objective, staff, 2, Decimal("6.8"))
    _record(objective, staff, 2, Decimal("6.8"))
    assert AuditEntry.objects.for_object(measurement).count() == 1


@pytest.mark.parametrize(("persona", "allowed"), [("staff", True), ("quality_manager", True), ("other_staff", False)])
def test_only_the_owner_or_a_manager_records_figures(request, objective, persona, allowed):
    actor = request.getfixturevalue(persona)
    if allowed:
        assert _record(objective, actor, 1, Decimal("7")).value == Decimal("7")
    else:
        with pytest.raises(PermissionDenied):
            _record(objective, actor, 1, Decimal("7"))


def test_auditor_records_nothing(auditor, objective):
    with pytest.raises(PermissionDenied):
        _record(objective, auditor, 1, Decimal("7"))


def test_no_figures_for_future_periods_or_closed_objectives(quality_manager, staff, objective):
    with pytest.raises(BusinessRuleViolation, match="future"):
        services.measurement_record(objective_id=objective.pk, period_start=date(2099, 1, 1), value=1, actor=staff)
    services.objective_transition(objective_id=objective.pk, to=Status.ACHIEVED, actor=quality_manager, reason="r")
    with pytest.raises(BusinessRuleViolation, match="closed"):
        _record(objective, staff, 1, Decimal("5"))


def test_an_empty_period_is_no_data_and_keeps_the_last_known_performance(staff, objective):
    _record(objective, staff, 1, Decimal("6.5"))  # ahead of the path
    _record(objective, staff, 2, None)
    objective.refresh_from_db()
    assert objective.performance == Performance.ON_TRACK
    assert Measurement.objects.get(objective=objective, period_start=date(2026, 2, 1)).value is None


# Performance and notification ---------------------------------------------------------------------


def test_performance_follows_the_latest_figure_and_each_change_notifies_the_owner_once(staff, objective):
    # January ends on day 30 of 181: planned 7 - 2 * 30/181 = 6.6685; tolerance 0.2
    _record(objective, staff, 1, Decimal("6.6"))
    objective.refresh_from_db()
    assert objective.performance == Performance.ON_TRACK
    _record(objective, staff, 1, Decimal("6.8"))  # 0.13 behind: at risk
    objective.refresh_from_db()
    assert objective.performance == Performance.AT_RISK
    _record(objective, staff, 1, Decimal("6.8"))  # unchanged: no new change, no new e-mail
    changes = list(PerformanceChange.objects.filter(objective=objective).order_by("number"))
    assert [(c.from_performance, c.to_performance) for c in changes] == [
        ("no_data", "on_track"),
        ("on_track", "at_risk"),
    ]
    emails = OutboundEmail.objects.filter(idempotency_key__startswith="objective-status:")
    assert sorted(emails.values_list("idempotency_key", flat=True)) == sorted(
        f"objective-status:{c.pk}" for c in changes
    )
    assert {email.to for email in emails} == {staff.email}
    assert "At risk" in emails.get(idempotency_key=f"objective-status:{changes[1].pk}").subject
    entry = AuditEntry.objects.for_object(objective).filter(changes__has_key="performance").latest("seq")
    assert entry.changes["performance"] == ["on_track", "at_risk"]


def test_turning_off_track_proposes_a_corrective_action_raised_with_one_click(quality_manager, staff, objective):
    _record(objective, staff, 1, Decimal("7.2"))  # worse than the baseline: off track
    objective.refresh_from_db()
    assert objective.performance == Performance.OFF_TRACK
    assert objective.action_proposed is True

    action = services.objective_raise_action(objective_id=objective.pk, actor=quality_manager)

    objective.refresh_from_db()
    assert objective.action_proposed is False
    assert list(objective.corrective_actions.all()) == [action]
    assert action.source == objective
    assert sources.source_url(action.source) == f"/objectives/{objective.pk}/"
    assert objective.reference in action.title
    assert "off track" in action.nonconformity
    assert "7.2" in action.nonconformity
    assert action.owner == staff
    with pytest.raises(BusinessRuleViolation):
        services.objective_raise_action(objective_id=objective.pk, actor=quality_manager)
    assert CorrectiveAction.objects.count() == 1


def test_staff_cannot_raise_the_proposed_action(staff, objective):
    _record(objective, staff, 1, Decimal("7.2"))
    with pytest.raises(PermissionDenied):
        services.objective_raise_action(objective_id=objective.pk, actor=staff)


# Computed measurements ---------------------------------------------------------------------------


def test_computed_kpi_matches_the_hand_computed_figure_and_an_empty_period_is_no_data(quality_manager, staff):
    objective = _sla_objective(quality_manager, staff)
    # October: 8 closed, 6 of them within SLA -> 75.0 %. November: nothing closed -> no data.
    _rollup(date(2026, 10, 3), closed=5, within=4)
    _rollup(date(2026, 10, 28), closed=3, within=2, channel="email")
    _rollup(date(2026, 9, 30), closed=10, within=0)  # outside both periods

    written = services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15))

    by_start = {m.period_start: m for m in written}
    assert by_start[date(2026, 10, 1)].value == Decimal("75.0")
    assert by_start[date(2026, 10, 1)].source == "computed"
    assert by_start[date(2026, 11, 1)].value is None
    # October ends on day 303 of 364: planned 60 + 30 * 303/364 = 84.97; 75 is 9.97 behind, tolerance 3
    objective.refresh_from_db()
    assert objective.performance == Performance.OFF_TRACK


def test_recomputing_a_period_replaces_and_never_duplicates(quality_manager, staff):
    objective = _sla_objective(quality_manager, staff)
    _rollup(date(2026, 10, 3), closed=4, within=4)
    services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15))
    services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15))
    october = Measurement.objects.get(objective=objective, period_start=date(2026, 10, 1))
    assert october.value == Decimal("100.0")
    assert AuditEntry.objects.for_object(october).count() == 1

    _rollup(date(2026, 10, 20), closed=4, within=0)
    services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15))
    october.refresh_from_db()
    assert october.value == Decimal("50.0")
    assert Measurement.objects.filter(objective=objective).count() == 2
    update = AuditEntry.objects.for_object(october).latest("seq")
    assert update.action == AuditEntry.Action.UPDATE
    assert update.actor_kind == AuditEntry.ActorKind.SYSTEM


def test_computed_kpi_applies_its_filters(quality_manager, staff):
    delivery = ComplaintCategory.objects.create(name="Delivery")
    billing = ComplaintCategory.objects.create(name="Billing")
    objective = _sla_objective(quality_manager, staff, filter_category=delivery)
    _rollup(date(2026, 10, 3), closed=4, within=1, category=delivery)
    _rollup(date(2026, 10, 3), closed=4, within=4, category=billing)
    services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15))
    assert Measurement.objects.get(objective=objective, period_start=date(2026, 10, 1)).value == Decimal("25.0")


def test_figures_of_a_computed_kpi_cannot_be_entered(quality_manager, staff):
    objective = _sla_objective(quality_manager, staff)
    with pytest.raises(BusinessRuleViolation, match="computed"):
        _record(objective, quality_manager, 10, Decimal("80"))


def test_measure_skips_periods_before_the_baseline_and_draft_objectives(quality_manager, staff):
    objective = _sla_objective(quality_manager, staff, baseline_date=date(2026, 11, 1))
    written = services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15))
    assert [m.period_start for m in written] == [date(2026, 11, 1)]
    draft = _sla_objective(quality_manager, staff, activate=False)
    assert services.objective_measure(objective_id=draft.pk, today=date(2026, 11, 15)) == []


# Tasks --------------------------------------------------------------------------------------------


def test_measure_all_queues_one_measure_per_active_computed_objective(
    quality_manager, staff, objective, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    dates = {"baseline_date": today - timedelta(days=200), "target_date": today + timedelta(days=200)}
    _sla_objective(quality_manager, staff, **dates)
    _sla_objective(quality_manager, staff, activate=False, **dates)
    with django_capture_on_commit_callbacks() as callbacks:
        assert tasks.measure_all_task() == 1
    # one measure, and the e-mail telling the owner of `objective` (due 2026-07-01) its target period is over
    assert len(callbacks) == 2
    objective.refresh_from_db()
    assert objective.past_target_notified_at is not None


def test_measure_task_body_measures_and_is_idempotent(quality_manager, staff):
    today = timezone.localdate()
    objective = _sla_objective(
        quality_manager, staff, baseline_date=today - timedelta(days=200), target_date=today + timedelta(days=200)
    )
    _rollup(today.replace(day=1), closed=2, within=1)
    assert tasks.measure_task(objective.pk) >= 1
    count = Measurement.objects.filter(objective=objective).count()
    tasks.measure_task(objective.pk)
    assert Measurement.objects.filter(objective=objective).count() == count
    assert tasks.measure_task(999999) == 0


def test_activating_a_computed_objective_and_recompute_queue_a_measure_after_commit(
    quality_manager, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as on_activate:
        objective = _sla_objective(quality_manager, staff)
    with django_capture_on_commit_callbacks() as on_recompute:
        services.objective_request_recompute(objective_id=objective.pk, actor=quality_manager)
    assert (len(on_activate), len(on_recompute)) == (1, 1)
    with pytest.raises(PermissionDenied):
        services.objective_request_recompute(objective_id=objective.pk, actor=staff)


def test_back_on_the_path_withdraws_the_proposal_and_a_new_target_reevaluates(quality_manager, staff, objective):
    _record(objective, staff, 1, Decimal("7.2"))
    _record(objective, staff, 2, Decimal("6.3"))  # February: planned 6.36, 6.3 is ahead
    objective.refresh_from_db()
    assert (objective.performance, objective.action_proposed) == (Performance.ON_TRACK, False)
    services.objective_update(
        objective_id=objective.pk, actor=quality_manager, target_value=Decimal("2"), reason="Customer asks for 2 days"
    )
    objective.refresh_from_db()
    # February ends on day 58 of 181: planned 7 - 5 * 58/181 = 5.40; 6.3 is 0.9 behind, tolerance 0.5
    assert (objective.performance, objective.action_proposed) == (Performance.OFF_TRACK, True)


def test_a_draft_switched_to_a_computed_kpi_drops_its_manual_label(quality_manager):
    draft = make_objective(actor=quality_manager, activate=False)
    services.objective_update(
        objective_id=draft.pk,
        actor=quality_manager,
        kpi_kind="computed",
        kpi="sla_compliance",
        baseline_value=Decimal("60"),
        target_value=Decimal("90"),
        higher_is_better=True,
    )
    draft.refresh_from_db()
    assert (draft.kpi_kind, draft.kpi, draft.kpi_label) == ("computed", "sla_compliance", "")
    entry = AuditEntry.objects.for_object(draft).filter(action=AuditEntry.Action.UPDATE).latest("seq")
    assert entry.changes["kpi_label"] == ["Average delivery time in days", ""]
