"""Keep the roll-up tables equal to the raw aggregates over the source tables.

Two ways in, both serialised by one transaction-scoped advisory lock:

- `refresh()`: the incremental path (the beat task every minute). The triggers of migration
  0002 leave an `analytics_dirty` marker (source, UTC hour) for every changed row; refresh
  deletes a batch of markers FIRST, maps their hours to local days, then deletes and
  re-aggregates exactly those days of each source with one INSERT … SELECT … GROUP BY, then
  the months holding them (complaints, feedback) from the daily rows.
  Deleting the markers before reading the sources is what makes it safe against writers
  running at the same time: a change committed after the markers were taken keeps its own
  marker (its transaction was not visible to the DELETE) and is folded in by the next run.
- `rebuild()`: everything from scratch (DELETE + INSERT … SELECT). For the data loader,
  the bench and `manage.py rebuild_rollups`. A customer's segment is attributed at refresh
  time, so changing it (which the triggers do not mark, it would touch the customer's whole
  history) takes a rebuild to reach old days.

The SQL groups on `(timestamp AT TIME ZONE settings.TIME_ZONE)::date`, and restricts an
incremental run with half-open timestamp ranges (local midnights computed here) joined from
`unnest`, so each range is an index range scan where the source has an index.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

# pg_advisory_xact_lock key: "analytics" roll-ups (any constant unique in this database).
LOCK_KEY = 0x414E414C

SOURCES = ("answer", "complaint", "feedback")

# {range_join} is either empty (a full rebuild) or a join on unnest(lo[], hi[]) restricting the
# deciding timestamp to the dirty days; {day} is the local-date expression of that timestamp.
SURVEY_SQL = """
INSERT INTO analytics_surveydaily (day, product_id, segment, kind, n, score_sum, promoters, detractors, satisfied)
SELECT (a.submitted_at AT TIME ZONE %(tz)s)::date, r.product_id, COALESCE(c.segment, ''), a.kind,
       count(*), sum(a.score),
       count(*) FILTER (WHERE a.kind = 'nps' AND a.score >= 9),
       count(*) FILTER (WHERE a.kind = 'nps' AND a.score <= 6),
       count(*) FILTER (WHERE a.kind = 'csat' AND a.score >= 4)
FROM surveys_answer a
{range_join}
JOIN surveys_response r ON r.id = a.response_id
LEFT JOIN customers_customer c ON c.id = r.customer_id
WHERE a.kind IN ('nps', 'csat', 'ces') AND a.score IS NOT NULL
GROUP BY 1, 2, 3, 4
"""

SURVEY_RANGE = (
    "JOIN unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS rg (lo, hi) "
    "ON a.submitted_at >= rg.lo AND a.submitted_at < rg.hi"
)

# A closed complaint met its SLA when the acknowledge, respond and close stages were each done by
# their due date (or had none): ComplaintQuerySet.closed_within_sla() is the same rule in the ORM.
WITHIN_SLA = """(
    (x.ack_due_at IS NULL OR (x.acknowledged_at IS NOT NULL AND x.acknowledged_at <= x.ack_due_at))
    AND (x.respond_due_at IS NULL OR (x.responded_at IS NOT NULL AND x.responded_at <= x.respond_due_at))
    AND (x.close_due_at IS NULL OR (x.closed_at IS NOT NULL AND x.closed_at <= x.close_due_at))
)"""

COMPLAINT_SQL = """
INSERT INTO analytics_complaintdaily
    (day, product_id, segment, category_id, channel, received, closed, closed_within_sla)
SELECT e.day, e.product_id, e.segment, e.category_id, e.channel, sum(e.received), sum(e.closed), sum(e.within_sla)
FROM (
    SELECT (x.received_at AT TIME ZONE %(tz)s)::date AS day, x.product_id, COALESCE(c.segment, '') AS segment,
           x.category_id, x.channel, 1 AS received, 0 AS closed, 0 AS within_sla
    FROM complaints_complaint x
    {received_join}
    LEFT JOIN customers_customer c ON c.id = x.customer_id
    UNION ALL
    SELECT (x.closed_at AT TIME ZONE %(tz)s)::date, x.product_id, COALESCE(c.segment, ''),
           x.category_id, x.channel, 0, 1, CASE WHEN {within_sla} THEN 1 ELSE 0 END
    FROM complaints_complaint x
    {closed_join}
    LEFT JOIN customers_customer c ON c.id = x.customer_id
    WHERE x.status = 'closed' AND x.closed_at IS NOT NULL
) e
GROUP BY 1, 2, 3, 4, 5
"""


def _complaint_range(column: str) -> str:
    return (
        "JOIN unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS rg (lo, hi) "
        f"ON x.{column} >= rg.lo AND x.{column} < rg.hi"
    )


FEEDBACK_SQL = """
INSERT INTO analytics_feedbackdaily (day, product_id, segment, channel, category_id, sentiment, n)
SELECT (f.created_at AT TIME ZONE %(tz)s)::date, f.product_id, COALESCE(c.segment, ''), f.channel,
       f.category_id, f.sentiment, count(*)
FROM feedback_feedback f
{range_join}
LEFT JOIN customers_customer c ON c.id = f.customer_id
GROUP BY 1, 2, 3, 4, 5, 6
"""

FEEDBACK_RANGE = (
    "JOIN unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS rg (lo, hi) "
    "ON f.created_at >= rg.lo AND f.created_at < rg.hi"
)

TABLES = {
    "answer": "analytics_surveydaily",
    "complaint": "analytics_complaintdaily",
    "feedback": "analytics_feedbackdaily",
}

# The monthly level is summed from the daily rows just written, never from the sources: a
# month is at most ~31 days of daily rows, and the two levels cannot disagree. {range_join}
# is empty (a rebuild) or restricts `day` to the touched months through the daily key's index.
MONTHLY_SQL = {
    "complaint": """
INSERT INTO analytics_complaintmonthly (month, product_id, segment, category_id, received, closed, closed_within_sla)
SELECT date_trunc('month', d.day::timestamp)::date, d.product_id, d.segment, d.category_id,
       sum(d.received), sum(d.closed), sum(d.closed_within_sla)
FROM analytics_complaintdaily d
{range_join}
GROUP BY 1, 2, 3, 4
""",
    "feedback": """
INSERT INTO analytics_feedbackmonthly (month, product_id, segment, sentiment, n)
SELECT date_trunc('month', d.day::timestamp)::date, d.product_id, d.segment, d.sentiment, sum(d.n)
FROM analytics_feedbackdaily d
{range_join}
GROUP BY 1, 2, 3, 4
""",
}

MONTH_RANGE = "JOIN unnest(%(lo)s::date[], %(hi)s::date[]) AS rg (lo, hi) ON d.day >= rg.lo AND d.day < rg.hi"

MONTHLY_TABLES = {
    "complaint": "analytics_complaintmonthly",
    "feedback": "analytics_feedbackmonthly",
}


def _insert_sql(source: str, *, incremental: bool) -> str:
    if source == "answer":
        return SURVEY_SQL.format(range_join=SURVEY_RANGE if incremental else "")
    if source == "complaint":
        return COMPLAINT_SQL.format(
            received_join=_complaint_range("received_at") if incremental else "",
            closed_join=_complaint_range("closed_at") if incremental else "",
            within_sla=WITHIN_SLA,
        )
    return FEEDBACK_SQL.format(range_join=FEEDBACK_RANGE if incremental else "")


@dataclass
class RefreshResult:
    """What one refresh() did: markers consumed and local days re-aggregated per source."""

    markers: int = 0
    days: dict[str, int] = field(default_factory=dict)


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: date) -> datetime:
    """The instant the local day starts (zoneinfo handles the 23- and 25-hour DST days)."""
    return datetime.combine(day, time.min, tzinfo=_tz())


def _days_of_hour(hour: datetime) -> set[date]:
    # An hour lies in one local day unless the zone's offset is not whole hours; covering the
    # last instant of the hour keeps such zones right too.
    tz = _tz()
    return {hour.astimezone(tz).date(), (hour + timedelta(hours=1) - timedelta(microseconds=1)).astimezone(tz).date()}


def day_ranges(days: set[date]) -> tuple[list[datetime], list[datetime]]:
    """Consecutive days merged into half-open [local midnight, next local midnight) ranges."""
    lows: list[datetime] = []
    highs: list[datetime] = []
    previous = None
    for day in sorted(days):
        if previous is not None and day == previous + timedelta(days=1):
            highs[-1] = local_midnight(day + timedelta(days=1))
        else:
            lows.append(local_midnight(day))
            highs.append(local_midnight(day + timedelta(days=1)))
        previous = day
    return lows, highs


def _stamp(cursor) -> None:
    cursor.execute(
        "INSERT INTO analytics_refreshstate (id, refreshed_at) VALUES (1, %s) "
        "ON CONFLICT (id) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at",
        [timezone.now()],
    )


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _reaggregate(cursor, source: str, days: set[date]) -> None:
    lows, highs = day_ranges(days)
    cursor.execute(f"DELETE FROM {TABLES[source]} WHERE day = ANY(%s::date[])", [sorted(days)])  # noqa: S608
    cursor.execute(_insert_sql(source, incremental=True), {"tz": settings.TIME_ZONE, "lo": lows, "hi": highs})
    if source in MONTHLY_TABLES:
        months = sorted({day.replace(day=1) for day in days})
        cursor.execute(f"DELETE FROM {MONTHLY_TABLES[source]} WHERE month = ANY(%s::date[])", [months])  # noqa: S608
        cursor.execute(
            MONTHLY_SQL[source].format(range_join=MONTH_RANGE),
            {"lo": months, "hi": [next_month(month) for month in months]},
        )


@transaction.atomic
def refresh(*, batch: int | None = None) -> RefreshResult:
    """Fold up to `batch` markers (default ANALYTICS_REFRESH_BATCH) into the roll-ups.

    One transaction under the advisory lock: markers are deleted first (see the module
    docstring for why), then every dirty local day of each source is deleted and
    re-aggregated, and every month holding one re-summed. Stamps `refreshed_at`. Returns the
    markers consumed, so a caller can loop while a full batch came back.
    """
    batch = batch or settings.ANALYTICS_REFRESH_BATCH
    result = RefreshResult()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute(
            "DELETE FROM analytics_dirty WHERE id IN (SELECT id FROM analytics_dirty ORDER BY id LIMIT %s) "
            "RETURNING source, hour",
            [batch],
        )
        markers = cursor.fetchall()
        result.markers = len(markers)
        days: dict[str, set[date]] = defaultdict(set)
        for source, hour in markers:
            days[source] |= _days_of_hour(hour)
        for source in SOURCES:
            if days.get(source):
                _reaggregate(cursor, source, days[source])
                result.days[source] = len(days[source])
        _stamp(cursor)
    return result


@transaction.atomic
def rebuild() -> None:
    """Recompute the three daily roll-up tables from the sources (DELETE + INSERT … SELECT),
    then the monthly ones from those.

    Takes the refresh lock, and drops the markers that exist before it reads the sources, so
    a change committed while it runs is still folded in by the next refresh(). DELETE rather
    than TRUNCATE: the roll-ups are small, readers keep seeing the old figures until commit
    instead of waiting on an exclusive lock, and it works inside a transaction that already
    wrote roll-up rows (TRUNCATE refuses while their deferred FK checks are pending).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute("DELETE FROM analytics_dirty")
        for table in (*TABLES.values(), *MONTHLY_TABLES.values()):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        for source in SOURCES:
            cursor.execute(_insert_sql(source, incremental=False), {"tz": settings.TIME_ZONE})
        for source in MONTHLY_TABLES:
            cursor.execute(MONTHLY_SQL[source].format(range_join=""))
        _stamp(cursor)
