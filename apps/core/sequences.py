"""Human-readable yearly references (CMP-2026-00042, FB-…, ACT-…), unique per prefix and year.

Both ways of drawing one go through the database's qms_next_reference() (migration core
0005): one upsert increments the (prefix, year) counter and locks its row until the
caller's transaction ends, so concurrent creators queue instead of colliding, and a
rolled-back create gives its number back.
"""

from __future__ import annotations

from django.db import connection, models
from django.utils import timezone


def next_reference(prefix: str, *, year: int | None = None, digits: int = 5) -> str:
    """The next reference for `prefix` in `year` (the organisation's current year by default)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT qms_next_reference(%s, %s, %s)", [prefix, year or timezone.localdate().year, digits])
        (reference,) = cursor.fetchone()
    return reference


class NextReference(models.Func):
    """The next reference, drawn by the INSERT of the record itself (assign it to a
    ReferenceField before save()), so that the counter is locked for the shortest time:
    from the INSERT to COMMIT."""

    function = "qms_next_reference"
    output_field = models.CharField()

    def __init__(self, prefix: str, *, year: int | None = None, digits: int = 5):
        super().__init__(models.Value(prefix), models.Value(year or timezone.localdate().year), models.Value(digits))


class ReferenceField(models.CharField):
    """A reference column whose value PostgreSQL sends back from the INSERT (RETURNING), so a
    NextReference drawn there is on the instance right after save()."""

    db_returning = True
