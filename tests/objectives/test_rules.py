"""The performance rule at its boundaries, and the measurement periods, by hand-computed figures."""

from datetime import date
from decimal import Decimal

import pytest

from apps.objectives import rules
from apps.objectives.models import Performance

# Lower is better: 7 days on 2026-01-01 to 5 days on 2026-07-01 (181 days).
LOWER = {
    "baseline": Decimal("7"),
    "baseline_date": date(2026, 1, 1),
    "target": Decimal("5"),
    "target_date": date(2026, 7, 1),
    "higher_is_better": False,
    "tolerance": Decimal("0.2"),
}
# Higher is better: NPS 20 on 2026-01-01 to 40 on 2026-11-01 (304 days).
HIGHER = {
    "baseline": Decimal("20"),
    "baseline_date": date(2026, 1, 1),
    "target": Decimal("40"),
    "target_date": date(2026, 11, 1),
    "higher_is_better": True,
    "tolerance": Decimal("2"),
}


def _planned(case, at):
    keys = ("baseline", "baseline_date", "target", "target_date")
    return rules.planned(**{k: case[k] for k in keys}, at=at)


def test_planned_path_is_the_straight_line_by_hand():
    # 2026-04-01 is day 90 of 181: 7 + (5 - 7) * 90 / 181
    assert _planned(LOWER, date(2026, 4, 1)) == Decimal(7) - Decimal(2) * Decimal(90) / Decimal(181)
    # 2026-06-12 is day 162 of 304 on the NPS line: 20 + 20 * 162 / 304
    assert _planned(HIGHER, date(2026, 6, 12)) == Decimal(20) + Decimal(20) * Decimal(162) / Decimal(304)


def test_planned_path_is_clamped_outside_the_dates():
    assert _planned(LOWER, date(2025, 12, 1)) == Decimal("7")
    assert _planned(LOWER, date(2026, 7, 1)) == Decimal("5")
    assert _planned(LOWER, date(2027, 1, 1)) == Decimal("5")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Performance.NO_DATA),
        (Decimal("30"), Performance.ON_TRACK),  # exactly on the path
        (Decimal("29.9999"), Performance.AT_RISK),  # just below it
        (Decimal("28"), Performance.AT_RISK),  # exactly the tolerance behind
        (Decimal("27.9999"), Performance.OFF_TRACK),  # just past the tolerance
        (Decimal("39.9999"), Performance.ON_TRACK),
        (Decimal("40"), Performance.ACHIEVED),  # meets the target
        (Decimal("41"), Performance.ACHIEVED),  # beats it
    ],
)
def test_higher_is_better_boundaries(value, expected):
    at = date(2026, 6, 2)  # day 152 of 304: half-way, so planned = 20 + 20 * 152 / 304 = 30
    assert _planned(HIGHER, at) == Decimal(30)
    assert rules.evaluate(value=value, at=at, **HIGHER) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("6"), Performance.ON_TRACK),  # half-way date, half-way value: exactly on the path
        (Decimal("6.0001"), Performance.AT_RISK),  # just worse (slower) than the path
        (Decimal("6.2"), Performance.AT_RISK),  # exactly the tolerance behind
        (Decimal("6.2001"), Performance.OFF_TRACK),
        (Decimal("5.5"), Performance.ON_TRACK),  # ahead of the path
        (Decimal("5"), Performance.ACHIEVED),
        (Decimal("4.8"), Performance.ACHIEVED),
    ],
)
def test_lower_is_better_boundaries(value, expected):
    case = {**LOWER, "target_date": date(2026, 7, 2)}  # 182 days, so day 91 (2026-04-02) is the half
    assert _planned(case, date(2026, 4, 2)) == Decimal(6)
    assert rules.evaluate(value=value, at=date(2026, 4, 2), **case) == expected


def test_after_the_target_date_the_path_is_the_target():
    assert rules.evaluate(value=Decimal("5.1"), at=date(2026, 8, 31), **LOWER) == Performance.AT_RISK
    assert rules.evaluate(value=Decimal("5.3"), at=date(2026, 8, 31), **LOWER) == Performance.OFF_TRACK


@pytest.mark.parametrize(
    ("day", "period", "expected"),
    [
        (date(2026, 2, 14), "monthly", (date(2026, 2, 1), date(2026, 2, 28))),
        (date(2026, 12, 31), "monthly", (date(2026, 12, 1), date(2026, 12, 31))),
        (date(2026, 5, 5), "quarterly", (date(2026, 4, 1), date(2026, 6, 30))),
        (date(2026, 11, 1), "quarterly", (date(2026, 10, 1), date(2026, 12, 31))),
    ],
)
def test_period_bounds(day, period, expected):
    assert rules.period_bounds(day, period) == expected


def test_previous_period_crosses_the_year():
    assert rules.previous_period(date(2026, 1, 10), "monthly") == (date(2025, 12, 1), date(2025, 12, 31))
    assert rules.previous_period(date(2026, 2, 10), "quarterly") == (date(2025, 10, 1), date(2025, 12, 31))


@pytest.mark.parametrize(
    ("higher", "value", "expected"),
    [
        (True, Decimal("3.3333"), Performance.ON_TRACK),  # 10/3 rounded to 4 places: on the path
        (True, Decimal("3.3332"), Performance.AT_RISK),
        (False, Decimal("6.6667"), Performance.ON_TRACK),  # 20/3 rounded to 4 places
        (False, Decimal("6.6668"), Performance.AT_RISK),
    ],
)
def test_the_planned_value_is_compared_at_four_decimal_places(higher, value, expected):
    baseline, target = (Decimal(0), Decimal(10)) if higher else (Decimal(10), Decimal(0))
    result = rules.evaluate(
        value=value,
        at=date(2026, 1, 2),
        baseline=baseline,
        baseline_date=date(2026, 1, 1),
        target=target,
        target_date=date(2026, 1, 4),
        higher_is_better=higher,
        tolerance=Decimal("1"),
    )
    assert result == expected
