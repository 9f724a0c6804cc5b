"""Working-time arithmetic for complaint SLAs.

Working time is Mon-Fri within WORKING_HOURS (start, end) in the organisation's
TIME_ZONE, minus public holidays of HOLIDAY_COUNTRY. A "working day" of budget
is one full working day's hours.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from functools import cache

from django.conf import settings

# The policy quality managers edit lives in SlaPolicy rows (seeded with these values by a
# migration); this is what a severity without a row falls back to.
DEFAULT_POLICY = {
    "critical": {"acknowledge_hours": 2, "assess_hours": 4, "respond_days": 2, "close_days": 5},
    "high": {"acknowledge_hours": 4, "assess_hours": 8, "respond_days": 5, "close_days": 10},
    "medium": {"acknowledge_hours": 8, "assess_hours": 16, "respond_days": 10, "close_days": 20},
    "low": {"acknowledge_hours": 16, "assess_hours": 24, "respond_days": 15, "close_days": 30},
}


def policies() -> dict[str, dict[str, int]]:
    """Every severity's limits (one query); pass the result on when handling many complaints."""
    from apps.complaints.models import SlaPolicy

    stored = {row.severity: row.as_dict() for row in SlaPolicy.objects.all()}
    return {severity: stored.get(severity, limits) for severity, limits in DEFAULT_POLICY.items()}


def policy(severity: str, table: dict[str, dict[str, int]] | None = None) -> dict[str, int]:
    return (table or policies())[severity]


def warning_fraction() -> float:
    return settings.COMPLAINT_SLA_WARNING_PERCENT / 100


def _hours() -> tuple[int, int]:
    start, end = settings.WORKING_HOURS
    return int(start), int(end)


def _tz():
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


@cache
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        import holidays
    except ImportError:  # pragma: no cover - the package is pinned in requirements
        return frozenset()
    return frozenset(holidays.country_holidays(country, years=year).keys())


def is_working_day(day: date) -> bool:
    country = settings.HOLIDAY_COUNTRY
    return day.weekday() < 5 and (not country or day not in _holidays(country, day.year))


def day_seconds() -> int:
    start, end = _hours()
    return (end - start) * 3600


def stage_budgets(severity: str, table: dict[str, dict[str, int]] | None = None) -> dict[str, int]:
    """Working seconds allowed for each stage, counted from receipt."""
    p = policy(severity, table)
    return {
        "acknowledge": int(p["acknowledge_hours"]) * 3600,
        "assess": int(p["assess_hours"]) * 3600,
        "respond": int(p["respond_days"]) * day_seconds(),
        "close": int(p["close_days"]) * day_seconds(),
    }


def _window(day: date) -> tuple[datetime, datetime]:
    start, end = _hours()
    tz = _tz()
    return datetime.combine(day, time(start), tzinfo=tz), datetime.combine(day, time(end), tzinfo=tz)


def add_working_seconds(start: datetime, seconds: int) -> datetime:
    """The moment `seconds` of working time after `start`."""
    current = start.astimezone(_tz())
    remaining = max(0, int(seconds))
    for _ in range(3660):  # ten years of days: a hard bound for a misconfiguration
        day = current.date()
        if is_working_day(day):
            opens, closes = _window(day)
            current = max(current, opens)
            if current < closes:
                available = (closes - current).total_seconds()
                if remaining <= available:
                    return current + timedelta(seconds=remaining)
                remaining -= available
        current = datetime.combine(day + timedelta(days=1), time(0), tzinfo=_tz())
    raise ValueError("SLA computation did not finish; check WORKING_HOURS and the holiday calendar.")


def working_seconds_between(start: datetime, end: datetime) -> int:
    """Working seconds in [start, end)."""
    if end <= start:
        return 0
    tz = _tz()
    start, end = start.astimezone(tz), end.astimezone(tz)
    total = 0.0
    day = start.date()
    while day <= end.date():
        if is_working_day(day):
            opens, closes = _window(day)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return int(total)
