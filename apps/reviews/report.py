"""The management-review report: one template for the HTML page and the PDF.

`narrative()` freezes what people wrote (sections, decisions, attendees) into the report
row; `report_context()` turns a frozen snapshot plus that narrative into what
templates/reviews/_report_body.html shows (comparison tables, charts with their data
tables); `render_pdf()` prints the same body with WeasyPrint. Nothing here reads live
data, so a stored version renders the same on the page and on paper years later.
"""

from __future__ import annotations

import warnings
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import charts
from apps.reviews.models import DecisionKind, ManagementReview, ReviewSnapshot

STYLESHEETS = ("css/report.css",)
MINUS = "\N{MINUS SIGN}"


def narrative(review: ManagementReview) -> dict[str, Any]:
    """What the report shows besides the snapshot, as it stands now (JSON)."""
    decisions = review.decisions.select_related("action", "action__owner").prefetch_related("action__plan_items")
    rows = []
    for decision in decisions:
        action = decision.action
        due = None
        if action is not None:
            dues = [item.due_date for item in action.plan_items.all() if item.due_date]
            due = min(dues).isoformat() if dues else None
        rows.append(
            {
                "kind": decision.kind,
                "kind_label": str(DecisionKind(decision.kind).label),
                "text": decision.text,
                "action": (
                    {
                        "reference": action.reference,
                        "title": action.title,
                        "owner": action.owner.display_name,
                        "due": due,
                    }
                    if action
                    else None
                ),
            }
        )
    return {
        "reference": review.reference,
        "title": review.title,
        "status": review.status,
        "status_label": str(review.get_status_display()),
        "meeting_date": review.meeting_date.isoformat(),
        "held_on": review.held_on.isoformat() if review.held_on else None,
        "chair": review.chair.display_name,
        "attendees": review.attendees,
        "minutes": review.minutes,
        "sections": [
            {"field": s["field"], "item": s["item"], "label": s["label"], "text": s["text"]}
            for s in review.manual_sections()
        ],
        "decisions": rows,
    }


# --- numbers ------------------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _fraction(value: Any) -> Fraction | None:
    """An exact figure as the snapshot keeps it ("1400/23"), None when it has none."""
    if value is None or value == "":
        return None
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None


def _text(value: Any, unit: str = "") -> str:
    number = _number(value)
    if number is None:
        return _("no data")
    # As frozen: "100.0" and "4.00" keep the precision the snapshot stored them with.
    return f"{format(number, 'f')} {unit}".strip()


def _places(*values: Decimal) -> int:
    """The decimals a figure is printed with ("66.7" has one): its change gets as many."""
    return max(0, *(-value.as_tuple().exponent for value in values if isinstance(value.as_tuple().exponent, int)))


def _round_half_up(value: Fraction, places: int) -> Decimal:
    """`value` rounded once, half away from zero, to `places` decimals (as analytics rounds)."""
    scaled = abs(value) * 10**places
    whole = int(scaled + Fraction(1, 2))
    rounded = Decimal(whole).scaleb(-places) if places else Decimal(whole)
    return -rounded if value < 0 else rounded


def change_unit(unit: str) -> str:
    """A change of a percentage is in percentage points, not per cent; other units stay."""
    return _("pp") if unit == "%" else unit


def change(
    current: Any,
    previous: Any,
    *,
    higher_is_better: bool | None,
    unit: str = "",
    exact_current: Any = None,
    exact_previous: Any = None,
) -> dict[str, str]:
    """The change against the previous period in words as well as numbers, so it survives a
    black-and-white print: "+6.3 pp (better)".

    Computed from the exact figures when the snapshot has them (14/23 against 12/22 is
    +6.3 pp, although the printed 60.9 and 54.5 differ by 6.4) and rounded once, half up, to the
    decimals the figures are printed with; snapshots without exact figures (format 1) subtract
    the printed ones."""
    now, before = _number(current), _number(previous)
    if now is None or before is None:
        return {"text": "\N{EM DASH}", "trend": ""}
    places = _places(now, before)
    exact_now, exact_before = _fraction(exact_current), _fraction(exact_previous)
    if exact_now is not None and exact_before is not None:
        delta = _round_half_up(exact_now - exact_before, places)
    else:
        delta = _round_half_up(Fraction(now) - Fraction(before), places)
    unit = change_unit(unit)
    if delta == 0:
        return {"text": _text(abs(delta), unit), "trend": _("unchanged")}
    sign = "+" if delta > 0 else MINUS
    text = f"{sign}{_text(abs(delta), unit)}"
    if higher_is_better is None:
        return {"text": text, "trend": ""}
    better = (delta > 0) == higher_is_better
    return {"text": text, "trend": _("better") if better else _("worse")}


def _row(label: str, pair: dict[str, Any], key: str, *, unit: str = "", higher_is_better: bool | None = None):
    now, before = pair["current"], pair["previous"]
    current, previous = now.get(key), before.get(key)
    return {
        "label": label,
        "current": _text(current, unit),
        "previous": _text(previous, unit),
        "change": change(
            current,
            previous,
            higher_is_better=higher_is_better,
            unit=unit,
            exact_current=now.get("exact", {}).get(key),
            exact_previous=before.get("exact", {}).get(key),
        ),
    }


def _month(value: str) -> str:
    return value[:7]


def _floats(values: list[Any]) -> list[float | None]:
    return [None if (n := _number(v)) is None else float(n) for v in values]


# --- the sections -----------------------------------------------------------------------------


def _satisfaction(data: dict[str, Any]) -> dict[str, Any]:
    satisfaction, feedback = data["satisfaction"], data["feedback"]
    trend = satisfaction["trend"]
    rows = [
        _row(_("Net Promoter Score"), satisfaction, "nps", unit=_("points"), higher_is_better=True),
        _row(_("NPS answers"), satisfaction, "nps_n"),
        _row(_("Customer satisfaction (CSAT)"), satisfaction, "csat_pct", unit="%", higher_is_better=True),
        # 1-7, higher is easier: the KPI catalogue's definition, so both tables agree on "better".
        _row(_("Customer effort score (CES, mean)"), satisfaction, "ces_mean", higher_is_better=True),
        _row(_("Survey response rate"), satisfaction, "response_rate", unit="%", higher_is_better=True),
        _row(_("Feedback received"), feedback, "total"),
        _row(_("Positive feedback"), feedback, "positive"),
        _row(_("Negative feedback"), feedback, "negative", higher_is_better=False),
    ]
    chart = charts.line_chart(
        caption=_("NPS and CSAT by month"),
        x_labels=[_month(point["month"]) for point in trend],
        series=[
            charts.Series(_("NPS (points)"), _floats([p["nps"] for p in trend])),
            charts.Series(_("CSAT (%)"), _floats([p["csat_pct"] for p in trend]), style="dashed", marker="square"),
        ],
        y_label=_("points / %"),
    )
    return {"rows": rows, "chart": chart, "themes": feedback["themes"]}


def _complaints(data: dict[str, Any]) -> dict[str, Any]:
    complaints = data["complaints"]
    hours, days = _("hours"), _("days")
    rows = [
        _row(_("Complaints received"), complaints, "received", higher_is_better=False),
        _row(_("Complaints closed"), complaints, "closed"),
        _row(_("Closed within SLA"), complaints, "sla_pct", unit="%", higher_is_better=True),
        _row(_("Median time to acknowledge"), complaints, "ack_median_hours", unit=hours, higher_is_better=False),
        _row(_("90th percentile time to acknowledge"), complaints, "ack_p90_hours", unit=hours, higher_is_better=False),
        _row(_("Median time to respond"), complaints, "respond_median_days", unit=days, higher_is_better=False),
        _row(_("90th percentile time to respond"), complaints, "respond_p90_days", unit=days, higher_is_better=False),
    ]
    months = complaints["by_month"]
    by_month = charts.bar_chart(
        caption=_("Complaints received and closed by month"),
        x_labels=[_month(m["month"]) for m in months],
        series=[
            charts.Series(_("Received"), [m["received"] for m in months]),
            charts.Series(_("Closed"), [m["closed"] for m in months], style="dashed"),
        ],
    )
    pareto = complaints["pareto"]
    pareto_chart = charts.pareto_chart(
        caption=_("Complaint categories in the period (Pareto)"),
        labels=[p["label"] for p in pareto],
        counts=[p["count"] for p in pareto],
        cumulative_pct=[float(p["cumulative_pct"]) for p in pareto],
    )
    return {"rows": rows, "charts": [by_month, pareto_chart], "recurring": complaints["recurring"]}


def _actions(data: dict[str, Any]) -> dict[str, Any]:
    actions = data["actions"]
    return {
        "rows": [
            _row(_("Corrective actions opened"), actions, "opened"),
            _row(_("Verified effective"), actions, "effective", higher_is_better=True),
            _row(_("Verified not effective"), actions, "not_effective", higher_is_better=False),
            _row(_("Effective among those verified"), actions, "effective_pct", unit="%", higher_is_better=True),
        ],
        "open_now": actions["open_now"],
        "overdue_now": actions["overdue_now"],
    }


def _kpis(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "label": kpi["label"],
            "current": _text(kpi["current"], kpi["unit"]),
            "previous": _text(kpi["previous"], kpi["unit"]),
            "change": change(
                kpi["current"],
                kpi["previous"],
                higher_is_better=kpi["higher_is_better"],
                unit=kpi["unit"],
                exact_current=kpi.get("current_exact"),
                exact_previous=kpi.get("previous_exact"),
            ),
        }
        for kpi in data["kpis"]
    ]


def _requirements(data: dict[str, Any]) -> list[dict[str, Any]]:
    requirements = data["requirements"]
    return [
        _row(_("Requirements recorded"), requirements, "new"),
        _row(_("Requirement reviews"), requirements, "reviewed"),
        _row(_("Accepted"), requirements, "accepted"),
        _row(_("Rejected"), requirements, "rejected"),
        _row(_("Reviews finding a requirement cannot be met"), requirements, "cannot_meet", higher_is_better=False),
        _row(_("Change requests"), requirements, "change_requests"),
    ]


def _objectives(data: dict[str, Any]) -> dict[str, Any]:
    objectives = data["objectives"]
    rows = [
        {
            **row,
            "baseline": _text(row["baseline"], row["unit"]),
            "latest": _text(row["latest"], row["unit"]),
            "target": _text(row["target"], row["unit"]),
        }
        for row in objectives["rows"]
    ]
    return {**objectives, "rows": rows}


def report_context(
    *,
    data: dict[str, Any],
    content: dict[str, Any],
    version: int | None,
    snapshot: ReviewSnapshot,
    generated_at=None,
) -> dict[str, Any]:
    """Everything the report body shows, from frozen inputs only."""
    sections = {section["field"]: section for section in content["sections"]}
    return {
        "content": content,
        "version": version,
        "snapshot": snapshot,
        "generated_at": generated_at,
        "period": data["period"],
        "previous_period": data["previous_period"],
        "previous_review": data["previous_review"],
        "previous_actions": data["actions_from_previous_reviews"],
        "satisfaction": _satisfaction(data),
        "objectives": _objectives(data),
        "complaints": _complaints(data),
        "actions": _actions(data),
        "kpis": _kpis(data),
        "requirements": _requirements(data),
        "sections": sections,
    }


def render_html(context: dict[str, Any]) -> str:
    """The standalone page WeasyPrint prints (the web page includes the same body)."""
    return render_to_string("reviews/report_pdf.html", {**context, "pdf": True})


def _stylesheet_paths() -> list[Path]:
    base = Path(settings.BASE_DIR) / "static"
    return [base / name for name in STYLESHEETS]


def weasyprint():
    """WeasyPrint, imported on first use so that the web process only loads Pango when a report
    is printed.

    Without the HarfBuzz subset library (system-packages.txt installs it) WeasyPrint embeds whole
    fonts instead of subsets and says so once with a DeprecationWarning at import. That is about
    the machine, not the report: a process running with warnings as errors (the test suite, or
    `python -W error`) must still print reports, so this one warning is ignored here, where it is
    raised, rather than relying on whatever warning filters the process has.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset will be required", category=DeprecationWarning)
        import weasyprint

    return weasyprint


def render_document(html: str) -> tuple[bytes, int]:
    """The PDF of a report page and its page count."""
    library = weasyprint()
    stylesheets = [library.CSS(filename=str(path)) for path in _stylesheet_paths()]
    document = library.HTML(string=html, base_url=str(settings.BASE_DIR)).render(stylesheets=stylesheets)
    return document.write_pdf(), len(document.pages)


def render_pdf(
    *, review: ManagementReview, snapshot: ReviewSnapshot, content: dict[str, Any], version: int
) -> tuple[bytes, int]:
    context = report_context(
        data=snapshot.data, content=content, version=version, snapshot=snapshot, generated_at=timezone.now()
    )
    return render_document(render_html(context))
