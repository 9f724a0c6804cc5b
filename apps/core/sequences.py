"""Human-readable yearly references (CMP-2026-00042, FB-…, ACT-…)."""

from __future__ import annotations

from django.db import connection, models


def next_yearly_number(counter: type[models.Model], year: int, *, field: str = "last") -> int:
    """Increment and return the year's counter in one upsert.

    `counter` is a model with `year` as primary key and an integer `field`.
    The upsert locks the year's row until the caller's transaction ends, so
    concurrent creators queue instead of colliding, and a rolled-back create
    gives its number back.
    """
    table = connection.ops.quote_name(counter._meta.db_table)
    column = connection.ops.quote_name(counter._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (year, {column}) VALUES (%s, 1) "  # noqa: S608 - names from model metadata
            f"ON CONFLICT (year) DO UPDATE SET {column} = {table}.{column} + 1 RETURNING {column}",
            [year],
        )
        (number,) = cursor.fetchone()
    return number
