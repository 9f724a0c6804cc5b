"""Measurements: manual figures, computed periods (nightly and on demand) and the recompute button."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.core.queue import enqueue_on_commit
from apps.objectives import kpi_catalogue, rules
from apps.objectives.models import Measurement, MeasurementSource, QualityObjective
from apps.objectives.services._common import Status, check_manager, lock
from apps.objectives.services.performance import evaluate

# A backfill covers at most five years of months: enough history for the chart, bounded work for one task.
MAX_BACKFILL = 60


def measurable_range(objective: QualityObjective) -> tuple[date, date]:
    """The first days of the baseline's and of the target's period: the periods an objective measures."""
    first, _end = rules.period_bounds(objective.baseline_date, objective.period)
    last, _end = rules.period_bounds(objective.target_date, objective.period)
    return first, last


def _upsert(
    objective: QualityObjective,
    *,
    period_start: date,
    value: Decimal | None,
    source: str,
    actor: User | None,
    note: str = "",
) -> tuple[Measurement, bool]:
    """Write the period's measurement, replacing an earlier one. Audited when it changes.

    Runs under the objective's row lock, so two writers of one period queue up
    instead of racing for the unique (objective, period_start) row.
    """
    start, end = rules.period_bounds(period_start, objective.period)
    now = timezone.now()
    measurement = Measurement.objects.filter(objective=objective, period_start=start).first()
    recorder = actor if getattr(actor, "is_authenticated", False) else None
    if measurement is None:
        measurement = Measurement.objects.create(
            objective=objective,
            period_start=start,
            period_end=end,
            value=value,
            source=source,
            recorded_by=recorder,
            recorded_at=now,
            note=note,
        )
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=measurement,
            changes={
                "objective": [None, objective.pk],
                "period_start": [None, start],
                "period_end": [None, end],
                "value": [None, value],
                "source": [None, source],
                "note": [None, note],
            },
        )
        return measurement, True
    before = {"period_end": measurement.period_end, "value": measurement.value, "source": measurement.source}
    before["note"] = measurement.note
    changes = audit.diff(before, {"period_end": end, "value": value, "source": source, "note": note})
    if not changes:
        return measurement, False
    measurement.period_end = end
    measurement.value = value
    measurement.source = source
    measurement.note = note
    measurement.recorded_by = recorder
    measurement.recorded_at = now
    measurement.save(update_fields=["period_end", "value", "source", "note", "recorded_by", "recorded_at"])
    audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=measurement, changes=changes)
    return measurement, True


@transaction.atomic
def measurement_record(
    *, objective_id: int, period_start: date, value: Decimal | None, actor: User, note: str = ""
) -> Measurement:
    """Enter (or correct) a manual KPI figure for the period containing `period_start`.

    The owner or a quality manager, on a manual KPI of a draft or active objective,
    for a period from the baseline's to the target's. Re-evaluates the performance.
    """
    objective = lock(objective_id)
    if objective.is_computed:
        raise BusinessRuleViolation(_("This objective's KPI is computed; its figures cannot be entered by hand."))
    if not objective.can_record_measurement(actor):
        raise PermissionDenied(_("Only the objective's owner or a quality manager enters its figures."))
    if objective.status not in (Status.DRAFT, Status.ACTIVE):
        raise BusinessRuleViolation(_("A closed objective takes no more measurements."))
    if period_start is None:
        raise BusinessRuleViolation(_("Give the period."))
    if period_start > timezone.localdate():
        raise BusinessRuleViolation(_("A period in the future cannot be measured yet."))
    first, last = measurable_range(objective)
    start, _end = rules.period_bounds(period_start, objective.period)
    if not first <= start <= last:
        raise BusinessRuleViolation(
            _("Only the periods from the baseline's (%(first)s) to the target's (%(last)s) are measured.")
            % {"first": first.isoformat(), "last": last.isoformat()}
        )
    measurement, _changed = _upsert(
        objective,
        period_start=period_start,
        value=value,
        source=MeasurementSource.MANUAL,
        actor=actor,
        note=(note or "").strip(),
    )
    evaluate(objective)
    return measurement


def _periods_between(first: date, last: date, period: str) -> list[tuple[date, date]]:
    """The periods from the one starting on `first` to the one containing `last`."""
    result = []
    start = first
    while start <= last:
        bounds = rules.period_bounds(start, period)
        result.append(bounds)
        start = bounds[1] + timedelta(days=1)
    return result


def _measured_filters(objective: QualityObjective) -> tuple:
    return (
        objective.kpi,
        objective.period,
        objective.filter_product_id,
        objective.filter_segment,
        objective.filter_category_id,
        objective.filter_channel,
    )


def objective_measure(
    *, objective_id: int, today: date | None = None, actor: User | None = None, backfill: bool = False
) -> list[Measurement]:
    """Compute the current and the previous period of an active computed objective, then its performance.

    With `backfill` (on activation and the recompute button) every period from the
    baseline's to the current one is computed, the latest MAX_BACKFILL of them.
    Idempotent: recomputing a period replaces its value (audited only when it changed).
    Periods outside the baseline's to the target's period are skipped. The KPI
    queries run first, outside any lock, so the objective's row lock and the
    audit chain's lock are held only for the short writes.
    """
    objective = QualityObjective.objects.get(pk=objective_id)
    if not objective.is_computed:
        raise BusinessRuleViolation(_("Only computed KPIs are recomputed."))
    if actor is not None and not objective.can_be_changed_by(actor):
        raise PermissionDenied(_("Only quality managers recompute objectives."))
    if objective.status != Status.ACTIVE:
        return []
    today = today or timezone.localdate()
    first, last = measurable_range(objective)
    if backfill:
        periods = _periods_between(first, min(today, objective.target_date), objective.period)[-MAX_BACKFILL:]
    else:
        periods = [rules.previous_period(today, objective.period), rules.period_bounds(today, objective.period)]
    values = [
        (start, kpi_catalogue.compute(objective, start=start, end=min(end, today)))
        for start, end in periods
        if first <= start <= last
    ]
    return _write_computed(objective_id, values, measured=_measured_filters(objective), today=today, actor=actor)


@transaction.atomic
def _write_computed(
    objective_id: int, values: list[tuple[date, Decimal | None]], *, measured: tuple, today: date, actor: User | None
) -> list[Measurement]:
    objective = lock(objective_id)
    if objective.status != Status.ACTIVE or _measured_filters(objective) != measured:
        # closed or re-filtered while the figures were computed: they no longer belong to it
        return []
    written = [
        _upsert(objective, period_start=start, value=value, source=MeasurementSource.COMPUTED, actor=actor)[0]
        for start, value in values
    ]
    evaluate(objective, today=today)
    return written


def enqueue_measure(objective_id: int, *, backfill: bool = False) -> None:
    from apps.objectives.tasks import measure_task

    enqueue_on_commit(measure_task, objective_id, backfill=backfill)


@transaction.atomic
def objective_request_recompute(*, objective_id: int, actor: User) -> QualityObjective:
    """The "recompute" button: checks the right now, recomputes the history in the worker after commit."""
    objective = QualityObjective.objects.get(pk=objective_id)
    check_manager(actor, objective)
    if not objective.is_computed:
        raise BusinessRuleViolation(_("Only computed KPIs are recomputed."))
    if objective.status != Status.ACTIVE:
        raise BusinessRuleViolation(_("Only active objectives are measured."))
    enqueue_measure(objective.pk, backfill=True)
    return objective
