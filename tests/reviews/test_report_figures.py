"""What the report tells top management (#24): which objectives are in scope, changes computed
from the unrounded figures and named in the right unit, table headers over their own values in
the PDF, and the e-mail that announces a report."""

from __future__ import annotations

import io
import re
from datetime import date
from html.parser import HTMLParser

import pypdf
import pytest
from django.core import mail

from apps.core.models import OutboundEmail
from apps.core.services import email_send
from apps.objectives.models import ObjectiveStatus
from apps.reviews import report as rendering
from apps.reviews import services
from apps.reviews.services import report_path
from tests.analytics.conftest import local
from tests.objectives.factories import make_objective
from tests.reviews.conftest import compiled, make_review, run_jobs

pytestmark = pytest.mark.django_db


# --- 1. objectives in scope -------------------------------------------------------------------


def test_objectives_active_during_the_period_count_even_when_entered_afterwards(quality_manager, review):
    """Objectives are usually typed into the portal after they were set: one entered today with a
    baseline in January was running during February-March and belongs in that review."""
    for title in ("Faster deliveries", "Fewer complaints", "Happier customers"):
        make_objective(actor=quality_manager, title=title)
    make_objective(actor=quality_manager, title="Not started yet", baseline_date=date(2026, 4, 1))
    make_objective(actor=quality_manager, title="Still a draft", activate=False)
    last_year = {"baseline_date": date(2025, 1, 1), "target_date": date(2025, 12, 31)}
    make_objective(actor=quality_manager, title="Over before", **last_year)
    ended = make_objective(actor=quality_manager, title="Ended last year", **last_year)
    from apps.objectives import services as objectives

    objectives.objective_transition(
        objective_id=ended.pk, to=ObjectiveStatus.NOT_ACHIEVED, actor=quality_manager, reason="Missed."
    )

    report = compiled(quality_manager, review)
    objectives_in = report.snapshot.data["objectives"]
    titles = sorted(row["title"] for row in objectives_in["rows"])
    # "Over before" is still active (overdue), so it was running during the period too.
    assert titles == ["Faster deliveries", "Fewer complaints", "Happier customers", "Over before"]
    assert objectives_in["total"] == 4
    assert "0 of 4 objectives achieved or on track." in pdf_text(report)


# --- 4. changes from unrounded figures ---------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "exact", "unit", "expected"),
    [
        # 14/23 = 60.87 % and 12/22 = 54.55 %: printed 60.9 and 54.5, but the change is 6.32 pp.
        ("60.9", "54.5", ("1400/23", "1200/22"), "%", "+6.3 pp"),
        ("66.7", "0.0", ("400/6", "0"), "%", "+66.7 pp"),
        ("66.67", "0.00", ("400/6", "0"), "%", "+66.67 pp"),
        ("54.5", "60.9", ("1200/22", "1400/23"), "%", "\N{MINUS SIGN}6.3 pp"),
        ("21.7", "9.1", ("500/23", "200/22"), "points", "+12.6 points"),
        ("4.00", "6.50", None, "", "\N{MINUS SIGN}2.50"),
        ("3", "1", None, "", "+2"),
        ("50.0", "50.0", ("50", "50"), "%", "0.0 pp"),
    ],
)
def test_a_change_is_the_rounded_difference_of_the_exact_figures(current, previous, exact, unit, expected):
    exact_now, exact_before = exact or (None, None)
    change = rendering.change(
        current, previous, exact_current=exact_now, exact_previous=exact_before, unit=unit, higher_is_better=True
    )
    assert change["text"] == expected


def test_the_report_shows_percentage_point_changes_of_the_exact_survey_figures(
    quality_manager, surveys, customers, review
):
    from apps.analytics import services as analytics

    customer = customers[0]
    for index in range(23):  # February: 14 of 23 satisfied
        satisfied = index < 14
        surveys.answer(local(2026, 2, 3), customer=customer, nps=10 if satisfied else 0, csat=5 if satisfied else 1)
    for index in range(22):  # January: 12 of 22 satisfied
        satisfied = index < 12
        surveys.answer(local(2026, 1, 13), customer=customer, nps=10 if satisfied else 0, csat=5 if satisfied else 1)
    while analytics.refresh().markers:
        pass
    report = compiled(quality_manager, review)
    satisfaction = report.snapshot.data["satisfaction"]
    assert (satisfaction["current"]["csat_pct"], satisfaction["previous"]["csat_pct"]) == ("60.9", "54.5")
    text = pdf_text(report)
    assert "+6.3 pp (better)" in text
    assert "+6.4" not in text
    # NPS 100·5/23 = 21.7 against 100·2/22 = 9.1: a difference of scores, in points.
    assert "+12.6 points (better)" in text


# --- 3. headers over their values -------------------------------------------------------------


def _columns(line: str) -> list[tuple[int, int, str]]:
    """The cells of one line of pypdf's layout text: runs separated by two or more spaces."""
    return [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", line)]


def _header_of(cell: tuple[int, int, str], headers: list[tuple[int, int, str]]) -> str:
    """The header whose column the cell starts in. pypdf's layout text places each text run where
    it starts on the page (its end depends on the font's widths), so a column runs from where its
    header starts to where the next one starts; a value printed under the next header lands there."""
    starts = [header[0] for header in headers]
    column = max((i for i, start in enumerate(starts) if cell[0] >= start - 1), default=0)
    return headers[column][2]


def test_every_chart_table_in_the_pdf_has_its_headers_over_their_values(dataset, quality_manager, review):
    report = compiled(quality_manager, review)
    reader = pypdf.PdfReader(io.BytesIO(report_path(report.file_name).read_bytes()))
    lines = [line for page in reader.pages for line in page.extract_text(extraction_mode="layout").splitlines()]
    checked = 0
    for index, line in enumerate(lines):
        headers = _columns(line)
        if not headers or headers[0][2] not in ("Period", "Category"):
            continue
        for row in lines[index + 1 : index + 40]:
            cells = _columns(row)
            if not cells:
                continue
            if not re.fullmatch(r"\d{4}-\d{2}|Damaged delivery|Wrong item|Uncategorised", cells[0][2]):
                break
            assert len(cells) == len(headers), (line, row)
            for cell, header in zip(cells, headers, strict=True):
                assert _header_of(cell, headers) == header[2], f"{cell[2]!r} misplaced in\n{line}\n{row}"
                checked += 1
    assert checked > 30  # the trend tables and the Pareto table were found and read


class _Tables(HTMLParser):
    """Each table's header cells and body rows as (tag, class) pairs."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self.section = ""
        self.row: list[tuple[str, str]] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self.tables.append({"head": [], "rows": []})
        elif tag in ("thead", "tbody"):
            self.section = tag
        elif tag == "tr":
            self.row = []
        elif tag in ("th", "td") and self.row is not None:
            self.row.append((tag, "num" if "num" in (attributes.get("class") or "").split() else ""))

    def handle_endtag(self, tag):
        if tag == "tr" and self.row is not None:
            table = self.tables[-1]
            if self.section == "thead":
                table["head"] = self.row
            else:
                table["rows"].append(self.row)
            self.row = None


def test_every_report_table_aligns_each_header_like_its_values(dataset, quality_manager, review):
    report = compiled(quality_manager, review)
    context = rendering.report_context(
        data=report.snapshot.data, content=report.content, version=report.version, snapshot=report.snapshot
    )
    parser = _Tables()
    parser.feed(rendering.render_html(context))
    assert len(parser.tables) >= 8
    for table in parser.tables:
        for row in table["rows"]:
            assert len(row) == len(table["head"])
            # A right-aligned value column has a right-aligned header, so the two line up.
            assert [cls for _tag, cls in row[1:]] == [cls for _tag, cls in table["head"][1:]], table


# --- 5. the e-mail that announces a report ----------------------------------------------------


def test_the_report_email_gives_the_version_and_the_date_the_meeting_was_held(quality_manager, review):
    compiled(quality_manager, review)
    held = date(2026, 4, 9)
    services.review_hold(review_id=review.pk, actor=quality_manager, held_on=held, attendees="QM")
    services.review_close(review_id=review.pk, actor=quality_manager)
    (final,) = run_jobs(review)
    emails = _emails(f"version {final.version}")
    assert len(emails) == 2  # the distribution list
    email = emails[0]
    for body in (email.body, email.html_body):
        assert f"is ready (version {final.version})." in body
        assert "Meeting held on 2026-04-09." in body
        assert "2026-04-06" not in body  # the planned date
    email_send(email_id=email.pk)
    assert f"(version {final.version})" in mail.outbox[0].body


def test_a_report_sent_before_the_meeting_names_the_planned_date(quality_manager):
    review = make_review(quality_manager, meeting=date(2026, 4, 6))
    services.review_request_compile(review_id=review.pk, actor=quality_manager, distribute=True)
    (report,) = run_jobs(review)
    email = _emails(f"version {report.version}")[0]
    assert "is ready (version 1)." in email.body
    assert "Meeting planned for 2026-04-06 (not held yet)." in email.body


def _emails(subject_part: str) -> list[OutboundEmail]:
    """The queued e-mails whose subject has `subject_part` (subjects are stored encrypted)."""
    return [email for email in OutboundEmail.objects.all() if subject_part in email.subject]


def pdf_text(report) -> str:
    reader = pypdf.PdfReader(io.BytesIO(report_path(report.file_name).read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_a_lower_effort_score_is_worse_in_both_tables(dataset, quality_manager, review):
    """CES runs 1-7, higher is easier (the KPI catalogue): 4.00 against 6.50 is worse everywhere."""
    text = pdf_text(compiled(quality_manager, review))
    assert text.count("\N{MINUS SIGN}2.50 (worse)") + text.count("\N{MINUS SIGN}2.50 points (worse)") == 2
    assert "2.50 (better)" not in text
    assert "2.50 points (better)" not in text
