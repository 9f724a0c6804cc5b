"""The one CSV writer: every CSV the portal produces goes through here (DESIGN.md, "one
CSV/XLSX writer (formula-safe)").

A spreadsheet opening a CSV runs a cell that starts with =, +, - or @ as a formula, and some
treat a leading tab or carriage return the same way (OWASP, "CSV Injection"). Much of what we
export was typed by someone else: the public complaint and feedback forms, survey answers,
staff free text. So a text cell that would start a formula is written with an apostrophe in
front (`'=HYPERLINK(...)`), which spreadsheets show as text and never evaluate. Leading spaces
and line breaks before such a character count too, because some importers trim them first.

Only text is neutralised. A number is data: -5 from a numeric column is written -5, while the
text "-5" typed into a free-text field gets its apostrophe like any other text. The JSON files
beside our CSVs (evidence packs) keep every value verbatim; the apostrophe is a CSV matter.

Three ways in, one rule (FORMULA):
- `cell(value)` turns one Python value into what the CSV holds;
- `writer(file)` and `lines(rows)` write rows built in Python (a file, or a streaming response
  through `response(rows, filename=...)`);
- `copy_csv(statement, target)` streams a query with PostgreSQL COPY, the test done in SQL on
  every text-typed column, so the rows never pass through Python (evidence packs, where COPY
  is what keeps a pack of millions of records fast).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.http import StreamingHttpResponse

# Written so that Python's re and PostgreSQL's regular expressions read it the same way (both
# take \t \r \n inside brackets); a test runs the samples through both.
FORMULA = r"^[\t\r]|^[ \t\r\n]*[-=+@]"
NEUTRALISER = "'"
BOM = "\ufeff"  # so spreadsheet programs read the file as UTF-8

_formula = re.compile(FORMULA)


def safe_text(text: str) -> str:
    """`text` as a spreadsheet will show it, never run it: an apostrophe in front of a formula.
    A value already starting with the apostrophe is left as it is, so applying this twice
    changes nothing."""
    return NEUTRALISER + text if _formula.match(text) else text


def cell(value: Any) -> Any:
    """One value as a CSV cell: None is empty, dates ISO 8601, dicts and lists JSON, numbers as
    they are, everything else text made formula-safe."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return safe_text(json.dumps(value, cls=DjangoJSONEncoder))
    return safe_text(str(value))


class Writer:
    """`csv.writer` over `file` with every cell passed through `cell()`."""

    def __init__(self, file):
        self._writer = csv.writer(file)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file) -> Writer:
    return Writer(file)


class _Line:
    """A file whose write returns the line, so the writer can feed a generator."""

    def write(self, line: str) -> str:
        return line


def lines(rows: Iterable[Iterable[Any]], *, bom: bool = True) -> Iterator[str]:
    """The CSV text of `rows`, one line at a time (for a streaming response)."""
    out = Writer(_Line())
    if bom:
        yield BOM
    for row in rows:
        yield out.writerow(row)


def response(rows: Iterable[Iterable[Any]], *, filename: str) -> StreamingHttpResponse:
    """A CSV download streamed from `rows`; the caller records the export before calling."""
    result = StreamingHttpResponse(lines(rows), content_type="text/csv")
    result["Content-Disposition"] = f'attachment; filename="{filename}"'
    result["Cache-Control"] = "no-store"
    return result


# --- PostgreSQL COPY -----------------------------------------------------------------------------


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def safe_select(cursor, statement: str) -> str:
    """`statement` (complete SQL, parameters already bound) wrapped in a SELECT that applies
    FORMULA to each of its text-typed columns and keeps every column's name and order.

    The statement's columns are found by running it with LIMIT 0; which of them are text is
    PostgreSQL's own type category "S" (text, varchar, char, name, and domains over them), so
    numbers, dates, booleans, JSON and arrays pass untouched. The columns are renamed by
    position first, because an ORM query may yield two columns of the same name."""
    cursor.execute(f"SELECT * FROM ({statement}) AS q LIMIT 0")  # noqa: S608
    columns = [(column.name, column.type_code) for column in cursor.description]
    cursor.execute("SELECT oid FROM pg_type WHERE oid = ANY(%s) AND typcategory = 'S'", [[t for _, t in columns]])
    text_types = {oid for (oid,) in cursor.fetchall()}
    pattern, neutraliser = (cursor.mogrify("%s", [value]).decode() for value in (FORMULA, NEUTRALISER))
    outputs = []
    for position, (name, type_code) in enumerate(columns, start=1):
        value = column = f"c{position}"
        if type_code in text_types:
            value = f"CASE WHEN {column} ~ {pattern} THEN {neutraliser} || {column} ELSE {column} END"
        outputs.append(f"{value} AS {_identifier(name)}")
    renamed = ", ".join(f"c{position}" for position in range(1, len(columns) + 1))
    return f"SELECT {', '.join(outputs)} FROM ({statement}) AS q({renamed})"  # noqa: S608


def copy_csv(statement: str, target, *, header: bool = True) -> str:
    """Stream `statement`'s rows as formula-safe CSV into `target` (anything with write());
    returns the SELECT that produced them, for a manifest to record."""
    with connection.cursor() as cursor:
        select = safe_select(cursor, statement)
        options = "FORMAT csv, HEADER" if header else "FORMAT csv"
        cursor.copy_expert(f"COPY ({select}) TO STDOUT WITH ({options})", target)
    return select
