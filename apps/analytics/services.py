"""Keep the roll-up tables equal to the raw aggregates over the source tables.

Two ways in, both serialised by one transaction-scoped advisory lock:

- `refresh()`: the incremental path (the beat task every minute). The triggers of migration
  0002 leave an `analytics_dirty` marker (source, UTC hour) for every changed row; refresh
  deletes a batch of markers FIRST, maps their hours to local days, then re-aggregates
  exactly those days of each source with one SELECT … GROUP BY merged into the roll-up (only
  groups that changed are written, `_merge_sql`), then the months holding them (complaints,
  feedback) from the daily rows the same way.
  Deleting the markers before reading the sources is what makes it safe against writers
  running at the same time: a change committed after the markers were taken keeps its own
  marker (its transaction was not visible to the DELETE) and is folded in by the next run.
- `rebuild()`: everything from scratch (DELETE + INSERT … SELECT). For the data loader,
  the bench and `manage.py rebuild_rollups`. A customer's segment is attributed at refresh
  time, so changing it (which the triggers do not mark, it would touch the customer's whole
  history) takes a rebuild to reach old days.

The SQL groups on `(timestamp AT TIME ZONE settings.TIME_ZONE)::date`, and restricts an
incremental run with half-open timestamp ranges (local midnights computed here) given as
literal bounds, so each range is an index range scan where the source has an index.
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

# Each SELECT gives a roll-up's columns in order (Rollup.columns). {range} is TRUE (a full
# rebuild) or restricts the deciding timestamp to the dirty days' half-open local ranges.
SURVEY_SQL = """
SELECT (a.submitted_at AT TIME ZONE %(tz)s)::date, r.product_id, COALESCE(c.segment, ''), a.kind,
       count(*), sum(a.score),
       count(*) FILTER (WHERE a.kind = 'nps' AND a.score >= 9),
       count(*) FILTER (WHERE a.kind = 'nps' AND a.score <= 6),
       count(*) FILTER (WHERE a.kind = 'csat' AND a.score >= 4)
FROM surveys_answer a
JOIN surveys_response r ON r.id = a.response_id
LEFT JOIN customers_customer c ON c.id = r.customer_id
WHERE a.kind IN ('nps', 'csat', 'ces') AND a.score IS NOT NULL AND ({range})
GROUP BY 1, 2, 3, 4
"""

# A closed complaint met its SLA when the acknowledge, respond and close stages were each done by
# their due date (or had none): ComplaintQuerySet.closed_within_sla() is the same rule in the ORM.
WITHIN_SLA = """(
    (x.ack_due_at IS NULL OR (x.acknowledged_at IS NOT NULL AND x.acknowledged_at <= x.ack_due_at))
    AND (x.respond_due_at IS NULL OR (x.responded_at IS NOT NULL AND x.responded_at <= x.respond_due_at))
    AND (x.close_due_at IS NULL OR (x.closed_at IS NOT NULL AND x.closed_at <= x.close_due_at))
)"""

COMPLAINT_SQL = """
SELECT e.day, e.product_id, e.segment, e.category_id, e.channel, sum(e.received), sum(e.closed), sum(e.within_sla)
FROM (
    SELECT (x.received_at AT TIME ZONE %(tz)s)::date AS day, x.product_id, COALESCE(c.segment, '') AS segment,
           x.category_id, x.channel, 1 AS received, 0 AS closed, 0 AS within_sla
    FROM complaints_complaint x
    LEFT JOIN customers_customer c ON c.id = x.customer_id
    WHERE {received_range}
    UNION ALL
    SELECT (x.closed_at AT TIME ZONE %(tz)s)::date, x.product_id, COALESCE(c.segment, ''),
           x.category_id, x.channel, 0, 1, CASE WHEN {within_sla} THEN 1 ELSE 0 END
    FROM complaints_complaint x
    LEFT JOIN customers_customer c ON c.id = x.customer_id
    WHERE x.status = 'closed' AND x.closed_at IS NOT NULL AND ({closed_range})
) e
GROUP BY 1, 2, 3, 4, 5
"""


FEEDBACK_SQL = """
SELECT (f.created_at AT TIME ZONE %(tz)s)::date, f.product_id, COALESCE(c.segment, ''), f.channel,
       f.category_id, f.sentiment, count(*)
FROM feedback_feedback f
LEFT JOIN customers_customer c ON c.id = f.customer_id
WHERE {range}
GROUP BY 1, 2, 3, 4, 5, 6
"""

# The monthly level is summed from the daily rows just written, never from the sources: a
# month is at most ~31 days of daily rows, and the two levels cannot disagree. {range} is
# TRUE (a rebuild) or restricts `day` to the touched months through the daily key's index.
MONTHLY_SQL = {
    "complaint": """
SELECT date_trunc('month', d.day::timestamp)::date, d.product_id, d.segment, d.category_id,
       sum(d.received), sum(d.closed), sum(d.closed_within_sla)
FROM analytics_complaintdaily d
WHERE {range}
GROUP BY 1, 2, 3, 4
""",
    "feedback": """
SELECT date_trunc('month', d.day::timestamp)::date, d.product_id, d.segment, d.sentiment, sum(d.n)
FROM analytics_feedbackdaily d
WHERE {range}
GROUP BY 1, 2, 3, 4
""",
}

# The totals over every product and segment, summed from the monthly rows just written.
TOTAL_SQL = {
    "complaint": """
SELECT m.month, m.category_id, sum(m.received), sum(m.closed), sum(m.closed_within_sla)
FROM analytics_complaintmonthly m
WHERE {range}
GROUP BY 1, 2
""",
    "feedback": """
SELECT m.month, m.sentiment, sum(m.n)
FROM analytics_feedbackmonthly m
WHERE {range}
GROUP BY 1, 2
""",
}


@dataclass(frozen=True)
class Rollup:
    table: str
    constraint: str  # the unique key (NULLS NOT DISTINCT), for ON CONFLICT
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    period: str = "day"

    @property
    def columns(self) -> str:
        return ", ".join((*self.keys, *self.measures))


DAILY = {
    "answer": Rollup(
        "analytics_surveydaily",
        "analytics_survey_daily_key",
        ("day", "product_id", "segment", "kind"),
        ("n", "score_sum", "promoters", "detractors", "satisfied"),
    ),
    "complaint": Rollup(
        "analytics_complaintdaily",
        "analytics_complaint_daily_key",
        ("day", "product_id", "segment", "category_id", "channel"),
        ("received", "closed", "closed_within_sla"),
    ),
    "feedback": Rollup(
        "analytics_feedbackdaily",
        "analytics_feedback_daily_key",
        ("day", "product_id", "segment", "channel", "category_id", "sentiment"),
        ("n",),
    ),
}
MONTHLY = {
    "complaint": Rollup(
        "analytics_complaintmonthly",
        "analytics_complaint_monthly_key",
        ("month", "product_id", "segment", "category_id"),
        ("received", "closed", "closed_within_sla"),
        period="month",
    ),
    "feedback": Rollup(
        "analytics_feedbackmonthly",
        "analytics_feedback_monthly_key",
        ("month", "product_id", "segment", "sentiment"),
        ("n",),
        period="month",
    ),
}
TOTALS = {
    "complaint": Rollup(
        "analytics_complaintmonthlytotal",
        "analytics_complaint_total_key",
        ("month", "category_id"),
        ("received", "closed", "closed_within_sla"),
        period="month",
    ),
    "feedback": Rollup(
        "analytics_feedbackmonthlytotal",
        "analytics_feedback_total_key",
        ("month", "sentiment"),
        ("n",),
        period="month",
    ),
}
# The timestamps that decide which day a source row counts on.
TIMESTAMPS = {
    "answer": ("a.submitted_at",),
    "complaint": ("x.received_at", "x.closed_at"),
    "feedback": ("f.created_at",),
}
NULLABLE_KEYS = {"product_id", "category_id"}  # ids are positive: 0 stands for none in comparisons


def _select_sql(source: str, ranges: dict[str, str] | None = None) -> str:
    """The daily SELECT of `source`; `ranges` maps a timestamp column to its condition."""
    ranges = ranges or {}
    if source == "answer":
        return SURVEY_SQL.format(range=ranges.get("a.submitted_at", "TRUE"))
    if source == "complaint":
        return COMPLAINT_SQL.format(
            received_range=ranges.get("x.received_at", "TRUE"),
            closed_range=ranges.get("x.closed_at", "TRUE"),
            within_sla=WITHIN_SLA,
        )
    return FEEDBACK_SQL.format(range=ranges.get("f.created_at", "TRUE"))


def _range_condition(column: str, count: int) -> str:
    # Literal bounds, one pair per range, rather than a join on unnest(): the planner then
    # estimates from the column's histogram and walks the index for a day's thousand rows,
    # where the join's blind estimate (a third of the table) chose hash joins over every response.
    return " OR ".join(f"({column} >= %(lo{i})s AND {column} < %(hi{i})s)" for i in range(count))


def _merge_sql(rollup: Rollup, select: str) -> str:
    """Make `rollup`'s rows for the periods in %(periods)s equal to `select`'s, writing only what
    differs: groups that vanished are deleted, new and changed ones upserted, unchanged ones
    left alone. A day's changes touch a few groups of each re-aggregated day; rewriting every
    row (its index entries and foreign-key checks) was most of an incremental refresh's cost."""

    def key(alias: str) -> str:
        return ", ".join(f"COALESCE({alias}.{c}, 0)" if c in NULLABLE_KEYS else f"{alias}.{c}" for c in rollup.keys)

    def measures(alias: str) -> str:
        return ", ".join(f"{alias}.{m}" for m in rollup.measures)

    assignments = ", ".join(f"{m} = EXCLUDED.{m}" for m in rollup.measures)
    return f"""
WITH fresh ({rollup.columns}) AS MATERIALIZED ({select}),
old AS MATERIALIZED (
    SELECT t.ctid AS row, {rollup.columns} FROM {rollup.table} t WHERE t.{rollup.period} = ANY(%(periods)s::date[])
),
gone AS (
    DELETE FROM {rollup.table} t WHERE t.ctid = ANY(ARRAY(
        SELECT o.row FROM old o WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE ({key("f")}) = ({key("o")}))
    ))
)
INSERT INTO {rollup.table} ({rollup.columns})
SELECT {rollup.columns} FROM fresh f
WHERE NOT EXISTS (
    SELECT 1 FROM old o WHERE ({key("o")}) = ({key("f")}) AND ({measures("o")}) = ({measures("f")})
)
ON CONFLICT ON CONSTRAINT {rollup.constraint} DO UPDATE SET {assignments}
"""  # noqa: S608 - fixed fragments only


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


def _bounds(lows: list, highs: list) -> dict:
    return {**{f"lo{i}": low for i, low in enumerate(lows)}, **{f"hi{i}": high for i, high in enumerate(highs)}}


def _reaggregate(cursor, source: str, days: set[date]) -> None:
    lows, highs = day_ranges(days)
    condition = {column: _range_condition(column, len(lows)) for column in TIMESTAMPS[source]}
    cursor.execute(
        _merge_sql(DAILY[source], _select_sql(source, condition)),
        {"tz": settings.TIME_ZONE, "periods": sorted(days), **_bounds(lows, highs)},
    )
    if source in MONTHLY:
        months = sorted({day.replace(day=1) for day in days})
        params = {"periods": months, **_bounds(months, [next_month(month) for month in months])}
        select = MONTHLY_SQL[source].format(range=_range_condition("d.day", len(months)))
        cursor.execute(_merge_sql(MONTHLY[source], select), params)
        select = TOTAL_SQL[source].format(range=_range_condition("m.month", len(months)))
        cursor.execute(_merge_sql(TOTALS[source], select), params)


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
        for rollup in (*DAILY.values(), *MONTHLY.values(), *TOTALS.values()):
            cursor.execute(f"DELETE FROM {rollup.table}")  # noqa: S608 - fixed table names
        for source, rollup in DAILY.items():
            cursor.execute(
                f"INSERT INTO {rollup.table} ({rollup.columns}) {_select_sql(source)}",
                {"tz": settings.TIME_ZONE},
            )
        for source, rollup in MONTHLY.items():
            select = MONTHLY_SQL[source].format(range="TRUE")
            cursor.execute(f"INSERT INTO {rollup.table} ({rollup.columns}) {select}")
        for source, rollup in TOTALS.items():
            select = TOTAL_SQL[source].format(range="TRUE")
            cursor.execute(f"INSERT INTO {rollup.table} ({rollup.columns}) {select}")
        _stamp(cursor)


def active_customers_by_segment() -> dict[str, int]:
    """Active customers right now per segment ('' for none). One query."""
    from django.db.models import Count

    from apps.customers.models import Customer

    rows = Customer.objects.active().order_by().values("segment").annotate(n=Count("pk"))
    return {row["segment"]: row["n"] for row in rows}


def monthly_exposure_record(*, months: list[date], counts: dict[str, int] | None = None) -> dict:
    """The MonthlyExposure row of each closed month in `months`, recording the missing ones.

    A missing month is recorded from `counts` (active customers per segment, read now when not
    given) with INSERT … ON CONFLICT DO NOTHING, then read back: two callers racing on the
    same month both get the row that won, and an existing row is never rewritten. The running
    month and later ones are refused: their exposure is not known yet.
    Queries: one read, plus (only when a month is missing) the count, the insert and a re-read.
    """
    from apps.analytics.models import MonthlyExposure

    running = timezone.localdate().replace(day=1)
    if any(month >= running or month.day != 1 for month in months):
        raise ValueError("only the first days of closed months have a recorded exposure")
    found = {row.month: row for row in MonthlyExposure.objects.filter(month__in=months)}
    missing = [month for month in months if month not in found]
    if not missing:
        return found
    if counts is None:
        counts = active_customers_by_segment()
    now = timezone.now()
    MonthlyExposure.objects.bulk_create(
        [
            MonthlyExposure(month=month, active_customers=sum(counts.values()), by_segment=counts, recorded_at=now)
            for month in missing
        ],
        ignore_conflicts=True,
    )
    found.update({row.month: row for row in MonthlyExposure.objects.filter(month__in=missing)})
    return found


def monthly_exposure_close_previous_month() -> date:
    """Record the exposure of the month that ended last (a no-op when it is recorded); returns it.
    Run by the beat task just after the month turns, so the count is the month's last one."""
    running = timezone.localdate().replace(day=1)
    previous = (running - timedelta(days=1)).replace(day=1)
    monthly_exposure_record(months=[previous])
    return previous
