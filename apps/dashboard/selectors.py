"""What the home page shows: the quality manager's dashboard (ISO 9001 5.1.2) or a staff member's queue.

The figures come from apps.analytics (roll-ups, a fixed number of queries
each), so the page costs the same number of queries whatever the data size.
Every figure carries the URL of the list behind it, filtered the same way
(see the list parameters each list view accepts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import F, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.analytics import selectors as analytics
from apps.complaints.filters import UNCATEGORISED
from apps.core import charts
from apps.core.dates import add_months


@dataclass(frozen=True)
class Period:
    """Half-open local dates [start, end) of whole months, ending with the current month."""

    start: date
    end: date
    months: int

    @classmethod
    def ending_this_month(cls, months: int, *, today: date | None = None) -> Period:
        today = today or timezone.localdate()
        end = add_months(today, 1)
        return cls(start=add_months(end, -months), end=end, months=months)

    @property
    def previous(self) -> Period:
        """The same length immediately before: what "change against the previous period" compares with."""
        return Period(start=add_months(self.start, -self.months), end=self.start, months=self.months)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def month_starts(self) -> list[date]:
        return [add_months(self.start, i) for i in range(self.months)]

    def label(self) -> str:
        return ngettext("last %(n)d month", "last %(n)d months", self.months) % {"n": self.months}


@dataclass(frozen=True)
class Selection:
    """The dashboard's filters as chosen on the page."""

    period: Period
    product_id: int | None = None
    segment: str = ""

    @property
    def filters(self) -> analytics.Filters:
        return analytics.Filters(product_id=self.product_id, segment=self.segment or None)

    def list_params(self, *, dated: str | None = None, products: bool = True, **extra: Any) -> dict[str, str]:
        """Query parameters for a list: the extra ones, the period as `<dated>_from/_to`, product and segment."""
        params: dict[str, Any] = dict(extra)
        if dated:
            params[f"{dated}_from"] = self.period.start.isoformat()
            params[f"{dated}_to"] = self.period.last_day.isoformat()
        if products:
            params["product"] = self.product_id or ""
            params["segment"] = self.segment
        return {key: str(value) for key, value in params.items() if value not in (None, "")}


def _url(url_name: str, params: dict[str, str]) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode(params)}" if params else url


@dataclass
class Tile:
    key: str
    label: str
    value: Decimal | int | None
    url: str
    unit: str = ""
    detail: str = ""
    delta: Decimal | None = None
    delta_text: str = ""
    extra_links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return self.value is not None


def _delta(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    if current is None or previous is None:
        return None
    return Decimal(current) - Decimal(previous)


def _delta_text(delta: Decimal | None, unit: str, period: Period) -> str:
    if delta is None:
        return _("no data to compare with the previous %(n)d months") % {"n": period.months}
    sign = "+" if delta > 0 else ""
    return _("%(delta)s %(unit)s against the previous %(n)d months") % {
        "delta": f"{sign}{charts.format_value(delta)}",
        "unit": unit,
        "n": period.months,
    }


def _survey_tiles(selection: Selection) -> list[Tile]:
    period = selection.period
    now = analytics.survey_scores(start=period.start, end=period.end, filters=selection.filters)
    before = analytics.survey_scores(start=period.previous.start, end=period.previous.end, filters=selection.filters)
    results = _url(
        "surveys:results",
        {
            key: value
            for key, value in {
                "date_from": period.start.isoformat(),
                "date_to": period.last_day.isoformat(),
                "product": str(selection.product_id or ""),
                "segment": selection.segment,
            }.items()
            if value
        },
    )
    nps_delta = _delta(now.nps, before.nps)
    csat_delta = _delta(now.csat_pct, before.csat_pct)
    return [
        Tile(
            key="nps",
            label=_("Net Promoter Score"),
            value=now.nps,
            url=results,
            detail=ngettext("%(n)d answer", "%(n)d answers", now.nps_n) % {"n": now.nps_n},
            delta=nps_delta,
            delta_text=_delta_text(nps_delta, _("points"), period),
        ),
        Tile(
            key="csat",
            label=_("Customer satisfaction (CSAT)"),
            value=now.csat_pct,
            unit="%",
            url=results,
            detail=ngettext("%(n)d answer", "%(n)d answers", now.csat_n) % {"n": now.csat_n},
            delta=csat_delta,
            delta_text=_delta_text(csat_delta, _("percentage points"), period),
        ),
    ]


def _count_tiles(selection: Selection) -> list[Tile]:
    period = selection.period
    live = analytics.live_counts(filters=selection.filters)
    sla = analytics.sla_compliance(start=period.start, end=period.end, filters=selection.filters)
    closed_url = _url("complaints:complaint_list", selection.list_params(dated="closed"))
    return [
        Tile(
            key="open_complaints",
            label=_("Open complaints"),
            value=live.open_complaints,
            url=_url("complaints:complaint_list", selection.list_params(open="true")),
            detail=_("now"),
        ),
        Tile(
            key="complaints_past_sla",
            label=_("Complaints past SLA"),
            value=live.complaints_past_sla,
            url=_url("complaints:complaint_list", selection.list_params(overdue="true")),
            detail=_("now"),
        ),
        Tile(
            key="sla_compliance",
            label=_("SLA compliance"),
            value=sla.pct,
            unit="%",
            url=_url("complaints:complaint_list", selection.list_params(dated="closed", within_sla="true")),
            detail=_("of the complaints closed in the %(period)s") % {"period": period.label()},
            extra_links=[
                {
                    "label": _("Closed within SLA"),
                    "value": sla.within_sla,
                    "url": _url("complaints:complaint_list", selection.list_params(dated="closed", within_sla="true")),
                },
                {"label": _("Closed"), "value": sla.closed, "url": closed_url},
            ],
        ),
        Tile(
            key="overdue_actions",
            label=_("Overdue corrective actions"),
            value=live.overdue_actions,
            # Corrective actions are not tied to a product or segment.
            url=_url("actions:action_list", selection.list_params(products=False, overdue="true")),
            detail=_("now"),
        ),
        Tile(
            key="requirements_awaiting_review",
            label=_("Requirements awaiting review"),
            value=live.requirements_awaiting_review,
            url=_url("requirements:requirement_list", selection.list_params(status="in_review")),
            detail=_("now"),
        ),
        Tile(
            key="feedback_awaiting_triage",
            label=_("Feedback awaiting triage"),
            value=live.feedback_awaiting_triage,
            url=_url("feedback:feedback_list", selection.list_params(status="new")),
            detail=_("now"),
        ),
    ]


def _month_label(month: date) -> str:
    return date_format(month, "M Y")


def _survey_chart(selection: Selection) -> charts.Chart:
    period = selection.period
    months = analytics.survey_scores_by_month(start=period.start, end=period.end, filters=selection.filters)
    return charts.line_chart(
        caption=_("NPS and CSAT by month"),
        x_labels=[_month_label(month) for month, _scores in months],
        series=[
            charts.Series(_("NPS (points)"), [scores.nps for _month, scores in months]),
            charts.Series(
                _("CSAT (%)"), [scores.csat_pct for _month, scores in months], style="dashed", marker="square"
            ),
        ],
    )


def _complaint_month_chart(selection: Selection) -> tuple[charts.Chart, list[dict[str, Any]]]:
    period = selection.period
    months = analytics.complaints_by_month(start=period.start, end=period.end, filters=selection.filters)
    chart = charts.bar_chart(
        caption=_("Complaints received and closed by month"),
        x_labels=[_month_label(row.month) for row in months],
        series=[
            charts.Series(_("Received"), [row.received for row in months]),
            charts.Series(_("Closed"), [row.closed for row in months], style="dashed"),
        ],
    )
    links = []
    for row in months:
        month = Selection(
            period=Period(start=row.month, end=add_months(row.month, 1), months=1),
            product_id=selection.product_id,
            segment=selection.segment,
        )
        links.append(
            {
                "label": _month_label(row.month),
                "received": row.received,
                "received_url": _url("complaints:complaint_list", month.list_params(dated="received")),
                "closed": row.closed,
                "closed_url": _url("complaints:complaint_list", month.list_params(dated="closed")),
            }
        )
    return chart, links


def _pareto(selection: Selection) -> tuple[charts.Chart, list[dict[str, Any]]]:
    period = selection.period
    rows = analytics.complaint_pareto(start=period.start, end=period.end, filters=selection.filters)
    chart = charts.pareto_chart(
        caption=_("Complaint categories (Pareto)"),
        labels=[row.label for row in rows],
        counts=[row.count for row in rows],
        cumulative_pct=[row.cumulative_pct for row in rows],
    )
    links = [
        {
            "label": row.label,
            "count": row.count,
            "share_pct": row.share_pct,
            "cumulative_pct": row.cumulative_pct,
            "url": _url(
                "complaints:complaint_list",
                selection.list_params(dated="received", category=row.category_id or UNCATEGORISED),
            ),
        }
        for row in rows
    ]
    return chart, links


def _control_chart(selection: Selection) -> tuple[charts.Chart, list[analytics.ControlPoint]]:
    period = selection.period
    points = analytics.complaint_control_chart(start=period.start, end=period.end, filters=selection.filters)
    chart = charts.control_chart(
        caption=_("Complaints per 100 active customers by month (u-chart, 3-sigma limits)"),
        x_labels=[_month_label(point.month) for point in points],
        values=[point.rate for point in points],
        centre=next((point.centre for point in points if point.centre is not None), None),
        ucl=[point.ucl for point in points],
        lcl=[point.lcl for point in points],
        out_of_control=[point.out_of_control for point in points],
        y_label=_("per 100 customers"),
        partial=[point.partial for point in points],
    )
    return chart, points


def plain_number(value: Decimal | int | None) -> str | None:
    """A measured value without storage padding: 6.5000 -> "6.5", 50.00 -> "50"; None stays None."""
    if value is None:
        return None
    return f"{Decimal(value).normalize():f}"


def _objectives(user) -> list[dict[str, Any]]:
    from apps.objectives.selectors import status_table

    rows = []
    for row in status_table(user=user):
        trend = list(row["trend"])
        rows.append(
            {
                **row,
                "latest_text": plain_number(row["latest"]),
                "target_text": plain_number(row["target"]),
                "sparkline": charts.sparkline(trend, label=str(row["objective"])),
                "has_trend": any(value is not None for value in trend),
            }
        )
    return rows


def quality_dashboard(*, user, selection: Selection) -> dict[str, Any]:
    """Everything the quality manager's (and auditor's) dashboard shows for this selection."""
    complaint_chart, complaint_months = _complaint_month_chart(selection)
    pareto_chart, pareto_rows = _pareto(selection)
    control_chart, control_points = _control_chart(selection)
    refreshed: datetime | None = analytics.refreshed_at()
    return {
        "selection": selection,
        "survey_tiles": _survey_tiles(selection),
        "count_tiles": _count_tiles(selection),
        "survey_chart": _survey_chart(selection),
        "complaint_chart": complaint_chart,
        "complaint_months": complaint_months,
        "pareto_chart": pareto_chart,
        "pareto_rows": pareto_rows,
        "control_chart": control_chart,
        "control_signals": [point for point in control_points if point.out_of_control],
        "objectives": _objectives(user),
        "refreshed_at": refreshed,
    }


# The staff member's queue -----------------------------------------------------------


def _next_due(complaint) -> datetime | None:
    from apps.complaints.models import Complaint

    pending = [
        getattr(complaint, due)
        for due, done in Complaint.STAGE_FIELDS.values()
        if getattr(complaint, due) is not None and getattr(complaint, done) is None
    ]
    return min(pending, default=None)


def staff_queue(*, user) -> dict[str, Any]:
    """The signed-in user's open work: assigned complaints, owned actions, owned plan items.

    Three queries whatever the queue length; sorted by the next due date, undated last.
    """
    from apps.actions.models import ActionPlanItem, CorrectiveAction
    from apps.complaints.models import Complaint, ComplaintStatus

    now = timezone.now()
    today = timezone.localdate()
    complaints = []
    for complaint in Complaint.objects.open().filter(assignee=user).select_related("category", "product"):
        due = _next_due(complaint)
        paused = complaint.status == ComplaintStatus.AWAITING_CUSTOMER
        # The complaint's own rule: a deadline missed before a pause stays missed during it.
        overdue = any(complaint.stage_missed(stage, now=now) for stage in Complaint.STAGE_FIELDS)
        complaints.append({"complaint": complaint, "due": due, "paused": paused, "overdue": overdue})
    complaints.sort(key=lambda row: (row["due"] is None, row["due"] or now, row["complaint"].pk))

    actions = []
    action_rows = (
        CorrectiveAction.objects.open()
        .filter(owner=user)
        .annotate(
            next_due=Min(
                "plan_items__due_date",
                filter=Q(plan_items__done_at__isnull=True, plan_items__round=F("round")),
            )
        )
        .order_by(F("next_due").asc(nulls_last=True), "pk")
    )
    for action in action_rows:
        planning = action.status in CorrectiveAction.PLANNING_STATUSES
        actions.append(
            {
                "action": action,
                "due": action.next_due,
                "overdue": bool(planning and action.next_due and action.next_due < today),
            }
        )

    items = []
    item_rows = (
        ActionPlanItem.objects.open()
        .filter(owner=user, round=F("action__round"))
        .exclude(action__status=CorrectiveAction.Status.VERIFIED_EFFECTIVE)
        .select_related("action")
        .order_by("due_date", "pk")
    )
    for item in item_rows:
        planning = item.action.status in CorrectiveAction.PLANNING_STATUSES
        items.append({"item": item, "due": item.due_date, "overdue": planning and item.due_date < today})
    return {"complaints": complaints, "actions": actions, "plan_items": items}
