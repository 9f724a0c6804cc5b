"""Dashboard figures (ISO 9001 9.1.3), read from the roll-up tables.

Every function is a fixed number of queries whatever the data size: one aggregate over the
roll-ups (a few rows per day); the control chart adds its exposure (complaint_control_chart); live_counts()
reads the current state of the source tables with one conditional aggregate per table.
The complaint and feedback figures read the monthly roll-ups instead of the daily ones when
the period is whole months and no channel filter is given (the monthly level has no channel):
the dashboard's usual question, answered from a few rows per month. Both levels hold the same
totals, so the path never changes a figure.
Periods are half-open local dates [start, end) in settings.TIME_ZONE; a month is its first day.
Figures are None, never 0, when there is nothing to compute them from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.analytics.models import (
    ComplaintDaily,
    ComplaintMonthly,
    ComplaintMonthlyTotal,
    FeedbackDaily,
    FeedbackMonthly,
    FeedbackMonthlyTotal,
    RefreshState,
    SurveyDaily,
)


@dataclass(frozen=True)
class Filters:
    """What a figure covers. A figure ignores the filters it does not support (category for
    NPS, for instance); `segment=""` means records without a customer segment."""

    product_id: int | None = None
    segment: str | None = None  # customers.Customer.segment
    category_id: int | None = None  # complaints.ComplaintCategory (complaint figures only)
    channel: str | None = None  # complaints.Channel / feedback.FeedbackChannel value


NO_FILTERS = Filters()


@dataclass(frozen=True)
class Scores:
    nps: Decimal | None
    nps_n: int
    csat_pct: Decimal | None
    csat_n: int
    ces_mean: Decimal | None
    ces_n: int


@dataclass(frozen=True)
class ComplaintMonth:
    month: date
    received: int
    closed: int
    closed_within_sla: int


@dataclass(frozen=True)
class ParetoRow:
    category_id: int | None
    label: str
    count: int
    share_pct: Decimal
    cumulative_pct: Decimal


@dataclass(frozen=True)
class SlaCompliance:
    closed: int
    within_sla: int
    pct: Decimal | None


@dataclass(frozen=True)
class ControlPoint:
    month: date
    count: int
    exposure: int
    rate: Decimal | None
    centre: Decimal | None
    ucl: Decimal | None
    lcl: Decimal | None
    out_of_control: bool
    partial: bool = False  # the running month: drawn apart, outside the centre and limits


@dataclass(frozen=True)
class LiveCounts:
    open_complaints: int
    complaints_past_sla: int
    overdue_actions: int
    requirements_awaiting_review: int
    feedback_awaiting_triage: int


# --- helpers shared with apps.analytics.kpis ---------------------------------------------------

ONE_DP = Decimal("0.1")
TWO_DP = Decimal("0.01")


def quantize(value, places: Decimal = ONE_DP) -> Decimal | None:
    """A number rounded half up to `places`; None stays None."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return value.quantize(places, rounding=ROUND_HALF_UP)


def ratio_pct(part: int, whole: int, places: Decimal = ONE_DP) -> Decimal | None:
    """100 · part / whole, exact until rounded; None when whole is 0."""
    if not whole:
        return None
    return quantize(Decimal(100 * part) / Decimal(whole), places)


def segment_q(segment: str | None, customer: str = "customer") -> Q:
    """The segment filter over a source table: '' also matches records without a customer."""
    if segment is None:
        return Q()
    if segment == "":
        return Q(**{f"{customer}__isnull": True}) | Q(**{f"{customer}__segment": ""})
    return Q(**{f"{customer}__segment": segment})


def rollup_q(filters: Filters, *, product=True, segment=True, category=False, channel=False) -> Q:
    """The supported filters as a Q over a roll-up table."""
    q = Q()
    if product and filters.product_id is not None:
        q &= Q(product_id=filters.product_id)
    if segment and filters.segment is not None:
        q &= Q(segment=filters.segment)
    if category and filters.category_id is not None:
        q &= Q(category_id=filters.category_id)
    if channel and filters.channel is not None:
        q &= Q(channel=filters.channel)
    return q


def months_between(start: date, end: date) -> list[date]:
    """First days of the months that [start, end) touches."""
    months: list[date] = []
    if end <= start:
        return months
    current = start.replace(day=1)
    while current < end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def whole_months(start: date, end: date, filters: Filters) -> bool:
    """Whether the monthly roll-ups answer [start, end) with these filters: both ends are the
    first of a month and no channel filter applies."""
    return start.day == 1 and end.day == 1 and filters.channel is None


def all_products_and_segments(filters: Filters) -> bool:
    """Whether the monthly totals (summed over every product and segment) answer these filters."""
    return filters.product_id is None and filters.segment is None


# --- surveys -----------------------------------------------------------------------------------

SURVEY_SUMS = {
    "nps_n": Sum("n", filter=Q(kind="nps")),
    "promoters": Sum("promoters", filter=Q(kind="nps")),
    "detractors": Sum("detractors", filter=Q(kind="nps")),
    "csat_n": Sum("n", filter=Q(kind="csat")),
    "satisfied": Sum("satisfied", filter=Q(kind="csat")),
    "ces_n": Sum("n", filter=Q(kind="ces")),
    "ces_sum": Sum("score_sum", filter=Q(kind="ces")),
}


def _scores(row: dict) -> Scores:
    nps_n, csat_n, ces_n = row.get("nps_n") or 0, row.get("csat_n") or 0, row.get("ces_n") or 0
    nps = None
    if nps_n:
        nps = quantize(Decimal(100 * ((row["promoters"] or 0) - (row["detractors"] or 0))) / Decimal(nps_n))
    ces = quantize(Decimal(row["ces_sum"] or 0) / Decimal(ces_n), TWO_DP) if ces_n else None
    return Scores(
        nps=nps,
        nps_n=nps_n,
        csat_pct=ratio_pct(row.get("satisfied") or 0, csat_n),
        csat_n=csat_n,
        ces_mean=ces,
        ces_n=ces_n,
    )


def _survey_rows(start: date, end: date, filters: Filters):
    return SurveyDaily.objects.filter(rollup_q(filters), day__gte=start, day__lt=end)


def survey_scores(*, start: date, end: date, filters: Filters = Filters()) -> Scores:
    """NPS (1 dp), CSAT % (1 dp) and CES mean (2 dp) of the answers submitted in [start, end).
    Supports the product and segment filters. One query."""
    return _scores(_survey_rows(start, end, filters).aggregate(**SURVEY_SUMS))


def survey_scores_by_month(*, start: date, end: date, filters: Filters = Filters()) -> list[tuple[date, Scores]]:
    """survey_scores() per month of [start, end), empty months included. One query."""
    rows = (
        _survey_rows(start, end, filters)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(**SURVEY_SUMS)
        .order_by("month")
    )
    by_month = {row["month"]: _scores(row) for row in rows}
    return [(month, by_month.get(month) or _scores({})) for month in months_between(start, end)]


# --- complaints --------------------------------------------------------------------------------


def _complaint_rows(start: date, end: date, filters: Filters, *, category: bool = True):
    """For whole months without a channel filter ComplaintMonthlyTotal rows (no product or
    segment filter either) or ComplaintMonthly rows, else ComplaintDaily."""
    if whole_months(start, end, filters):
        model = ComplaintMonthlyTotal if all_products_and_segments(filters) else ComplaintMonthly
        return model.objects.filter(rollup_q(filters, category=category), month__gte=start, month__lt=end)
    q = rollup_q(filters, category=category, channel=True)
    return ComplaintDaily.objects.filter(q, day__gte=start, day__lt=end)


def complaints_by_month(*, start: date, end: date, filters: Filters = Filters()) -> list[ComplaintMonth]:
    """Complaints received, closed and closed within SLA per month of [start, end), every month
    included. Supports all four filters. One query."""
    rows = _complaint_rows(start, end, filters)
    if rows.model is ComplaintDaily:
        rows = rows.annotate(month=TruncMonth("day"))
    rows = (
        rows.values("month")
        .annotate(received_n=Sum("received"), closed_n=Sum("closed"), within_n=Sum("closed_within_sla"))
        .order_by("month")
    )
    by_month = {row["month"]: row for row in rows}
    result = []
    for month in months_between(start, end):
        row = by_month.get(month, {})
        result.append(
            ComplaintMonth(
                month=month,
                received=row.get("received_n") or 0,
                closed=row.get("closed_n") or 0,
                closed_within_sla=row.get("within_n") or 0,
            )
        )
    return result


def complaint_pareto(*, start: date, end: date, filters: Filters = Filters()) -> list[ParetoRow]:
    """Complaints received in [start, end) per category, most frequent first (then by label),
    with each category's share and the cumulative share (from cumulative counts, so the last
    row is 100.0). The category filter is ignored: a Pareto compares the categories. One query."""
    from apps.complaints.models import ComplaintCategory

    # The name is looked up once per category after grouping, not joined to every roll-up row.
    name = ComplaintCategory.objects.filter(pk=OuterRef("category_id")).order_by().values("name")[:1]
    rows = list(
        _complaint_rows(start, end, filters, category=False)
        .values("category_id")
        .annotate(count=Sum("received"))
        .filter(count__gt=0)
        .annotate(label=Subquery(name))
    )
    uncategorised = _("Uncategorised")
    items = sorted(
        ((row["category_id"], row["label"] or uncategorised, row["count"]) for row in rows),
        key=lambda item: (-item[2], item[1].casefold(), item[0] or 0),
    )
    total = sum(count for *_, count in items)
    result, running = [], 0
    for category_id, label, count in items:
        running += count
        result.append(
            ParetoRow(
                category_id=category_id,
                label=label,
                count=count,
                share_pct=ratio_pct(count, total),
                cumulative_pct=ratio_pct(running, total),
            )
        )
    return result


def sla_compliance(*, start: date, end: date, filters: Filters = Filters()) -> SlaCompliance:
    """Complaints closed in [start, end) and how many of them met every due date
    (apps.analytics.models.ComplaintDaily). Supports all four filters. One query."""
    row = _complaint_rows(start, end, filters).aggregate(closed_n=Sum("closed"), within_n=Sum("closed_within_sla"))
    closed, within = row["closed_n"] or 0, row["within_n"] or 0
    return SlaCompliance(closed=closed, within_sla=within, pct=ratio_pct(within, closed))


def active_customers(filters: Filters) -> int:
    """Active customers in the segment filter: the exposure of per-customer complaint rates."""
    from apps.customers.models import Customer

    qs = Customer.objects.active()
    if filters.segment is not None:
        qs = qs.filter(segment=filters.segment)
    return qs.count()


def first_complaint_month() -> date | None:
    """The first local month holding a received complaint, whatever the filters: where the
    portal's record of complaints starts. One query."""
    return ComplaintMonthlyTotal.objects.filter(received__gt=0).aggregate(first=Min("month"))["first"]


def _elapsed_share(month: date) -> float:
    """How much of the running local month has passed (0 < share <= 1)."""
    from apps.analytics.services import local_midnight, next_month

    begin, finish = local_midnight(month), local_midnight(next_month(month))
    return min(1.0, max((timezone.now() - begin) / (finish - begin), 1e-6))


def complaint_control_chart(*, start: date, end: date, filters: Filters = Filters()) -> list[ControlPoint]:
    """u-chart of complaints received per 100 active customers, per month of [start, end).

    The months run from the first month with any complaint (first_complaint_month(): before
    it the portal holds no record, not a count of zero) to the running month; later ones are
    left out. Each closed month's exposure is its own recorded active-customer count
    (MonthlyExposure, frozen when the month closed, so adding customers today never rewrites
    a closed month), in the segment filter. The running month is `partial`: its exposure is
    today's active customers times the share of the month elapsed (customer-months, so its
    rate compares with the others), and it takes no part in the centre line or the limits.

    n_i = exposure_i / 100, u_i = count_i / n_i, centre ū = Σcount / Σn_i over the closed
    months with customers, limits ū ± 3·sqrt(ū / n_i) with the lower one at least 0. A closed
    point is out of control outside its limits. Rates and limits per 100 customers, 2 dp.
    Three queries once the months are recorded (first month, exposures, counts), one more for
    today's customers with the running month, two more the first time a closed month is read.
    """
    from apps.analytics.services import active_customers_by_segment, monthly_exposure_record

    first = first_complaint_month()
    running = timezone.localdate().replace(day=1)
    if first is None:
        return []
    months = [m for m in complaints_by_month(start=start, end=end, filters=filters) if first <= m.month <= running]
    closed = [m.month for m in months if m.month < running]
    counts = None
    if any(m.month == running for m in months):
        counts = active_customers_by_segment()
    recorded = monthly_exposure_record(months=closed, counts=counts) if closed else {}

    def exposure_of(month: date) -> int:
        if month in recorded:
            return recorded[month].for_segment(filters.segment)
        if filters.segment is None:
            return sum(counts.values())
        return counts.get(filters.segment, 0)

    exposures = {m.month: exposure_of(m.month) for m in months}
    complete = [m for m in months if m.month < running and exposures[m.month]]
    centre = None
    if complete:
        centre = sum(m.received for m in complete) / sum(exposures[m.month] / 100 for m in complete)
    points = []
    for m in months:
        exposure, partial = exposures[m.month], m.month == running
        n_i = exposure / 100 * (_elapsed_share(m.month) if partial else 1)
        rate = m.received / n_i if n_i else None
        ucl = lcl = None
        if centre is not None and n_i and not partial:
            sigma = math.sqrt(centre / n_i)
            ucl, lcl = centre + 3 * sigma, max(0.0, centre - 3 * sigma)
        points.append(
            ControlPoint(
                month=m.month,
                count=m.received,
                exposure=exposure,
                rate=quantize(rate, TWO_DP),
                centre=quantize(centre, TWO_DP) if rate is not None else None,
                ucl=quantize(ucl, TWO_DP),
                lcl=quantize(lcl, TWO_DP),
                out_of_control=ucl is not None and (rate > ucl or rate < lcl),
                partial=partial,
            )
        )
    return points


# --- feedback ----------------------------------------------------------------------------------


def feedback_sentiment(*, start: date, end: date, filters: Filters = Filters()) -> dict:
    """Feedback recorded in [start, end) per sentiment, and the negative share of all of it
    (unrated included) in %, 1 dp. Supports product, segment and channel. One query."""
    if whole_months(start, end, filters) and all_products_and_segments(filters):
        qs = FeedbackMonthlyTotal.objects.filter(month__gte=start, month__lt=end)
    elif whole_months(start, end, filters):
        qs = FeedbackMonthly.objects.filter(rollup_q(filters), month__gte=start, month__lt=end)
    else:
        qs = FeedbackDaily.objects.filter(rollup_q(filters, channel=True), day__gte=start, day__lt=end)
    row = qs.aggregate(
        positive=Sum("n", filter=Q(sentiment="positive")),
        neutral=Sum("n", filter=Q(sentiment="neutral")),
        negative=Sum("n", filter=Q(sentiment="negative")),
        unrated=Sum("n", filter=Q(sentiment="")),
    )
    counts = {key: row[key] or 0 for key in ("positive", "neutral", "negative", "unrated")}
    return {**counts, "negative_pct": ratio_pct(counts["negative"], sum(counts.values()))}


# --- current state -----------------------------------------------------------------------------


def live_counts(*, filters: Filters = Filters()) -> LiveCounts:
    """The state right now, from the source tables, reusing each app's definitions:
    open and past-SLA complaints (ComplaintQuerySet.open()/overdue(); all four filters),
    overdue corrective actions (an open plan item of the current round past due, on an
    action still planned or in progress; no filters), requirements in review (product,
    segment) and new feedback awaiting triage (product, segment, channel). Four queries."""
    from apps.actions.models import ActionPlanItem
    from apps.complaints.models import Complaint
    from apps.feedback.models import Feedback
    from apps.requirements.models import CustomerRequirement

    complaint_q = segment_q(filters.segment)
    if filters.product_id is not None:
        complaint_q &= Q(product_id=filters.product_id)
    if filters.category_id is not None:
        complaint_q &= Q(category_id=filters.category_id)
    if filters.channel is not None:
        complaint_q &= Q(channel=filters.channel)
    complaints = (
        Complaint.objects.open()
        .filter(complaint_q)
        .aggregate(open=Count("pk"), past_sla=Count("pk", filter=Q(pk__in=Complaint.objects.overdue().values("pk"))))
    )

    overdue_actions = ActionPlanItem.objects.overdue().aggregate(n=Count("action_id", distinct=True))["n"]

    requirement_q = segment_q(filters.segment)
    if filters.product_id is not None:
        requirement_q &= Q(product_id=filters.product_id)
    awaiting = CustomerRequirement.objects.awaiting_review().filter(requirement_q).count()

    feedback_q = segment_q(filters.segment) & Q(status=Feedback.Status.NEW)
    if filters.product_id is not None:
        feedback_q &= Q(product_id=filters.product_id)
    if filters.channel is not None:
        feedback_q &= Q(channel=filters.channel)
    triage = Feedback.objects.filter(feedback_q).count()

    return LiveCounts(
        open_complaints=complaints["open"],
        complaints_past_sla=complaints["past_sla"],
        overdue_actions=overdue_actions,
        requirements_awaiting_review=awaiting,
        feedback_awaiting_triage=triage,
    )


def refreshed_at() -> datetime | None:
    """When the roll-ups were last brought up to date (refresh() or rebuild()). One query."""
    return RefreshState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
