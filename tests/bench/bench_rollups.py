"""G3 (issue #9): the dashboard's figures from the analytics roll-ups against raw SQL over the
source tables. Identical values (asserted, whole period and one segment, before and after
incremental refreshes), subject time <= 0.05x the reference's; and the incremental refresh
after a realistic day of changes against a full rebuild, <= 0.02x.

The refresh suite writes (complaints changed, responses added to the background campaign),
which is why this file sorts after the suites that count the loaded rows.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

import pytest
from django.db import connection, transaction

from tests.bench import harness
from tests.bench.data import ANCHOR, analytics_operations
from tests.bench.reference import differences, reference_dashboard, subject_dashboard

pytestmark = pytest.mark.timeout(600)

COMPLAINTS_PER_DAY = 200
RESPONSES_PER_DAY = 250  # four scored or chosen answers each: 1,000 answers
RECENT_DAYS = 30  # a day's complaint updates touch complaints received in the last month


@pytest.fixture(scope="module")
def operations(dataset):
    found = analytics_operations()
    if found is None:
        harness.error("G3", "apps.analytics has no refresh()/rebuild() yet")
        harness.error("G3-refresh", "apps.analytics has no refresh()/rebuild() yet")
        pytest.fail("apps.analytics has no refresh()/rebuild() yet")
    return found


def _period(dataset) -> tuple[date, date]:
    return date.fromisoformat(dataset.first_day), date.fromisoformat(dataset.last_day)


def _per_figure(start: date, end: date) -> str:
    """Median milliseconds of each figure, roll-up / raw SQL: where the time goes."""
    from apps.analytics import selectors
    from tests.bench import reference

    window = {"start": start, "end": end}
    figures = {
        "survey_scores": (lambda: selectors.survey_scores(**window), lambda: reference.survey_scores(start, end)),
        "complaints_by_month": (
            lambda: selectors.complaints_by_month(**window),
            lambda: reference.complaints_by_month(start, end),
        ),
        "complaint_pareto": (
            lambda: selectors.complaint_pareto(**window),
            lambda: reference.complaint_pareto(start, end),
        ),
        "sla_compliance": (lambda: selectors.sla_compliance(**window), lambda: reference.sla_compliance(start, end)),
        "feedback_sentiment": (
            lambda: selectors.feedback_sentiment(**window),
            lambda: reference.feedback_sentiment(start, end),
        ),
    }
    parts = []
    for name, (subject, raw) in figures.items():
        subjects, references = harness.alternate(subject, raw, repeats=3)
        parts.append(f"{name} {statistics.median(subjects) * 1000:.0f}/{statistics.median(references) * 1000:.0f}")
    return "per figure, ms roll-up/raw: " + ", ".join(parts)


def _grain() -> str:
    """Roll-up rows against source rows: how much the roll-ups actually compress."""
    pairs = [
        ("analytics_surveydaily", "surveys_answer WHERE kind IN ('nps', 'csat', 'ces')"),
        ("analytics_complaintdaily", "complaints_complaint"),
        ("analytics_feedbackdaily", "feedback_feedback"),
        ("analytics_complaintmonthly", "complaints_complaint"),
        ("analytics_feedbackmonthly", "feedback_feedback"),
    ]
    parts = []
    with connection.cursor() as cursor:
        for rollup, source in pairs:
            cursor.execute(f"SELECT (SELECT count(*) FROM {rollup}), (SELECT count(*) FROM {source})")  # noqa: S608
            rollup_rows, source_rows = cursor.fetchone()
            parts.append(f"{rollup} {rollup_rows:,} for {source_rows:,} {source.split()[0]}")
    return ", ".join(parts)


def _assert_equal(start: date, end: date, *, segment: str | None = None) -> None:
    found = differences(
        subject_dashboard(start, end, segment=segment), reference_dashboard(start, end, segment=segment)
    )
    assert not found, "\n".join(found)


class DayOfChanges:
    """One day of activity, new each time it is applied: COMPLAINTS_PER_DAY recent complaints
    re-categorised (every second open one also closed) and RESPONSES_PER_DAY survey responses
    with their answers, written with plain SQL so the roll-up triggers see them like any writer."""

    def __init__(self, dataset):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM complaints_complaint WHERE received_at >= %s ORDER BY id",
                [ANCHOR - timedelta(days=RECENT_DAYS)],
            )
            self.complaints = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT i.id FROM surveys_invitation i WHERE i.campaign_id = %s "
                "AND NOT EXISTS (SELECT 1 FROM surveys_response r WHERE r.invitation_id = i.id) "
                "ORDER BY i.id DESC LIMIT 20000",
                [dataset.background_campaign_id],
            )
            self.invitations = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT q.kind, q.id FROM surveys_question q JOIN surveys_campaign c "
                "ON c.template_version_id = q.version_id WHERE c.id = %s",
                [dataset.background_campaign_id],
            )
            self.questions = dict(cursor.fetchall())
        self.categories = dataset.complaint_category_ids
        self.day = 0

    def apply(self) -> None:
        self.day += 1
        start = (self.day - 1) * COMPLAINTS_PER_DAY % max(1, len(self.complaints))
        complaints = (self.complaints * 2)[start : start + COMPLAINTS_PER_DAY]
        invitations = self.invitations[(self.day - 1) * RESPONSES_PER_DAY : self.day * RESPONSES_PER_DAY]
        assert len(invitations) == RESPONSES_PER_DAY, "the bench ran out of unanswered invitations"
        today = ANCHOR - timedelta(days=1) + timedelta(hours=6)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE complaints_complaint SET category_id = %(category)s, updated_at = now(), "
                "status = CASE WHEN id %% 2 = 0 AND status NOT IN ('closed', 'rejected', 'withdrawn') "
                "THEN 'closed' ELSE status END, "
                "closed_at = CASE WHEN id %% 2 = 0 AND status NOT IN ('closed', 'rejected', 'withdrawn') "
                "THEN %(now)s ELSE closed_at END "
                "WHERE id = ANY(%(ids)s)",
                {"category": self.categories[self.day % len(self.categories)], "now": today, "ids": complaints},
            )
            cursor.execute(
                """
                WITH new AS (
                    INSERT INTO surveys_response (data_key, invitation_id, campaign_id, wave_id, customer_id,
                                                  submitted_at, comments_ct)
                    SELECT '', i.id, i.campaign_id, i.wave_id, i.customer_id,
                           %(today)s + (i.id %% 600) * interval '1 minute', ''
                    FROM surveys_invitation i WHERE i.id = ANY(%(ids)s)
                    RETURNING id, campaign_id, submitted_at
                )
                INSERT INTO surveys_answer (response_id, question_id, campaign_id, kind, submitted_at, score, choices)
                SELECT new.id, q.id, new.campaign_id, q.kind, new.submitted_at,
                       CASE q.kind WHEN 'nps' THEN new.id %% 11 WHEN 'csat' THEN new.id %% 5 + 1
                                   WHEN 'ces' THEN new.id %% 7 + 1 END,
                       CASE WHEN q.kind = 'single' THEN ARRAY['E-mail'] ELSE ARRAY[]::varchar[] END
                FROM new CROSS JOIN (VALUES (%(nps)s, 'nps'), (%(csat)s, 'csat'), (%(ces)s, 'ces'),
                                            (%(single)s, 'single')) AS q (id, kind)
                """,
                {
                    "today": today,
                    "ids": invitations,
                    "nps": self.questions["nps"],
                    "csat": self.questions["csat"],
                    "ces": self.questions["ces"],
                    "single": self.questions["single"],
                },
            )


def _drain(refresh) -> None:
    from django.conf import settings

    while True:
        result = refresh()
        if result is None or getattr(result, "markers", 0) < settings.ANALYTICS_REFRESH_BATCH:
            return


def test_g3_dashboard_figures_equal_raw_sql_and_cost_at_most_0_05x(dataset, operations):
    connection.ensure_connection()
    start, end = _period(dataset)
    _assert_equal(start, end)
    _assert_equal(start, end, segment=dataset.segments[0])
    last_quarter = date(end.year - (end.month <= 3), (end.month - 4) % 12 + 1, 1)
    _assert_equal(last_quarter, end)

    figures = subject_dashboard(start, end)
    outcome = harness.compare(
        "G3",
        lambda: subject_dashboard(start, end),
        lambda: reference_dashboard(start, end),
        notes=(
            f"{start:%Y-%m} to {end:%Y-%m}, no filters: survey_scores, complaints_by_month, complaint_pareto, "
            f"sla_compliance, feedback_sentiment (NPS {figures.scores['nps']}, SLA {figures.sla[2]}%); "
            f"full rebuild after loading {dataset.rollup_seconds} s; {_per_figure(start, end)}; {_grain()}"
        ),
    )
    if dataset.size != "S":
        assert outcome.verdict != "fail", harness.table()


def test_g3_incremental_refresh_after_a_day_costs_at_most_0_02x_a_rebuild_and_stays_equal(dataset, operations):
    refresh, rebuild = operations
    changes = DayOfChanges(dataset)

    def incremental() -> float:
        changes.apply()
        started = time.perf_counter()
        _drain(refresh)
        return time.perf_counter() - started

    def full() -> float:
        changes.apply()
        started = time.perf_counter()
        rebuild()
        return time.perf_counter() - started

    outcome = harness.compare(
        "G3-refresh",
        incremental,
        full,
        self_timed=True,
        notes=(
            f"a day = {COMPLAINTS_PER_DAY} complaints received in the last {RECENT_DAYS} days updated "
            f"(re-categorised, half of the open ones closed) + {RESPONSES_PER_DAY * 4:,} answers inserted, by SQL"
        ),
    )
    changes.apply()
    _drain(refresh)
    start, end = _period(dataset)
    _assert_equal(start, end)
    _assert_equal(start, end, segment=dataset.segments[1])
    if dataset.size != "S":
        assert outcome.verdict != "fail", harness.table()
