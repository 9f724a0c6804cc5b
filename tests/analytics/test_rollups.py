"""The roll-ups equal the raw aggregates, before and after incremental changes.

Every figure is compared with a hand-written SQL aggregate over the source tables (with the
local day computed from the raw timestamp), for several filter combinations; then records
are changed in every way that moves a figure (closing, reopening, re-categorising, changing
severity and so the SLA outcome, deleting answers, moving feedback across a month boundary)
and the comparison is repeated after one refresh().
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from apps.analytics import selectors, services
from apps.analytics.selectors import Filters
from apps.complaints import services as complaints
from apps.complaints.models import Complaint
from apps.feedback.models import Feedback
from apps.surveys.models import Answer
from tests.analytics.conftest import closed_complaint, complaint, feedback, local, markers, rollup_rows

START, END = date(2025, 12, 1), date(2027, 2, 1)  # covers the data set and today

# Whole months read the monthly roll-ups (unless a channel filter is given), the others the
# daily ones: every comparison runs over both kinds of period.
PERIODS = [
    (START, END),
    (date(2025, 12, 2), date(2027, 1, 31)),
    (date(2026, 2, 1), date(2026, 3, 1)),  # February alone: the records on its first half hour
    (date(2026, 1, 31), date(2026, 3, 2)),
]


def _raw(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _where(filters: Filters, *, product: str, customer: str, category: str | None, channel: str | None):
    clauses, params = [], []
    if filters.product_id is not None:
        clauses.append(f"{product} = %s")
        params.append(filters.product_id)
    if filters.segment is not None:
        clauses.append(f"COALESCE({customer}.segment, '') = %s")
        params.append(filters.segment)
    if category and filters.category_id is not None:
        clauses.append(f"{category} = %s")
        params.append(filters.category_id)
    if channel and filters.channel is not None:
        clauses.append(f"{channel} = %s")
        params.append(filters.channel)
    return "".join(f" AND {c}" for c in clauses), params


def raw_survey_months(start: date, end: date, filters: Filters) -> dict:
    where, params = _where(filters, product="r.product_id", customer="c", category=None, channel=None)
    rows = _raw(
        f"""
        SELECT date_trunc('month', (a.submitted_at AT TIME ZONE %s))::date AS month,
               round(100.0 * (count(*) FILTER (WHERE a.kind = 'nps' AND a.score >= 9)
                              - count(*) FILTER (WHERE a.kind = 'nps' AND a.score <= 6))
                     / NULLIF(count(*) FILTER (WHERE a.kind = 'nps'), 0), 1),
               count(*) FILTER (WHERE a.kind = 'nps'),
               round(100.0 * count(*) FILTER (WHERE a.kind = 'csat' AND a.score >= 4)
                     / NULLIF(count(*) FILTER (WHERE a.kind = 'csat'), 0), 1),
               count(*) FILTER (WHERE a.kind = 'csat'),
               round(avg(a.score) FILTER (WHERE a.kind = 'ces'), 2),
               count(*) FILTER (WHERE a.kind = 'ces')
        FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id
        JOIN customers_customer c ON c.id = r.customer_id
        WHERE (a.submitted_at AT TIME ZONE %s)::date >= %s AND (a.submitted_at AT TIME ZONE %s)::date < %s
          AND a.kind IN ('nps', 'csat', 'ces') {where}
        GROUP BY 1
        """,  # noqa: S608 - test-built clauses
        [settings.TIME_ZONE, settings.TIME_ZONE, start, settings.TIME_ZONE, end, *params],
    )
    return {row[0]: selectors.Scores(*row[1:]) for row in rows}


def raw_complaint_months(start: date, end: date, filters: Filters) -> dict:
    where, params = _where(filters, product="x.product_id", customer="c", category="x.category_id", channel="x.channel")
    tz = settings.TIME_ZONE
    within = """(x.ack_due_at IS NULL OR x.acknowledged_at <= x.ack_due_at)
        AND (x.respond_due_at IS NULL OR x.responded_at <= x.respond_due_at)
        AND (x.close_due_at IS NULL OR x.closed_at <= x.close_due_at)"""
    received = _raw(
        f"""SELECT date_trunc('month', x.received_at AT TIME ZONE %s)::date, count(*)
        FROM complaints_complaint x LEFT JOIN customers_customer c ON c.id = x.customer_id
        WHERE (x.received_at AT TIME ZONE %s)::date >= %s AND (x.received_at AT TIME ZONE %s)::date < %s {where}
        GROUP BY 1""",  # noqa: S608
        [tz, tz, start, tz, end, *params],
    )
    closed = _raw(
        f"""SELECT date_trunc('month', x.closed_at AT TIME ZONE %s)::date, count(*),
               count(*) FILTER (WHERE COALESCE({within}, false))
        FROM complaints_complaint x LEFT JOIN customers_customer c ON c.id = x.customer_id
        WHERE x.status = 'closed'
          AND (x.closed_at AT TIME ZONE %s)::date >= %s AND (x.closed_at AT TIME ZONE %s)::date < %s {where}
        GROUP BY 1""",  # noqa: S608
        [tz, tz, start, tz, end, *params],
    )
    result: dict = {}
    for month, n in received:
        result[month] = (n, 0, 0)
    for month, n, ok in closed:
        result[month] = (result.get(month, (0, 0, 0))[0], n, ok)
    return result


def raw_pareto(start: date, end: date, filters: Filters) -> list[tuple]:
    where, params = _where(filters, product="x.product_id", customer="c", category=None, channel="x.channel")
    tz = settings.TIME_ZONE
    return sorted(
        _raw(
            f"""SELECT x.category_id, count(*) FROM complaints_complaint x
            LEFT JOIN customers_customer c ON c.id = x.customer_id
            WHERE (x.received_at AT TIME ZONE %s)::date >= %s AND (x.received_at AT TIME ZONE %s)::date < %s {where}
            GROUP BY 1""",  # noqa: S608
            [tz, start, tz, end, *params],
        ),
        key=lambda row: row[0] or 0,
    )


def raw_sentiment(start: date, end: date, filters: Filters) -> dict:
    where, params = _where(filters, product="f.product_id", customer="c", category=None, channel="f.channel")
    tz = settings.TIME_ZONE
    rows = _raw(
        f"""SELECT CASE WHEN f.sentiment = '' THEN 'unrated' ELSE f.sentiment END, count(*)
        FROM feedback_feedback f LEFT JOIN customers_customer c ON c.id = f.customer_id
        WHERE (f.created_at AT TIME ZONE %s)::date >= %s AND (f.created_at AT TIME ZONE %s)::date < %s {where}
        GROUP BY 1""",  # noqa: S608
        [tz, start, tz, end, *params],
    )
    counts = {"positive": 0, "neutral": 0, "negative": 0, "unrated": 0, **dict(rows)}
    total = sum(counts.values())
    negative_pct = round(Decimal(100 * counts["negative"]) / total, 1) if total else None
    return {**counts, "negative_pct": negative_pct}


def filter_combinations(d) -> list[Filters]:
    products = [None, d.pumps.pk, d.valves.pk]
    segments = [None, "Enterprise", "SMB", ""]
    categories = [None, d.damaged.pk]
    channels = [None, "web", "email"]
    return [Filters(*combo) for combo in itertools.product(products, segments, categories, channels)]


def assert_rollups_equal_raw(d) -> None:
    for (start, end), filters in itertools.product(PERIODS, filter_combinations(d)):
        period = {"start": start, "end": end, "filters": filters}
        survey = {m: s for m, s in selectors.survey_scores_by_month(**period) if s.nps_n}
        assert survey == raw_survey_months(start, end, filters), period
        months = {
            m.month: (m.received, m.closed, m.closed_within_sla)
            for m in selectors.complaints_by_month(**period)
            if m.received or m.closed
        }
        assert months == raw_complaint_months(start, end, filters), period
        closed = sum(n for _, n, _ in months.values())
        within = sum(ok for _, _, ok in months.values())
        assert selectors.sla_compliance(**period) == selectors.SlaCompliance(
            closed, within, selectors.ratio_pct(within, closed)
        ), period
        pareto = sorted(
            ((r.category_id, r.count) for r in selectors.complaint_pareto(**period)),
            key=lambda row: row[0] or 0,
        )
        assert pareto == raw_pareto(start, end, filters), period
        assert selectors.feedback_sentiment(**period) == raw_sentiment(start, end, filters), period
    assert_monthly_in_step()


def _ordered(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=repr)


def assert_monthly_in_step() -> None:
    """The monthly roll-ups hold exactly the daily ones summed per local month, and the totals
    the monthly ones summed over products and segments."""
    month = "date_trunc('month', day::timestamp)::date"
    assert _ordered(
        _raw(
            "SELECT month, product_id, segment, category_id, received, closed, closed_within_sla "
            "FROM analytics_complaintmonthly",
            [],
        )
    ) == _ordered(
        _raw(
            f"SELECT {month}, product_id, segment, category_id, sum(received), sum(closed), sum(closed_within_sla) "  # noqa: S608
            "FROM analytics_complaintdaily GROUP BY 1, 2, 3, 4",
            [],
        )
    )
    assert _ordered(
        _raw("SELECT month, product_id, segment, sentiment, n FROM analytics_feedbackmonthly", [])
    ) == _ordered(
        _raw(
            f"SELECT {month}, product_id, segment, sentiment, sum(n) FROM analytics_feedbackdaily GROUP BY 1, 2, 3, 4",  # noqa: S608
            [],
        )
    )

    assert _ordered(
        _raw("SELECT month, category_id, received, closed, closed_within_sla FROM analytics_complaintmonthlytotal", [])
    ) == _ordered(
        _raw(
            "SELECT month, category_id, sum(received), sum(closed), sum(closed_within_sla) "
            "FROM analytics_complaintmonthly GROUP BY 1, 2",
            [],
        )
    )
    assert _ordered(_raw("SELECT month, sentiment, n FROM analytics_feedbackmonthlytotal", [])) == _ordered(
        _raw("SELECT month, sentiment, sum(n) FROM analytics_feedbackmonthly GROUP BY 1, 2", [])
    )


def test_rollups_equal_the_raw_aggregates(dataset):
    assert_rollups_equal_raw(dataset)


def test_rebuild_gives_the_same_rows_as_incremental_refreshes(dataset):
    incremental = rollup_rows()
    assert incremental["analytics_complaintmonthly"]
    assert incremental["analytics_feedbackmonthly"]
    services.rebuild()
    assert rollup_rows() == incremental
    assert markers() == []


def test_incremental_changes_keep_the_rollups_equal(dataset, quality_manager):
    qm = quality_manager
    # close c2 today through the services; reopen c1 (un-counts its close day in January)
    for step in (Complaint.Status.ACKNOWLEDGED, Complaint.Status.INVESTIGATING):
        complaints.complaint_transition(complaint_id=dataset.c2.pk, to=step, actor=qm)
    complaints.message_add(complaint_id=dataset.c2.pk, actor=qm, body="Replaced.", visibility="customer")
    complaints.complaint_assess(complaint_id=dataset.c2.pk, actor=qm, resolution="Replaced.")
    for step in (Complaint.Status.RESPONDED, Complaint.Status.CLOSED):
        complaints.complaint_transition(complaint_id=dataset.c2.pk, to=step, actor=qm)
    complaints.complaint_reopen(complaint_id=dataset.c1.pk, actor=qm, reason="Broken again")
    # re-categorise and move c5 to another product; c3 is closed, so it is reopened before a
    # lower severity moves its due dates (the reopen un-counts its close day in March)
    complaints.complaint_assess(complaint_id=dataset.c5.pk, actor=qm, category=dataset.wrong, product=dataset.valves)
    complaints.complaint_reopen(complaint_id=dataset.c3.pk, actor=qm, reason="Assessed too severely")
    complaints.complaint_assess(complaint_id=dataset.c3.pk, actor=qm, severity="low")
    # a bulk write outside the services: c6 received a month earlier
    Complaint.objects.filter(pk=dataset.c6.pk).unaudited_update(received_at=local(2026, 2, 5))
    closed_complaint(qm, local(2026, 3, 31, 23, 30), local(2026, 4, 1, 0, 30), product=dataset.pumps)
    complaint(qm, local(2026, 1, 1, 0, 5), customer=dataset.smb, channel="email")
    # surveys: a new answer on the month boundary, one answer deleted, one re-scored
    from tests.analytics.conftest import Surveys

    Surveys().answer(local(2026, 2, 28, 23, 59), customer=dataset.smb, product=dataset.valves, nps=0, csat=1, ces=1)
    Answer.objects.filter(kind="ces", score=7).delete()
    Answer.objects.filter(kind="nps", score=10).update(score=2)
    # feedback: triaged to another sentiment, moved across the month boundary, a new one
    from apps.feedback import services as feedback_services

    feedback_services.feedback_triage(feedback_id=dataset.f4.pk, actor=qm, category=None, sentiment="negative")
    Feedback.objects.filter(pk=dataset.f2.pk).unaudited_update(created_at=local(2026, 2, 1, 0, 1))
    feedback(qm, local(2026, 3, 31, 23, 59), rating=1, customer=dataset.ent, product=dataset.pumps)

    result = services.refresh()
    assert result.markers > 0
    assert set(result.days) == {"answer", "complaint", "feedback"}
    assert markers() == []
    assert_rollups_equal_raw(dataset)
    incremental = rollup_rows()
    services.rebuild()
    assert rollup_rows() == incremental

    before = rollup_rows()
    idle = services.refresh()
    assert (idle.markers, idle.days) == (0, {})
    assert rollup_rows() == before


def test_a_refresh_rewrites_the_months_it_touches_and_only_those(dataset):
    """Moving records across the January/February boundary rewrites both months' monthly rows;
    March keeps its rows (same ids) because nothing in it was marked."""
    from apps.analytics.models import ComplaintMonthly, FeedbackMonthly

    jan, feb, mar, apr = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)

    def march_rows():
        return (
            sorted(ComplaintMonthly.objects.filter(month=mar).values_list("id", "received", "closed")),
            sorted(FeedbackMonthly.objects.filter(month=mar).values_list("id", "n")),
        )

    march = march_rows()
    assert march[0]
    assert march[1]
    # c2 (31 January 23:30) and f2 (negative, 31 January 23:30) move into February
    Complaint.objects.filter(pk=dataset.c2.pk).unaudited_update(received_at=local(2026, 2, 1, 0, 10))
    Feedback.objects.filter(pk=dataset.f2.pk).unaudited_update(created_at=local(2026, 2, 1, 0, 1))
    result = services.refresh()
    assert set(result.days) == {"complaint", "feedback"}

    assert march_rows() == march
    assert_monthly_in_step()
    assert [m.received for m in selectors.complaints_by_month(start=jan, end=apr)] == [1, 4, 1]
    assert selectors.feedback_sentiment(start=jan, end=feb) == {
        "positive": 1,
        "neutral": 0,
        "negative": 0,
        "unrated": 0,
        "negative_pct": Decimal("0.0"),
    }
    february = selectors.feedback_sentiment(start=feb, end=mar)
    assert february == {"positive": 0, "neutral": 1, "negative": 1, "unrated": 1, "negative_pct": Decimal("33.3")}
    # the daily path over the same records (February without its last day) agrees
    assert selectors.feedback_sentiment(start=feb, end=date(2026, 2, 28)) == february
    assert selectors.complaints_by_month(start=jan, end=date(2026, 3, 31)) == selectors.complaints_by_month(
        start=jan, end=apr
    )
    assert_rollups_equal_raw(dataset)


def test_the_migration_fills_the_monthly_level_from_the_daily_rows(dataset):
    import importlib

    fill = importlib.import_module("apps.analytics.migrations.0003_monthly_rollups").FILL
    before = rollup_rows()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_complaintmonthly")
        cursor.execute("DELETE FROM analytics_feedbackmonthly")
        cursor.execute(fill)
    assert rollup_rows() == before


def test_the_migration_fills_the_totals_from_the_monthly_rows(dataset):
    import importlib

    fill = importlib.import_module("apps.analytics.migrations.0004_monthly_totals").FILL
    before = rollup_rows()
    assert before["analytics_complaintmonthlytotal"]
    assert before["analytics_feedbackmonthlytotal"]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_complaintmonthlytotal")
        cursor.execute("DELETE FROM analytics_feedbackmonthlytotal")
        cursor.execute(fill)
    assert rollup_rows() == before


def _figure_sql(period: dict):
    """(roll-up table prefix, selector, the SQL it ran) for each dashboard figure over `period`."""
    from django.test.utils import CaptureQueriesContext

    figures = {
        "analytics_complaint": (
            selectors.complaints_by_month,
            selectors.complaint_pareto,
            selectors.sla_compliance,
            selectors.complaint_control_chart,
        ),
        "analytics_feedback": (selectors.feedback_sentiment,),
    }
    for table, functions in figures.items():
        for function in functions:
            with CaptureQueriesContext(connection) as queries:
                function(**period)
            yield table, function, " ".join(query["sql"] for query in queries.captured_queries)


@pytest.mark.parametrize(
    ("start", "end", "channel", "level"),
    [
        (date(2026, 1, 1), date(2026, 4, 1), None, "monthly"),
        (date(2026, 2, 1), date(2026, 3, 1), None, "monthly"),
        (date(2026, 1, 1), date(2026, 4, 1), "web", "daily"),
        (date(2026, 1, 2), date(2026, 4, 1), None, "daily"),
        (date(2026, 1, 1), date(2026, 3, 31), None, "daily"),
    ],
)
def test_whole_months_without_a_channel_read_the_monthly_rollups(dataset, start, end, channel, level):
    period = {"start": start, "end": end, "filters": Filters(segment="Enterprise", channel=channel)}
    other = "daily" if level == "monthly" else "monthly"
    for table, function, sql in _figure_sql(period):
        assert f'"{table}{level}"' in sql, function.__name__
        assert f'"{table}{other}"' not in sql, function.__name__


@pytest.mark.parametrize("category", [False, True])
def test_whole_months_over_every_product_and_segment_read_the_totals(dataset, category):
    filters = Filters(category_id=dataset.wrong.pk) if category else Filters()
    period = {"start": date(2026, 1, 1), "end": date(2026, 4, 1), "filters": filters}
    for table, function, sql in _figure_sql(period):
        assert f'"{table}monthlytotal"' in sql, function.__name__
        assert f'"{table}monthly"' not in sql, function.__name__
        assert f'"{table}daily"' not in sql, function.__name__
    assert_rollups_equal_raw(dataset)


def test_a_refresh_folds_in_only_the_marked_days(dataset, quality_manager):
    """A change whose markers are gone stays invisible until a rebuild: proof that refresh()
    re-aggregates the marked days only, instead of rebuilding everything."""
    from tests.analytics.conftest import clear_markers

    Feedback.objects.filter(pk=dataset.f1.pk).unaudited_update(sentiment="negative")
    clear_markers()
    feedback(quality_manager, local(2026, 3, 20), rating=5)  # marks 20 March only
    services.refresh()
    assert selectors.feedback_sentiment(start=date(2026, 1, 1), end=date(2026, 2, 1))["negative"] == 1
    assert selectors.feedback_sentiment(start=date(2026, 3, 1), end=date(2026, 4, 1))["positive"] == 1
    services.rebuild()
    assert selectors.feedback_sentiment(start=date(2026, 1, 1), end=date(2026, 2, 1))["negative"] == 2


# --- the triggers --------------------------------------------------------------------------------


def test_an_insert_marks_the_utc_hour_of_each_deciding_timestamp(quality_manager):
    from tests.analytics.conftest import clear_markers

    made = complaint(quality_manager, local(2026, 1, 31, 23, 30))
    clear_markers()
    Complaint.objects.filter(pk=made.pk).unaudited_update(closed_at=local(2026, 2, 3, 10, 45))
    hours = sorted(hour.isoformat() for _source, hour in markers())
    # old and new rows: received 22:00 UTC on 31 January, closed 09:00 UTC on 3 February
    assert hours == ["2026-01-31T22:00:00+00:00", "2026-02-03T09:00:00+00:00"]
    assert {source for source, _ in markers()} == {"complaint"}


def test_changes_that_move_no_figure_mark_nothing(dataset, quality_manager, staff):
    from apps.feedback import services as feedback_services
    from tests.analytics.conftest import clear_markers

    clear_markers()
    complaints.complaint_assign(complaint_id=dataset.c5.pk, actor=quality_manager, assignee=staff)
    complaints.complaint_erase_personal_data(complaint_id=dataset.c1.pk, actor=quality_manager, reason="Request")
    feedback_services.feedback_erase_personal_data(feedback_id=dataset.f1.pk, actor=quality_manager, reason="Request")
    assert markers() == []


def test_deleting_marks_the_old_rows_days(dataset):
    from tests.analytics.conftest import clear_markers

    clear_markers()
    Answer.objects.filter(kind="nps", score=3).delete()  # a5, 3 March 12:00 local = 11:00 UTC
    assert [(source, hour.isoformat()) for source, hour in markers()] == [("answer", "2026-03-03T11:00:00+00:00")]
    services.refresh()
    assert selectors.survey_scores(start=date(2026, 3, 1), end=date(2026, 4, 1)).nps_n == 0


def test_a_batch_drains_the_oldest_markers_first(dataset, quality_manager):
    from tests.analytics.conftest import clear_markers

    clear_markers()
    for day in (1, 2, 3):
        feedback(quality_manager, local(2026, 5, day), rating=5)
    count = len(markers())
    first = services.refresh(batch=1)
    assert first.markers == 1
    assert len(markers()) == count - 1
    while services.refresh(batch=2).markers:
        pass
    assert selectors.feedback_sentiment(start=date(2026, 5, 1), end=date(2026, 6, 1))["positive"] == 3


def test_day_ranges_merge_consecutive_local_days_across_daylight_saving():
    lows, highs = services.day_ranges({date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 31)})
    assert [(lo.isoformat(), hi.isoformat()) for lo, hi in zip(lows, highs, strict=True)] == [
        ("2026-03-28T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
        ("2026-03-31T00:00:00+02:00", "2026-04-01T00:00:00+02:00"),
    ]


# --- task and command ----------------------------------------------------------------------------


def test_the_task_drains_full_batches(dataset, quality_manager, settings):
    from apps.analytics.tasks import refresh_rollups_task
    from tests.analytics.conftest import clear_markers

    clear_markers()
    for day in range(1, 6):
        feedback(quality_manager, local(2026, 6, day), rating=1)
    settings.ANALYTICS_REFRESH_BATCH = 2
    pending = len(markers())
    assert pending >= 5
    assert refresh_rollups_task() == pending
    assert markers() == []
    assert selectors.feedback_sentiment(start=date(2026, 6, 1), end=date(2026, 7, 1))["negative"] == 5
    assert refresh_rollups_task() == 0


def test_rebuild_rollups_command(dataset):
    from io import StringIO

    from django.core.management import call_command

    from apps.analytics.models import SurveyDaily

    SurveyDaily.objects.all().delete()
    out = StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert "Roll-ups rebuilt" in out.getvalue()
    assert "monthly" in out.getvalue()
    assert selectors.survey_scores(start=date(2026, 1, 1), end=date(2026, 4, 1)).nps_n == 5


@pytest.mark.parametrize("tz", ["America/St_Johns", "Asia/Kolkata"])
def test_days_follow_a_time_zone_with_half_hour_offsets(db, quality_manager, settings, tz):
    settings.TIME_ZONE = tz
    at = local(2026, 1, 31, 23, 50)
    feedback(quality_manager, at, rating=5)
    services.refresh()
    assert selectors.feedback_sentiment(start=date(2026, 1, 31), end=date(2026, 2, 1))["positive"] == 1
    assert selectors.feedback_sentiment(start=date(2026, 2, 1), end=date(2026, 2, 2))["positive"] == 0
