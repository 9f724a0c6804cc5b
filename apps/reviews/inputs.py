"""Compiling the 9.3.2 inputs of a management review from the portal's data.

`compile_inputs()` returns plain JSON (numbers as strings where they are decimals), which
services freeze into a ReviewSnapshot. Every figure is aggregated in PostgreSQL through the
analytics roll-ups and the KPI catalogue, the same definitions the dashboard and the
objectives use, so a review never tells a different story from the dashboard. Each figure
comes with the previous period of the same length, for the comparison 9.3 asks for.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from apps.analytics import kpis
from apps.analytics import selectors as analytics
from apps.analytics.services import local_midnight
from apps.reviews.models import ManagementReview, add_months

# 2: figures that are ratios carry their exact value ("exact", "current_exact"), so that a
# change is computed before rounding; earlier snapshots lack it and subtract printed figures.
FORMAT_VERSION = 2
TREND_MONTHS = 12
TOP_THEMES = 5
LIST_LIMIT = 50


@dataclass(frozen=True)
class Window:
    """Half-open local dates [start, end)."""

    start: date
    end: date

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def whole_months(self) -> int | None:
        if self.start.day != 1 or self.end.day != 1:
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    @property
    def previous(self) -> Window:
        """The same length immediately before: whole months when the window is whole months."""
        months = self.whole_months
        if months:
            return Window(add_months(self.start, -months), self.start)
        return Window(self.start - (self.end - self.start), self.start)

    def as_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.last_day.isoformat()}


def window_of(review: ManagementReview) -> Window:
    return Window(review.period_start, review.period_end + timedelta(days=1))


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _pair(current: Any, previous: Any) -> dict[str, Any]:
    return {"current": current, "previous": previous}


def _ratio(part: Any, whole: Any, scale: int = 1) -> str | None:
    """scale · part / whole exactly, as a fraction ("1400/23"); None when whole is 0."""
    if not whole:
        return None
    return str(Fraction(scale * int(part or 0), int(whole)))


def _exact(window: Window) -> dict[str, str | None]:
    """The unrounded value of every ratio figure of a window, keyed by KPI: the same sums as
    the analytics figures (survey and feedback roll-ups, invitations, SLA roll-up) before
    `quantize`, so that a change between two periods is rounded once. Two queries besides
    the memoised figures; computed once per window and compile."""
    from apps.analytics.models import SurveyDaily
    from apps.surveys.models import Invitation

    memo = _computed.get()
    found = ("exact", window.start, window.end)
    if memo is not None and found in memo:
        return memo[found]
    surveys = SurveyDaily.objects.filter(day__gte=window.start, day__lt=window.end).aggregate(**analytics.SURVEY_SUMS)
    lo, hi = local_midnight(window.start), local_midnight(window.end)
    invitations = Invitation.objects.filter(sent_at__gte=lo, sent_at__lt=hi).aggregate(
        sent=Count("pk"), responded=Count("pk", filter=Q(responded_at__isnull=False))
    )
    sla = analytics.sla_compliance(start=window.start, end=window.end)
    sentiment = analytics.feedback_sentiment(start=window.start, end=window.end)
    net = (surveys["promoters"] or 0) - (surveys["detractors"] or 0)
    exact = {
        kpis.Kpi.NPS: _ratio(net, surveys["nps_n"], 100),
        kpis.Kpi.CSAT: _ratio(surveys["satisfied"], surveys["csat_n"], 100),
        kpis.Kpi.CES: _ratio(surveys["ces_sum"], surveys["ces_n"]),
        kpis.Kpi.SURVEY_RESPONSE_RATE: _ratio(invitations["responded"], invitations["sent"], 100),
        kpis.Kpi.SLA_COMPLIANCE: _ratio(sla.within_sla, sla.closed, 100),
        kpis.Kpi.NEGATIVE_FEEDBACK_SHARE: _ratio(
            sentiment["negative"], sum(sentiment[k] for k in ("positive", "neutral", "negative", "unrated")), 100
        ),
    }
    exact = {str(key): value for key, value in exact.items()}
    if memo is not None:
        memo[found] = exact
    return exact


# --- 9.3.2 a: actions from previous reviews -----------------------------------------------------


def review_day(review: ManagementReview) -> date:
    """The day a review takes place: when it was held; before that, its planned day, or today
    when that has passed (a meeting not yet held cannot have been earlier than today)."""
    return review.held_on or max(review.meeting_date, timezone.localdate())


def _previous_review(review: ManagementReview) -> ManagementReview | None:
    """The review that took place last before this one, by meeting day (on the same day, the
    one planned first), whatever the periods: they may overlap or nest."""
    mine = review_day(review)
    took_place = Coalesce(F("held_on"), Greatest(F("meeting_date"), Value(timezone.localdate())))
    return (
        ManagementReview.objects.annotate(took_place=took_place)
        .filter(Q(took_place__lt=mine) | Q(took_place=mine, pk__lt=review.pk))
        .exclude(pk=review.pk)
        .order_by("-took_place", "-id")
        .first()
    )


def _actions_from_previous_reviews(review: ManagementReview, window: Window) -> list[dict[str, Any]]:
    """Actions decided at other reviews that were still open when this period began, or were
    decided later. Inputs are compiled before the meeting, so every decision recorded by then
    was taken at an earlier meeting: an action is carried forward while it is open, whatever
    the periods of the two reviews (they may overlap or nest), and one verified effective during
    the period is reported once more with that outcome."""
    from apps.actions.models import CorrectiveAction
    from apps.reviews.models import ReviewDecision

    today = timezone.localdate()
    current_round_open = Q(action__plan_items__done_at__isnull=True, action__plan_items__round=F("action__round"))
    decisions = (
        ReviewDecision.objects.filter(action__isnull=False)
        .exclude(review=review)
        .exclude(
            action__status=CorrectiveAction.Status.VERIFIED_EFFECTIVE,
            action__verified_at__lt=local_midnight(window.start),
        )
        .select_related("review", "action", "action__owner")
        .annotate(
            next_due=Min("action__plan_items__due_date", filter=current_round_open),
            open_items=Count("action__plan_items", filter=current_round_open),
        )
        .order_by("created_at", "id")[:LIST_LIMIT]
    )
    rows = []
    for decision in decisions:
        action = decision.action
        planning = action.status in CorrectiveAction.PLANNING_STATUSES
        rows.append(
            {
                "review": decision.review.reference,
                "decision": decision.text[:300],
                "reference": action.reference,
                "title": action.title,
                "owner": action.owner.display_name,
                "status": action.status,
                "status_label": str(action.get_status_display()),
                "next_due": decision.next_due,
                "open_items": decision.open_items,
                "overdue": bool(planning and decision.next_due and decision.next_due < today),
            }
        )
    return rows


# --- 9.3.2 c 1: customer satisfaction and feedback ----------------------------------------------


def _scores(window: Window) -> dict[str, Any]:
    scores = analytics.survey_scores(start=window.start, end=window.end)
    exact = _exact(window)
    return {
        **asdict(scores),
        "response_rate": _kpi(kpis.Kpi.SURVEY_RESPONSE_RATE, window),
        "exact": {
            "nps": exact[kpis.Kpi.NPS],
            "csat_pct": exact[kpis.Kpi.CSAT],
            "ces_mean": exact[kpis.Kpi.CES],
            "response_rate": exact[kpis.Kpi.SURVEY_RESPONSE_RATE],
        },
    }


def _satisfaction(window: Window) -> dict[str, Any]:
    trend_start = add_months(window.end, -TREND_MONTHS) if window.end.day == 1 else window.end - timedelta(365)
    trend = analytics.survey_scores_by_month(start=trend_start, end=window.end)
    return {
        **_pair(_scores(window), _scores(window.previous)),
        "trend": [
            {"month": month, "nps": s.nps, "csat_pct": s.csat_pct, "ces_mean": s.ces_mean, "n": s.nps_n}
            for month, s in trend
        ],
    }


def _themes(window: Window) -> list[dict[str, Any]]:
    from apps.analytics.models import FeedbackDaily

    rows = (
        FeedbackDaily.objects.filter(day__gte=window.start, day__lt=window.end)
        .values("category_id", "category__name")
        .annotate(count=Sum("n"))
        .order_by("-count", "category__name")
    )
    themes = [
        {"label": row["category__name"] or "", "count": row["count"]}
        for row in rows
        if row["category_id"] is not None and row["count"]
    ]
    return themes[:TOP_THEMES]


def _feedback(window: Window) -> dict[str, Any]:
    def figures(w: Window) -> dict[str, Any]:
        counts = analytics.feedback_sentiment(start=w.start, end=w.end)
        total = counts["positive"] + counts["neutral"] + counts["negative"] + counts["unrated"]
        return {**counts, "total": total}

    return {**_pair(figures(window), figures(window.previous)), "themes": _themes(window)}


# --- 9.3.2 c 2: quality objectives -----------------------------------------------------------------


def _objectives(window: Window) -> dict[str, Any]:
    """Objectives active at any time during the period, with the latest figure measured by its end.

    An objective runs from its baseline date: one still active is in scope once its baseline
    date has come (an overdue one too: it is still being pursued), one that has ended
    (achieved or not) while its target date was not before the period. When it was typed
    into the portal does not matter: objectives are often recorded after they were set.
    Drafts and cancelled objectives were never pursued and are left out."""
    from django.db.models import Prefetch

    from apps.objectives.models import Measurement, ObjectiveStatus, Performance, QualityObjective

    objectives = (
        QualityObjective.objects.exclude(status__in=[ObjectiveStatus.DRAFT, ObjectiveStatus.CANCELLED])
        .filter(baseline_date__lt=window.end)
        .filter(Q(status=ObjectiveStatus.ACTIVE) | Q(target_date__gte=window.start))
        .select_related("owner")
        .prefetch_related(
            Prefetch(
                "measurements",
                queryset=Measurement.objects.filter(period_end__lt=window.end, value__isnull=False).order_by(
                    "-period_start"
                ),
                to_attr="measured",
            )
        )
        .order_by("target_date", "id")[:LIST_LIMIT]
    )
    rows, counts = [], dict.fromkeys(Performance.values, 0)
    for objective in objectives:
        latest = objective.measured[0] if objective.measured else None
        counts[objective.performance] += 1
        rows.append(
            {
                "reference": objective.reference,
                "title": objective.title,
                "status": objective.status,
                "status_label": str(objective.get_status_display()),
                "performance": objective.performance,
                "performance_label": str(Performance(objective.performance).label),
                "baseline": objective.baseline_value,
                "latest": latest.value if latest else None,
                "latest_period": latest.period_start if latest else None,
                "target": objective.target_value,
                "target_date": objective.target_date,
                "unit": objective.unit,
            }
        )
    met = counts[Performance.ACHIEVED] + counts[Performance.ON_TRACK]
    return {"rows": rows, "counts": counts, "met_or_on_track": met, "total": len(rows)}


# --- 9.3.2 c 3: process performance and conformity (complaints) ------------------------------------


def _complaint_figures(window: Window) -> dict[str, Any]:
    months = analytics.complaints_by_month(start=window.start, end=window.end)
    sla = analytics.sla_compliance(start=window.start, end=window.end)
    compute = {
        key: _kpi(key, window)
        for key in (
            kpis.Kpi.ACK_MEDIAN_HOURS,
            kpis.Kpi.ACK_P90_HOURS,
            kpis.Kpi.RESPOND_MEDIAN_DAYS,
            kpis.Kpi.RESPOND_P90_DAYS,
        )
    }
    return {
        "received": sum(m.received for m in months),
        "closed": sum(m.closed for m in months),
        "sla_closed": sla.closed,
        "sla_within": sla.within_sla,
        "sla_pct": sla.pct,
        **{str(key): value for key, value in compute.items()},
        "exact": {"sla_pct": _ratio(sla.within_sla, sla.closed, 100)},
    }


def _recurring(window: Window) -> list[dict[str, Any]]:
    from apps.complaints.models import RecurrenceAlert

    alerts = (
        RecurrenceAlert.objects.filter(
            created_at__gte=local_midnight(window.start), created_at__lt=local_midnight(window.end)
        )
        .select_related("category", "product")
        .order_by("-count", "window_start")[:LIST_LIMIT]
    )
    return [
        {"category": a.category.name, "product": a.product.name, "count": a.count, "since": a.window_start}
        for a in alerts
    ]


def _complaints(window: Window) -> dict[str, Any]:
    trend_start = add_months(window.end, -TREND_MONTHS) if window.end.day == 1 else window.end - timedelta(365)
    return {
        **_pair(_complaint_figures(window), _complaint_figures(window.previous)),
        "by_month": [asdict(row) for row in analytics.complaints_by_month(start=trend_start, end=window.end)],
        "pareto": [asdict(row) for row in analytics.complaint_pareto(start=window.start, end=window.end)],
        "recurring": _recurring(window),
    }


# --- 9.3.2 c 4: nonconformities and corrective actions --------------------------------------------


def _action_figures(window: Window) -> dict[str, Any]:
    from apps.actions.models import CorrectiveAction

    lo, hi = local_midnight(window.start), local_midnight(window.end)
    Status = CorrectiveAction.Status
    verified_in = Q(verified_at__gte=lo, verified_at__lt=hi)
    row = CorrectiveAction.objects.aggregate(
        opened=Count("pk", filter=Q(created_at__gte=lo, created_at__lt=hi)),
        effective=Count("pk", filter=verified_in & Q(status=Status.VERIFIED_EFFECTIVE)),
        not_effective=Count("pk", filter=verified_in & ~Q(status=Status.VERIFIED_EFFECTIVE)),
    )
    checked = row["effective"] + row["not_effective"]
    return {
        **row,
        "effective_pct": analytics.ratio_pct(row["effective"], checked),
        "exact": {"effective_pct": _ratio(row["effective"], checked, 100)},
    }


def _actions(window: Window) -> dict[str, Any]:
    from apps.actions.models import CorrectiveAction

    live = analytics.live_counts()
    return {
        **_pair(_action_figures(window), _action_figures(window.previous)),
        "open_now": CorrectiveAction.objects.open().count(),
        "overdue_now": live.overdue_actions,
    }


# --- 9.3.2 c 5: monitoring and measurement results -----------------------------------------------


def _kpi_table(window: Window) -> list[dict[str, Any]]:
    previous = window.previous
    return [
        {
            "key": definition.key,
            "label": str(definition.label),
            "unit": str(definition.unit),
            "higher_is_better": definition.higher_is_better,
            "current": _kpi(definition.key, window),
            "previous": _kpi(definition.key, previous),
            "current_exact": _exact(window).get(definition.key),
            "previous_exact": _exact(previous).get(definition.key),
        }
        for definition in kpis.DEFINITIONS.values()
    ]


# --- 8.2.3 / 8.2.4: customer requirements reviewed and changed -----------------------------------


def _requirement_figures(window: Window) -> dict[str, Any]:
    from apps.requirements.models import CustomerRequirement, RequirementChangeRequest, RequirementReview

    lo, hi = local_midnight(window.start), local_midnight(window.end)
    reviews = RequirementReview.objects.filter(reviewed_at__gte=lo, reviewed_at__lt=hi).aggregate(
        reviewed=Count("pk"),
        accepted=Count("pk", filter=Q(decision=RequirementReview.Decision.ACCEPT)),
        rejected=Count("pk", filter=Q(decision=RequirementReview.Decision.REJECT)),
        cannot_meet=Count("pk", filter=Q(can_meet=False)),
    )
    return {
        **reviews,
        "new": CustomerRequirement.objects.filter(created_at__gte=lo, created_at__lt=hi).count(),
        "change_requests": RequirementChangeRequest.objects.filter(requested_at__gte=lo, requested_at__lt=hi).count(),
    }


def _requirements(window: Window) -> dict[str, Any]:
    return _pair(_requirement_figures(window), _requirement_figures(window.previous))


# KPI values already computed by the compile under way: the complaint and survey figures and the
# KPI table ask for the same ones, and a stage-time percentile sorts a period's complaints.
_computed: ContextVar[dict | None] = ContextVar("review_kpis", default=None)


def _kpi(key: str, window: Window):
    memo = _computed.get()
    if memo is None:
        return kpis.compute(key, start=window.start, end=window.end)
    found = (key, window.start, window.end)
    if found not in memo:
        memo[found] = kpis.compute(key, start=window.start, end=window.end)
    return memo[found]


def compile_inputs(review: ManagementReview) -> dict[str, Any]:
    """Every 9.3.2 input the portal can know, for the review's period and the one before it."""
    token = _computed.set({})
    try:
        return _compile(review)
    finally:
        _computed.reset(token)


def _compile(review: ManagementReview) -> dict[str, Any]:
    window = window_of(review)
    previous = _previous_review(review)
    data = {
        "format": FORMAT_VERSION,
        "period": window.as_json(),
        "previous_period": window.previous.as_json(),
        "previous_review": (
            {"reference": previous.reference, "period": window_of(previous).as_json()} if previous else None
        ),
        "actions_from_previous_reviews": _actions_from_previous_reviews(review, window),
        "satisfaction": _satisfaction(window),
        "feedback": _feedback(window),
        "objectives": _objectives(window),
        "complaints": _complaints(window),
        "actions": _actions(window),
        "kpis": _kpi_table(window),
        "requirements": _requirements(window),
    }
    return _plain(data)
