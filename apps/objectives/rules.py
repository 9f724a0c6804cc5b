"""The performance rule and the measurement periods: plain functions of Decimals and dates.

The rule, as stated on every objective page:
planned(t) = baseline + (target - baseline) * (t - baseline date) / (target date - baseline date),
held at the target after the target date (and at the baseline before the baseline date).
The latest measurement m, taken at the end t of its period, is
- achieved when m meets or beats the target (in the objective's direction);
- on track when m meets or beats planned(t) (exactly on the path is on track);
- at risk when m is worse than planned(t) by no more than the tolerance;
- off track otherwise.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from apps.objectives.models import Performance, Period

# Measurements carry 4 decimal places; the planned value is compared at the same precision,
# so a figure that is the path rounded to 4 places counts as on the path.
PRECISION = Decimal("0.0001")


def planned(*, baseline: Decimal, baseline_date: date, target: Decimal, target_date: date, at: date) -> Decimal:
    """The value the straight-line path from baseline to target expects on day `at`."""
    if at >= target_date:
        return target
    if at <= baseline_date:
        return baseline
    elapsed = Decimal((at - baseline_date).days)
    span = Decimal((target_date - baseline_date).days)
    return baseline + (target - baseline) * elapsed / span


def evaluate(
    *,
    value: Decimal | None,
    at: date,
    baseline: Decimal,
    baseline_date: date,
    target: Decimal,
    target_date: date,
    higher_is_better: bool,
    tolerance: Decimal,
) -> str:
    """The performance of measurement `value` taken at the end `at` of its period."""
    if value is None:
        return Performance.NO_DATA
    sign = Decimal(1) if higher_is_better else Decimal(-1)
    if (value - target) * sign >= 0:
        return Performance.ACHIEVED
    expected = planned(
        baseline=baseline, baseline_date=baseline_date, target=target, target_date=target_date, at=at
    ).quantize(PRECISION, rounding=ROUND_HALF_UP)
    shortfall = (expected - value) * sign
    if shortfall <= 0:
        return Performance.ON_TRACK
    if shortfall <= tolerance:
        return Performance.AT_RISK
    return Performance.OFF_TRACK


def evaluate_objective(objective, *, value: Decimal | None, at: date) -> str:
    return evaluate(
        value=value,
        at=at,
        baseline=objective.baseline_value,
        baseline_date=objective.baseline_date,
        target=objective.target_value,
        target_date=objective.target_date,
        higher_is_better=objective.higher_is_better,
        tolerance=objective.effective_tolerance,
    )


def period_bounds(day: date, period: str) -> tuple[date, date]:
    """The period containing `day`: (first day, last day), both included."""
    if period == Period.QUARTERLY:
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first_month, 1)
        months = 3
    else:
        start = date(day.year, day.month, 1)
        months = 1
    month_index = start.month - 1 + months
    next_start = date(start.year + month_index // 12, month_index % 12 + 1, 1)
    return start, next_start - timedelta(days=1)


def previous_period(day: date, period: str) -> tuple[date, date]:
    start, _end = period_bounds(day, period)
    return period_bounds(start - timedelta(days=1), period)
