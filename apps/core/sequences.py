"""Human-readable yearly references (CMP-2026-00042, FB-…, ACT-…), unique per prefix and year."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone


def next_reference(prefix: str, *, year: int | None = None, digits: int = 5) -> str:
    """The next reference for `prefix` in `year` (the organisation's current year by default).

    One upsert increments the (prefix, year) counter and locks its row until the caller's
    transaction ends, so concurrent creators queue instead of colliding, and a rolled-back
    create gives its number back.
    """
    year = year or timezone.localdate().year
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_referencecounter (prefix, year, last) VALUES (%s, %s, 1) "
            "ON CONFLICT (prefix, year) DO UPDATE SET last = core_referencecounter.last + 1 RETURNING last",
            [prefix, year],
        )
        (number,) = cursor.fetchone()
    return f"{prefix}-{year}-{number:0{digits}d}"
