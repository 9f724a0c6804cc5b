"""G4 (issues #7, #9): a management review over the bench's whole year of data.

- Compiling the 9.3.2 inputs (apps.reviews.inputs.compile_inputs: this period and the one
  before, 12-month trends, the KPI table, objectives, actions, requirements) against raw SQL
  over the source tables for the dashboard's figures of both periods (tests/bench/reference.py),
  <= 2x; the ratio against the dashboard's own roll-up queries for the same period is in the notes.
- Rendering the report PDF from that snapshot against a fixed WeasyPrint page (a heading, a
  table and an SVG chart, no portal code), seconds per page, <= 1.3x.

The review row lives in a transaction that is rolled back, so the bench data stay as loaded.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from django.db import connection, transaction

from tests.bench import harness
from tests.bench.reference import reference_dashboard, subject_dashboard

pytestmark = pytest.mark.timeout(600)

REFERENCE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
@page { size: A4; margin: 20mm; @bottom-right { content: "Page " counter(page) " of " counter(pages); } }
body { font: 9.5pt "DejaVu Sans", sans-serif; } table { width: 100%; border-collapse: collapse; }
td, th { border-bottom: 0.3pt solid #555; padding: 1mm; text-align: left; }
</style></head><body><h1>Reference page</h1>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 260" width="640" height="260">
<polyline fill="none" stroke="#0a3a6b" stroke-width="2" points="{points}"/>
<rect x="52" y="34" width="568" height="182" fill="none" stroke="#bbb"/></svg>
<table><thead><tr><th>Figure</th><th>This period</th><th>Previous period</th><th>Change</th></tr></thead>
<tbody>{rows}</tbody></table></body></html>"""


def _reference_page() -> str:
    points = " ".join(f"{60 + i * 46},{200 - (i * 37) % 150}" for i in range(12))
    rows = "".join(f"<tr><th>Figure {i}</th><td>{i * 3}</td><td>{i * 2}</td><td>+{i}</td></tr>" for i in range(30))
    return REFERENCE_PAGE.replace("{points}", points).replace("{rows}", rows)


def _previous(start: date, end: date) -> tuple[date, date]:
    from apps.reviews.inputs import Window

    previous = Window(start, end).previous
    return previous.start, previous.end


@pytest.fixture
def review(dataset):
    from apps.accounts.models import User
    from apps.reviews.models import ManagementReview

    start, end = date.fromisoformat(dataset.first_day), date.fromisoformat(dataset.last_day)
    with transaction.atomic():
        chair = User.objects.create_user(email="bench-chair@example.com", password=None, full_name="Bench Chair")
        yield ManagementReview.objects.create(
            reference="MR-BENCH",
            title="Bench year",
            period_start=start,
            period_end=end - timedelta(days=1),
            meeting_date=end + timedelta(days=7),
            chair=chair,
        )
        transaction.set_rollback(True)


def test_g4_compile_and_pdf(dataset, review):
    from apps.reviews import report as rendering
    from apps.reviews.inputs import compile_inputs
    from apps.reviews.models import ReviewSnapshot

    connection.ensure_connection()
    start, end = review.period_start, review.period_end + timedelta(days=1)
    before = _previous(start, end)

    def raw_sql():
        reference_dashboard(start, end)
        reference_dashboard(*before)

    data = compile_inputs(review)
    received = data["complaints"]["current"]["received"]
    assert received == sum(row[1] for row in reference_dashboard(start, end).months)  # same figures
    dashboard = harness.alternate(lambda: subject_dashboard(start, end), lambda: compile_inputs(review), repeats=3)
    dashboard_ratio = sorted(dashboard[1])[1] / sorted(dashboard[0])[1]
    harness.compare(
        "G4",
        lambda: compile_inputs(review),
        raw_sql,
        notes=(
            f"{start} to {end - timedelta(days=1)}: {received:,} complaints, "
            f"{data['feedback']['current']['total']:,} feedback, NPS {data['satisfaction']['current']['nps']}; "
            f"compile / the dashboard's roll-up queries for the same period: {dashboard_ratio:.1f}x"
        ),
    )

    snapshot = ReviewSnapshot(review=review, number=1, data=data, sha256="0" * 64, compiled_at=review.created_at)
    html = rendering.render_html(
        rendering.report_context(data=data, content=rendering.narrative(review), version=1, snapshot=snapshot)
    )
    reference_html = _reference_page()
    pages = {}

    def per_page(markup: str, key: str):
        def run() -> float:
            started = time.perf_counter()
            _pdf, count = rendering.render_document(markup)
            pages[key] = count
            return (time.perf_counter() - started) / count

        return run

    outcome = harness.compare(
        "G4-pdf",
        per_page(html, "report"),
        per_page(reference_html, "reference"),
        self_timed=True,
        notes="report pages {report}, reference pages {reference}",
    )
    outcome.notes = outcome.notes.format(**pages)
