"""The frozen inputs of a review over Feb-Mar 2026 against the analytics dataset, computed by
hand (tests/analytics/conftest.py lists every record), and the PDF read back with pypdf."""

from __future__ import annotations

import hashlib
import io

import pypdf

from apps.reviews.services import report_path
from tests.reviews.conftest import compiled


def pdf_text(report) -> str:
    data = report_path(report.file_name).read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_snapshot_figures_and_pdf(dataset, quality_manager, review):
    report = compiled(quality_manager, review)
    data = report.snapshot.data
    assert data["period"] == {"start": "2026-02-01", "end": "2026-03-31"}
    assert data["previous_period"] == {"start": "2025-12-01", "end": "2026-01-31"}
    # Complaints received c3 c4 c5 c6 against c1 c2; closed c3 c4 c6 (c4 c6 within SLA) against c1.
    complaints = data["complaints"]
    assert (complaints["current"]["received"], complaints["previous"]["received"]) == (4, 2)
    assert (complaints["current"]["closed"], complaints["previous"]["closed"]) == (3, 1)
    assert (complaints["current"]["sla_pct"], complaints["previous"]["sla_pct"]) == ("66.7", "100.0")
    # Answers a3 (6, 2, 3), a4 (8, 3), a5 (3, 5, 5): two detractors of three, one satisfied of three.
    satisfaction = data["satisfaction"]
    assert satisfaction["current"]["nps"] == "-66.7"
    assert satisfaction["current"]["csat_pct"] == "33.3"
    assert satisfaction["current"]["ces_mean"] == "4.00"
    # a1 (10, 5, 6), a2 (9, 4, 7)
    assert (satisfaction["previous"]["nps"], satisfaction["previous"]["ces_mean"]) == ("100.0", "6.50")
    # f3 neutral, f4 unrated, f5 negative against f1 positive, f2 negative.
    feedback = data["feedback"]
    assert feedback["current"] | {"negative_pct": None} == {
        "positive": 0,
        "neutral": 1,
        "negative": 1,
        "unrated": 1,
        "total": 3,
        "negative_pct": None,
    }
    assert feedback["previous"]["total"] == 2
    assert [row["count"] for row in complaints["pareto"]] == [2, 1, 1]  # damaged c3 c5; wrong c6; none c4

    assert review.status == "compiled"
    stored = report_path(report.file_name).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == report.sha256
    assert len(stored) == report.size
    text = pdf_text(report)
    assert review.reference in text
    assert "2026-02-01 \N{EN DASH} 2026-03-31" in text
    assert "-66.7 points" in text
    assert "66.7 %" in text
    assert "33.3 %" in text
    assert f"Page 1 of {report.pages}" in text
