"""The KPI catalogue quality objectives measure against (ISO 9001 6.2, 9.1.3).

`compute(kpi, start=, end=, filters=)` returns one Decimal (or None when the period has no
data to compute it from), aggregated in PostgreSQL only: survey, complaint-count and feedback
figures from the roll-up tables (apps.analytics.selectors), percentiles and lead times from the
source tables with half-open range predicates on local midnights. Periods are half-open local
dates [start, end). Each KPI applies the filters listed in its definition and ignores the rest.
Counts (complaints, overdue actions) are 0, not None, for a period without any: zero is a result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import Avg, Count, Exists, F, FloatField, Func, OuterRef, Q, Sum
from django.db.models.aggregates import Aggregate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.analytics import selectors
from apps.analytics.selectors import NO_FILTERS, TWO_DP, Filters, quantize, ratio_pct, rollup_q, segment_q

PRODUCT, SEGMENT, CATEGORY, CHANNEL = "product", "segment", "category", "channel"
ALL_FILTERS = frozenset({PRODUCT, SEGMENT, CATEGORY, CHANNEL})
CUSTOMER_FILTERS = frozenset({PRODUCT, SEGMENT})


class Kpi(models.TextChoices):
    NPS = "nps", _("Net Promoter Score")
    CSAT = "csat", _("Customer satisfaction (CSAT)")
    CES = "ces", _("Customer effort score (CES)")
    SURVEY_RESPONSE_RATE = "survey_response_rate", _("Survey response rate")
    COMPLAINTS = "complaints", _("Complaints received")
    COMPLAINTS_PER_100_CUSTOMERS = "complaints_per_100_customers", _("Complaints per 100 customers")
    ACK_MEDIAN_HOURS = "ack_median_hours", _("Median time to acknowledge a complaint")
    ACK_P90_HOURS = "ack_p90_hours", _("90th percentile time to acknowledge a complaint")
    RESPOND_MEDIAN_DAYS = "respond_median_days", _("Median time to respond to a complaint")
    RESPOND_P90_DAYS = "respond_p90_days", _("90th percentile time to respond to a complaint")
    SLA_COMPLIANCE = "sla_compliance", _("Complaints handled within SLA")
    NEGATIVE_FEEDBACK_SHARE = "negative_feedback_share", _("Share of negative feedback")
    OVERDUE_ACTIONS = "overdue_actions", _("Overdue corrective actions")
    REQUIREMENT_REVIEW_LEAD_DAYS = "requirement_review_lead_days", _("Requirement review lead time")


@dataclass(frozen=True)
class KpiDefinition:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    filters: frozenset[str]
    description: str


# --- computations ------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression): a continuous percentile."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within [0, 1]")
        super().__init__(expression, fraction=float(fraction), **extra)


def _seconds_between(later: str, earlier: str) -> Func:
    return Func(
        F(later),
        F(earlier),
        template="EXTRACT(EPOCH FROM (%(expressions)s))",
        arg_joiner=" - ",
        output_field=FloatField(),
    )


def _bounds(start: date, end: date) -> tuple:
    from apps.analytics.services import local_midnight

    return local_midnight(start), local_midnight(end)


def _complaints(start: date, end: date, filters: Filters):
    """Complaints received in [start, end) with all four filters."""
    from apps.complaints.models import Complaint

    lo, hi = _bounds(start, end)
    q = segment_q(filters.segment) & Q(received_at__gte=lo, received_at__lt=hi)
    if filters.product_id is not None:
        q &= Q(product_id=filters.product_id)
    if filters.category_id is not None:
        q &= Q(category_id=filters.category_id)
    if filters.channel is not None:
        q &= Q(channel=filters.channel)
    return Complaint.objects.filter(q)


def _stage_percentile(stage_field: str, fraction: float, per_seconds: int):
    def compute(start: date, end: date, filters: Filters) -> Decimal | None:
        value = (
            _complaints(start, end, filters)
            .filter(**{f"{stage_field}__isnull": False})
            .aggregate(p=PercentileCont(_seconds_between(stage_field, "received_at"), fraction))["p"]
        )
        return None if value is None else quantize(Decimal(str(value)) / per_seconds, TWO_DP)

    return compute


def _nps(start, end, filters):
    return selectors.survey_scores(start=start, end=end, filters=filters).nps


def _csat(start, end, filters):
    return selectors.survey_scores(start=start, end=end, filters=filters).csat_pct


def _ces(start, end, filters):
    return selectors.survey_scores(start=start, end=end, filters=filters).ces_mean


def _response_rate(start, end, filters):
    from apps.surveys.models import Invitation

    lo, hi = _bounds(start, end)
    q = segment_q(filters.segment) & Q(sent_at__gte=lo, sent_at__lt=hi)
    if filters.product_id is not None:
        q &= Q(product_id=filters.product_id)
    row = Invitation.objects.filter(q).aggregate(
        sent=Count("pk"), responded=Count("pk", filter=Q(responded_at__isnull=False))
    )
    return ratio_pct(row["responded"], row["sent"])


def _complaint_rollup(start, end, filters):
    from apps.analytics.models import ComplaintDaily

    q = rollup_q(filters, category=True, channel=True)
    return ComplaintDaily.objects.filter(q, day__gte=start, day__lt=end)


def _complaint_count(start, end, filters):
    return Decimal(_complaint_rollup(start, end, filters).aggregate(n=Sum("received"))["n"] or 0)


def _complaints_per_100(start, end, filters):
    customers = selectors.active_customers(filters)
    if not customers:
        return None
    received = _complaint_rollup(start, end, filters).aggregate(n=Sum("received"))["n"] or 0
    return quantize(Decimal(100 * received) / Decimal(customers), TWO_DP)


def _sla(start, end, filters):
    return selectors.sla_compliance(start=start, end=end, filters=filters).pct


def _negative_share(start, end, filters):
    return selectors.feedback_sentiment(start=start, end=end, filters=filters)["negative_pct"]


def _overdue_actions(start, end, filters):
    """Actions open at the cut-off with a plan item due before its day and not done by then.
    The cut-off is the end of the period, or now when the period reaches today; "open then":
    raised before it and not verified effective before it."""
    from apps.actions.models import ActionPlanItem, CorrectiveAction

    cutoff_day = min(end, timezone.localdate())
    at = min(_bounds(end, end)[0], timezone.now())
    late_item = ActionPlanItem.objects.filter(action=OuterRef("pk"), due_date__lt=cutoff_day).filter(
        Q(done_at__isnull=True) | Q(done_at__gte=at)
    )
    open_then = ~Q(status=CorrectiveAction.Status.VERIFIED_EFFECTIVE) | Q(verified_at__gte=at)
    count = CorrectiveAction.objects.filter(open_then, Exists(late_item), created_at__lt=at).count()
    return Decimal(count)


def _review_lead(start, end, filters):
    """Mean days from submission to review, over the reviews made in the period. A
    requirement keeps only its latest submission time, so reviews of earlier rounds (made
    before that time) are left out rather than given a negative lead time."""
    from apps.requirements.models import RequirementReview

    lo, hi = _bounds(start, end)
    q = segment_q(filters.segment, "requirement__customer") & Q(
        reviewed_at__gte=lo, reviewed_at__lt=hi, requirement__submitted_at__lte=F("reviewed_at")
    )
    if filters.product_id is not None:
        q &= Q(requirement__product_id=filters.product_id)
    value = RequirementReview.objects.filter(q).aggregate(
        lead=Avg(_seconds_between("reviewed_at", "requirement__submitted_at"))
    )["lead"]
    return None if value is None else quantize(Decimal(str(value)) / 86400, TWO_DP)


HOUR, DAY = 3600, 86400

COMPUTE: dict[str, Callable[[date, date, Filters], Decimal | None]] = {
    Kpi.NPS: _nps,
    Kpi.CSAT: _csat,
    Kpi.CES: _ces,
    Kpi.SURVEY_RESPONSE_RATE: _response_rate,
    Kpi.COMPLAINTS: _complaint_count,
    Kpi.COMPLAINTS_PER_100_CUSTOMERS: _complaints_per_100,
    Kpi.ACK_MEDIAN_HOURS: _stage_percentile("acknowledged_at", 0.5, HOUR),
    Kpi.ACK_P90_HOURS: _stage_percentile("acknowledged_at", 0.9, HOUR),
    Kpi.RESPOND_MEDIAN_DAYS: _stage_percentile("responded_at", 0.5, DAY),
    Kpi.RESPOND_P90_DAYS: _stage_percentile("responded_at", 0.9, DAY),
    Kpi.SLA_COMPLIANCE: _sla,
    Kpi.NEGATIVE_FEEDBACK_SHARE: _negative_share,
    Kpi.OVERDUE_ACTIONS: _overdue_actions,
    Kpi.REQUIREMENT_REVIEW_LEAD_DAYS: _review_lead,
}


def _definition(kpi: Kpi, unit, higher: bool, filters: frozenset[str], description) -> KpiDefinition:
    return KpiDefinition(
        key=kpi.value, label=kpi.label, unit=unit, higher_is_better=higher, filters=filters, description=description
    )


DEFINITIONS: dict[str, KpiDefinition] = {
    item.key: item
    for item in (
        _definition(
            Kpi.NPS,
            _("points"),
            True,
            CUSTOMER_FILTERS,
            _(
                "Percentage of NPS answers scoring 9-10 minus percentage scoring 0-6, over the answers "
                "submitted in the period (-100 to 100, one decimal)."
            ),
        ),
        _definition(
            Kpi.CSAT,
            "%",
            True,
            CUSTOMER_FILTERS,
            _("Percentage of CSAT answers scoring 4 or 5 (of 5), over the answers submitted in the period."),
        ),
        _definition(
            Kpi.CES,
            _("points"),
            True,
            CUSTOMER_FILTERS,
            _("Mean customer-effort score (1-7, higher is easier) of the answers submitted in the period."),
        ),
        _definition(
            Kpi.SURVEY_RESPONSE_RATE,
            "%",
            True,
            CUSTOMER_FILTERS,
            _("Percentage of the survey invitations sent in the period that have been answered."),
        ),
        _definition(
            Kpi.COMPLAINTS,
            _("complaints"),
            False,
            ALL_FILTERS,
            _("Number of complaints received in the period."),
        ),
        _definition(
            Kpi.COMPLAINTS_PER_100_CUSTOMERS,
            _("complaints"),
            False,
            ALL_FILTERS,
            _("Complaints received in the period per 100 active customers (of the segment, when filtered)."),
        ),
        _definition(
            Kpi.ACK_MEDIAN_HOURS,
            _("hours"),
            False,
            ALL_FILTERS,
            _(
                "Median of the hours (calendar time) from receipt to acknowledgement, over the complaints "
                "received in the period that have been acknowledged."
            ),
        ),
        _definition(
            Kpi.ACK_P90_HOURS,
            _("hours"),
            False,
            ALL_FILTERS,
            _(
                "90th percentile of the hours (calendar time) from receipt to acknowledgement, over the "
                "complaints received in the period that have been acknowledged."
            ),
        ),
        _definition(
            Kpi.RESPOND_MEDIAN_DAYS,
            _("days"),
            False,
            ALL_FILTERS,
            _(
                "Median of the days (calendar time) from receipt to the response, over the complaints "
                "received in the period that have a response."
            ),
        ),
        _definition(
            Kpi.RESPOND_P90_DAYS,
            _("days"),
            False,
            ALL_FILTERS,
            _(
                "90th percentile of the days (calendar time) from receipt to the response, over the "
                "complaints received in the period that have a response."
            ),
        ),
        _definition(
            Kpi.SLA_COMPLIANCE,
            "%",
            True,
            ALL_FILTERS,
            _(
                "Percentage of the complaints closed in the period that met every due date they had "
                "(acknowledge, respond, close)."
            ),
        ),
        _definition(
            Kpi.NEGATIVE_FEEDBACK_SHARE,
            "%",
            False,
            frozenset({PRODUCT, SEGMENT, CHANNEL}),
            _("Percentage of the feedback recorded in the period whose sentiment is negative."),
        ),
        _definition(
            Kpi.OVERDUE_ACTIONS,
            _("actions"),
            False,
            frozenset(),
            _(
                "Corrective actions open at the end of the period (or now, if sooner) with a plan "
                "item due before that day and not done by then."
            ),
        ),
        _definition(
            Kpi.REQUIREMENT_REVIEW_LEAD_DAYS,
            _("days"),
            False,
            CUSTOMER_FILTERS,
            _(
                "Mean days from a requirement's submission for review to the review, over the reviews "
                "made in the period."
            ),
        ),
    )
}


def compute(kpi: str, *, start: date, end: date, filters: Filters = NO_FILTERS) -> Decimal | None:
    """The KPI over the half-open local period [start, end), None when there is no data.

    Filters the KPI does not support (its definition's `filters`) are ignored. Raises
    KeyError for an unknown KPI key.
    """
    definition = DEFINITIONS[kpi]
    supported = definition.filters
    effective = Filters(
        product_id=filters.product_id if PRODUCT in supported else None,
        segment=filters.segment if SEGMENT in supported else None,
        category_id=filters.category_id if CATEGORY in supported else None,
        channel=filters.channel if CHANNEL in supported else None,
    )
    if end <= start:
        return None
    return COMPUTE[kpi](start, end, effective)
