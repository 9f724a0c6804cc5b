"""The nightly run: which objectives are still measured, and the one notice when a target period is over."""

from datetime import date
from decimal import Decimal

import pytest

from apps.actions.models import CorrectiveAction
from apps.audit.models import AuditEntry
from apps.core.models import OutboundEmail
from apps.objectives import services, tasks
from apps.objectives.models import QualityObjective
from tests.objectives.factories import make_objective

Status = QualityObjective.Status
SLA = {
    "kpi_kind": "computed",
    "kpi": "sla_compliance",
    "kpi_label": "",
    "baseline_value": Decimal("60"),
    "target_value": Decimal("90"),
    "higher_is_better": True,
    "baseline_date": date(2026, 1, 1),
}


@pytest.mark.parametrize(
    ("target_date", "today", "queued"),
    [
        (date(2026, 7, 1), date(2026, 8, 5), 1),  # July is the previous period: its final recompute
        (date(2026, 7, 1), date(2026, 9, 1), 0),  # July is long over: nothing left to measure
        (date(2026, 12, 31), date(2026, 9, 1), 1),
    ],
)
def test_measure_all_skips_objectives_whose_target_period_is_long_over(
    quality_manager, django_capture_on_commit_callbacks, target_date, today, queued
):
    make_objective(actor=quality_manager, target_date=target_date, **SLA)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.measure_all(today=today) == queued
    assert len(callbacks) == queued


def _emails(objective):
    return OutboundEmail.objects.filter(idempotency_key=f"objective-past-target:{objective.pk}")


def test_an_objective_past_its_target_period_tells_the_owner_once_and_proposes_an_action(
    quality_manager, staff, objective
):
    assert services.notify_past_target(today=date(2026, 7, 31)) == 0  # July, the target's period, is not over
    assert services.notify_past_target(today=date(2026, 8, 1)) == 1
    objective.refresh_from_db()
    assert objective.past_target_notified_at is not None
    assert objective.action_proposed is True
    assert [email.to for email in _emails(objective)] == [staff.email]
    entry = AuditEntry.objects.for_object(objective).latest("seq")
    assert entry.changes["action_proposed"] == [False, True]

    action = services.objective_raise_action(objective_id=objective.pk, actor=quality_manager)
    assert "end of its target period" in action.nonconformity
    assert services.notify_past_target(today=date(2026, 8, 2)) == 0
    objective.refresh_from_db()
    assert objective.action_proposed is False
    assert _emails(objective).count() == 1
    assert CorrectiveAction.objects.count() == 1


def test_an_achieved_objective_past_its_target_is_told_but_proposes_nothing(quality_manager, staff, objective):
    services.measurement_record(
        objective_id=objective.pk, period_start=date(2026, 6, 1), value=Decimal("4.8"), actor=staff
    )
    assert services.notify_past_target(today=date(2026, 8, 1)) == 1
    objective.refresh_from_db()
    assert (objective.performance, objective.action_proposed) == ("achieved", False)
    assert _emails(objective).count() == 1


def test_closed_and_draft_objectives_are_not_told(quality_manager):
    make_objective(actor=quality_manager, activate=False)
    closed = make_objective(actor=quality_manager)
    services.objective_transition(objective_id=closed.pk, to=Status.CANCELLED, actor=quality_manager, reason="x")
    assert services.notify_past_target(today=date(2026, 8, 1)) == 0


# Backfill on activation and recompute -------------------------------------------------------------------


def test_backfill_computes_every_period_from_the_baseline_to_today(quality_manager):
    objective = make_objective(actor=quality_manager, target_date=date(2026, 12, 31), **SLA)
    written = services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15), backfill=True)
    assert [m.period_start for m in written] == [date(2026, month, 1) for month in range(1, 12)]
    assert all(m.value is None for m in written)  # no complaints closed: no data, never 0


def test_backfill_is_capped_to_the_latest_periods(quality_manager):
    objective = make_objective(
        actor=quality_manager, **{**SLA, "baseline_date": date(2020, 1, 1)}, target_date=date(2029, 12, 1)
    )
    written = services.objective_measure(objective_id=objective.pk, today=date(2026, 11, 15), backfill=True)
    assert len(written) == 60
    assert (written[0].period_start, written[-1].period_start) == (date(2021, 12, 1), date(2026, 11, 1))


def test_activation_and_recompute_queue_a_backfill(quality_manager, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.measure_task, "delay", lambda *args, **kwargs: sent.append((args, kwargs)))
    draft = make_objective(actor=quality_manager, activate=False, target_date=date(2026, 12, 31), **SLA)
    with django_capture_on_commit_callbacks(execute=True):
        services.objective_activate(objective_id=draft.pk, actor=quality_manager)
    with django_capture_on_commit_callbacks(execute=True):
        services.objective_request_recompute(objective_id=draft.pk, actor=quality_manager)
    assert sent == [((draft.pk,), {"backfill": True})] * 2
