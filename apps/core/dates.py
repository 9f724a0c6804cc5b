"""Calendar arithmetic shared by the apps that report by month."""

from __future__ import annotations

from datetime import date


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before, when negative) the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
