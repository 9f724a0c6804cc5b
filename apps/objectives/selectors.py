"""Read queries on quality objectives that several callers need (pages, API, dashboard)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.objectives.models import Measurement, Performance, QualityObjective, QualityObjectiveQuerySet
from apps.objectives.templatetags.objectives_tags import plain

TREND_LENGTH = 12


def objective_list(*, user, status: str = "", performance: str = "", owner_id: int | None = None):
    """Objectives the user may see, filtered, soonest target first."""
    queryset: QualityObjectiveQuerySet = QualityObjective.objects.visible_to(user).with_relations()
    if status:
        queryset = queryset.filter(status=status)
    if performance:
        queryset = queryset.filter(performance=performance)
    if owner_id:
        queryset = queryset.filter(owner_id=owner_id)
    return queryset.order_by("target_date", "id")


def measurements(objective: QualityObjective) -> list[Measurement]:
    """The objective's measurements, oldest period first."""
    return list(objective.measurements.select_related("recorded_by").order_by("period_start"))


def latest_measurement(objective: QualityObjective) -> Measurement | None:
    """The latest period's measurement that has a value (an empty period says nothing about progress)."""
    return objective.measurements.filter(value__isnull=False).order_by("-period_start").first()


def performance_label(objective: QualityObjective, *, has_figure: bool) -> str:
    """The performance as people read it. Only finished periods are judged, so an objective
    whose only figure is the running period's has "No data" as its performance; beside that
    figure it reads "Not judged yet" instead of contradicting it."""
    if objective.performance == Performance.NO_DATA and has_figure:
        return _("Not judged yet")
    return str(Performance(objective.performance).label)


def status_table(*, user) -> list[dict[str, Any]]:
    """Active objectives the user may see, with their latest figure and trend (for the dashboard).

    Two queries whatever the number of objectives: the objectives with their
    owners, and all their measurements (prefetched, newest first).
    """
    objectives = (
        QualityObjective.objects.visible_to(user)
        .active()
        .select_related("owner")
        .prefetch_related(
            Prefetch(
                "measurements",
                queryset=Measurement.objects.order_by("-period_start"),
                to_attr="measurements_newest_first",
            )
        )
        .order_by("target_date", "id")
    )
    today = timezone.localdate()
    rows = []
    for objective in objectives:
        newest = objective.measurements_newest_first
        latest_row = next((m for m in newest if m.value is not None), None)
        latest: Decimal | None = plain(latest_row.value) if latest_row is not None else None
        trend = [plain(m.value) for m in reversed(newest[:TREND_LENGTH])]
        rows.append(
            {
                "objective": objective,
                "url": objective.get_absolute_url(),
                "performance": objective.performance,
                "performance_label": performance_label(objective, has_figure=latest is not None),
                "latest": latest,
                # the running period's figure: shown, but not yet what the performance judges
                "latest_provisional": latest_row is not None and latest_row.period_end >= today,
                "target": plain(objective.target_value),
                "unit": objective.unit,
                "trend": trend,
            }
        )
    return rows


def links(objective: QualityObjective) -> dict[str, list[dict[str, str]]]:
    """What the objective is linked to, with each record's page where it has one."""
    from django.urls import reverse

    def url_or_blank(name: str, pk: int) -> str:
        try:
            return reverse(name, args=[pk])
        except Exception:  # an app without that page must not break the objective page
            return ""

    return {
        "requirements": [
            {"label": f"{item.reference} {item.title}", "url": url_or_blank("requirements:requirement_detail", item.pk)}
            for item in objective.customer_requirements.order_by("title", "id")
        ],
        "categories": [{"label": item.name, "url": ""} for item in objective.complaint_categories.order_by("name")],
        "products": [{"label": f"{item.code} {item.name}", "url": ""} for item in objective.products.order_by("name")],
        "actions": [
            {
                "label": f"{item.reference} {item.title}",
                "url": item.get_absolute_url(),
                "status": item.get_status_display(),
            }
            for item in objective.corrective_actions.order_by("-created_at")
        ],
    }
