"""Reference implementations: the same figures and lists as the product code, written the
plainest way (raw SQL over the source tables, a bare `.values()` JSON view). They live only
here, for the benchmarks (tests/bench) and the smoke run (tests/smoke) to compare against.

The dashboard references follow the definitions in apps/analytics/selectors.py's docstrings,
not its code: periods are half-open local dates, a closed complaint met its SLA when its
acknowledge, respond and close stages were each done by their due date (or had none),
percentages are rounded half away from zero.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.dateparse import parse_datetime

from apps.core.crypto import unwrap


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _fetch(sql: str, params: dict) -> list[tuple]:
    # A bare driver cursor: no Django cursor wrapper, no ORM.
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _params(start: date, end: date, **extra) -> dict:
    return {"lo": _midnight(start), "hi": _midnight(end), "tz": settings.TIME_ZONE, **extra}


def _segment_sql(alias: str, segment: str | None) -> str:
    if segment is None:
        return ""
    if segment == "":
        return f" AND COALESCE({alias}.segment, '') = ''"
    return f" AND {alias}.segment = %(segment)s"


# --- dashboard figures ------------------------------------------------------------------------------


def survey_scores(start: date, end: date, *, segment: str | None = None) -> dict:
    join = ""
    if segment is not None:
        join = "JOIN surveys_response r ON r.id = a.response_id LEFT JOIN customers_customer c ON c.id = r.customer_id"
    sql = f"""
    SELECT count(*) FILTER (WHERE a.kind = 'nps'),
           round(100.0 * (count(*) FILTER (WHERE a.kind = 'nps' AND a.score >= 9)
                          - count(*) FILTER (WHERE a.kind = 'nps' AND a.score <= 6))
                 / NULLIF(count(*) FILTER (WHERE a.kind = 'nps'), 0), 1),
           count(*) FILTER (WHERE a.kind = 'csat'),
           round(100.0 * count(*) FILTER (WHERE a.kind = 'csat' AND a.score >= 4)
                 / NULLIF(count(*) FILTER (WHERE a.kind = 'csat'), 0), 1),
           count(*) FILTER (WHERE a.kind = 'ces'),
           round(avg(a.score) FILTER (WHERE a.kind = 'ces'), 2)
    FROM surveys_answer a {join}
    WHERE a.kind IN ('nps', 'csat', 'ces') AND a.score IS NOT NULL
      AND a.submitted_at >= %(lo)s AND a.submitted_at < %(hi)s {_segment_sql("c", segment)}
    """  # noqa: S608 - fixed fragments only
    nps_n, nps, csat_n, csat, ces_n, ces = _fetch(sql, _params(start, end, segment=segment))[0]
    return {"nps_n": nps_n, "nps": nps, "csat_n": csat_n, "csat_pct": csat, "ces_n": ces_n, "ces_mean": ces}


# The customer-facing stages only (ComplaintQuerySet.closed_within_sla()): the internal
# assessment deadline does not decide whether the complaint was handled within SLA.
WITHIN_SLA = """(
    (x.ack_due_at IS NULL OR x.acknowledged_at <= x.ack_due_at)
    AND (x.respond_due_at IS NULL OR x.responded_at <= x.respond_due_at)
    AND (x.close_due_at IS NULL OR x.closed_at <= x.close_due_at)
)"""


def complaints_by_month(start: date, end: date, *, segment: str | None = None) -> list[tuple[date, int, int, int]]:
    """(month, received, closed, closed within SLA) for every month of [start, end)."""
    join = "LEFT JOIN customers_customer c ON c.id = x.customer_id" if segment is not None else ""
    where = _segment_sql("c", segment)
    sql = f"""
    WITH months AS (
        SELECT generate_series(%(first)s::date, %(last)s::date, interval '1 month')::date AS month
    ), received AS (
        SELECT date_trunc('month', x.received_at AT TIME ZONE %(tz)s)::date AS month, count(*) AS n
        FROM complaints_complaint x {join}
        WHERE x.received_at >= %(lo)s AND x.received_at < %(hi)s {where}
        GROUP BY 1
    ), closed AS (
        SELECT date_trunc('month', x.closed_at AT TIME ZONE %(tz)s)::date AS month, count(*) AS n,
               count(*) FILTER (WHERE COALESCE({WITHIN_SLA}, false)) AS within
        FROM complaints_complaint x {join}
        WHERE x.status = 'closed' AND x.closed_at >= %(lo)s AND x.closed_at < %(hi)s {where}
        GROUP BY 1
    )
    SELECT m.month, COALESCE(r.n, 0), COALESCE(k.n, 0), COALESCE(k.within, 0)
    FROM months m LEFT JOIN received r USING (month) LEFT JOIN closed k USING (month)
    ORDER BY m.month
    """  # noqa: S608 - fixed fragments only
    if end <= start:
        return []
    first, last = start.replace(day=1), (end - timedelta(days=1)).replace(day=1)
    return _fetch(sql, _params(start, end, first=first, last=last, segment=segment))


def complaint_pareto(start: date, end: date) -> list[tuple[int | None, int, Decimal, Decimal]]:
    """(category id, received, share %, cumulative %), most frequent first, ties by name."""
    sql = """
    SELECT x.category_id, count(*) AS n,
           round(100.0 * count(*) / sum(count(*)) OVER (), 1),
           round(100.0 * sum(count(*)) OVER (ORDER BY count(*) DESC, lower(k.name), x.category_id
                                            ROWS UNBOUNDED PRECEDING) / sum(count(*)) OVER (), 1)
    FROM complaints_complaint x LEFT JOIN complaints_complaintcategory k ON k.id = x.category_id
    WHERE x.received_at >= %(lo)s AND x.received_at < %(hi)s
    GROUP BY x.category_id, k.name
    ORDER BY n DESC, lower(k.name), x.category_id
    """
    return _fetch(sql, _params(start, end))


def sla_compliance(start: date, end: date, *, segment: str | None = None) -> tuple[int, int, Decimal | None]:
    join = "LEFT JOIN customers_customer c ON c.id = x.customer_id" if segment is not None else ""
    sql = f"""
    SELECT count(*), count(*) FILTER (WHERE COALESCE({WITHIN_SLA}, false)),
           round(100.0 * count(*) FILTER (WHERE COALESCE({WITHIN_SLA}, false)) / NULLIF(count(*), 0), 1)
    FROM complaints_complaint x {join}
    WHERE x.status = 'closed' AND x.closed_at >= %(lo)s AND x.closed_at < %(hi)s {_segment_sql("c", segment)}
    """  # noqa: S608 - fixed fragments only
    return _fetch(sql, _params(start, end, segment=segment))[0]


def feedback_sentiment(start: date, end: date, *, segment: str | None = None) -> dict:
    join = "LEFT JOIN customers_customer c ON c.id = f.customer_id" if segment is not None else ""
    sql = f"""
    SELECT count(*) FILTER (WHERE f.sentiment = 'positive'), count(*) FILTER (WHERE f.sentiment = 'neutral'),
           count(*) FILTER (WHERE f.sentiment = 'negative'), count(*) FILTER (WHERE f.sentiment = ''),
           round(100.0 * count(*) FILTER (WHERE f.sentiment = 'negative') / NULLIF(count(*), 0), 1)
    FROM feedback_feedback f {join}
    WHERE f.created_at >= %(lo)s AND f.created_at < %(hi)s {_segment_sql("c", segment)}
    """  # noqa: S608 - fixed fragments only
    positive, neutral, negative, unrated, pct = _fetch(sql, _params(start, end, segment=segment))[0]
    return {"positive": positive, "neutral": neutral, "negative": negative, "unrated": unrated, "negative_pct": pct}


@dataclass(frozen=True)
class Dashboard:
    """Every dashboard figure of one period, in comparable plain values."""

    scores: dict
    months: list[tuple]
    pareto: list[tuple]
    sla: tuple
    sentiment: dict


def reference_dashboard(start: date, end: date, *, segment: str | None = None) -> Dashboard:
    return Dashboard(
        scores=survey_scores(start, end, segment=segment),
        months=[tuple(row) for row in complaints_by_month(start, end, segment=segment)],
        pareto=[tuple(row) for row in complaint_pareto(start, end)] if segment is None else [],
        sla=tuple(sla_compliance(start, end, segment=segment)),
        sentiment=feedback_sentiment(start, end, segment=segment),
    )


def subject_dashboard(start: date, end: date, *, segment: str | None = None) -> Dashboard:
    """The same figures through apps.analytics.selectors (the roll-ups), as plain values."""
    from apps.analytics import selectors

    filters = selectors.Filters(segment=segment)
    scores = selectors.survey_scores(start=start, end=end, filters=filters)
    months = selectors.complaints_by_month(start=start, end=end, filters=filters)
    pareto = selectors.complaint_pareto(start=start, end=end, filters=filters) if segment is None else []
    sla = selectors.sla_compliance(start=start, end=end, filters=filters)
    return Dashboard(
        scores={
            "nps_n": scores.nps_n,
            "nps": scores.nps,
            "csat_n": scores.csat_n,
            "csat_pct": scores.csat_pct,
            "ces_n": scores.ces_n,
            "ces_mean": scores.ces_mean,
        },
        months=[(m.month, m.received, m.closed, m.closed_within_sla) for m in months],
        pareto=[(row.category_id, row.count, row.share_pct, row.cumulative_pct) for row in pareto],
        sla=(sla.closed, sla.within_sla, sla.pct),
        sentiment=selectors.feedback_sentiment(start=start, end=end, filters=filters),
    )


def differences(subject: Dashboard, reference: Dashboard) -> list[str]:
    """Every figure that differs, described; empty when the two agree exactly."""
    found = []
    for name in ("scores", "months", "pareto", "sla", "sentiment"):
        mine, theirs = getattr(subject, name), getattr(reference, name)
        if mine != theirs:
            found.append(f"{name}: roll-up {mine!r} != raw SQL {theirs!r}")
    return found


# --- lists -------------------------------------------------------------------------------------

FEEDBACK_FIELDS = [
    "id",
    "reference",
    "channel",
    "customer_id",
    "customer__name",
    "contact_id",
    "product_id",
    "product__name",
    "rating",
    "category_id",
    "category__name",
    "sentiment",
    "status",
    "owner_id",
    "owner__full_name",
    "call_back",
    "consent_to_contact",
    "consent_at",
    "complaint_id",
    "triaged_at",
    "closed_at",
    "close_reason",
    "erased_at",
    "created_at",
    "updated_at",
    "data_key",
    "text_ct",
]


def feedback_values_view(request):
    """The reference list: newest first, keyset on (created_at, id) from ?before=<iso>,<id>,
    `.values()` of the same columns the API shows, the text decrypted as the API does, and
    a plain JsonResponse. No serializer, no pagination class, no permission classes."""
    from apps.feedback.models import Feedback

    size = min(int(request.GET.get("page_size", 50)), 200)
    rows = Feedback.objects.order_by("-created_at", "-id")
    before = request.GET.get("before")
    if before:
        moment, pk = before.rsplit(",", 1)
        at = parse_datetime(moment)
        rows = rows.filter(created_at__lte=at).exclude(created_at=at, id__gte=int(pk))
    results = []
    for row in rows.values(*FEEDBACK_FIELDS)[:size]:
        wrapped, token = row.pop("data_key"), row.pop("text_ct")
        row["text"] = unwrap(wrapped).decrypt(token.encode()).decode() if wrapped and token else ""
        results.append(row)
    following = None
    if len(results) == size:
        last = results[-1]
        following = f"{last['created_at'].isoformat()},{last['id']}"
    return JsonResponse({"next": following, "results": results})
