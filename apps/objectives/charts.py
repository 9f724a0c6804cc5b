"""The objective page's progress chart: measurements against the planned path and the target."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from apps.core import charts
from apps.objectives import rules
from apps.objectives.models import Measurement, Period, QualityObjective
from apps.objectives.templatetags.objectives_tags import plain

MAX_PERIODS = 60


def period_label(start, period: str) -> str:
    if period == Period.QUARTERLY:
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return start.strftime("%Y-%m")


def periods(objective: QualityObjective, measurements: list[Measurement]) -> list[tuple]:
    """The periods from the baseline's to the target's (or the last measured one, if later): the last 60."""
    start, _end = rules.period_bounds(objective.baseline_date, objective.period)
    last = objective.target_date
    if measurements:
        last = max(last, measurements[-1].period_start)
    result = []
    while start <= last:
        bounds = rules.period_bounds(start, objective.period)
        result.append(bounds)
        start = bounds[1] + timedelta(days=1)
    return result[-MAX_PERIODS:]


def progress_chart(objective: QualityObjective, measurements: list[Measurement]) -> charts.Chart:
    by_start = {m.period_start: m.value for m in measurements}
    spans = periods(objective, measurements)
    planned = [
        rules.planned(
            baseline=objective.baseline_value,
            baseline_date=objective.baseline_date,
            target=plain(objective.target_value),
            target_date=objective.target_date,
            at=end,
        ).quantize(Decimal("0.01"))
        for _start, end in spans
    ]
    return charts.line_chart(
        caption=_("%(kpi)s of %(ref)s: measurements against the planned path")
        % {"kpi": objective.kpi_display, "ref": objective.reference},
        x_labels=[period_label(start, objective.period) for start, _end in spans],
        series=[
            charts.Series(name=_("Measured"), values=[by_start.get(start) for start, _end in spans]),
            charts.Series(name=_("Planned path"), values=planned, style="dashed", marker="none"),
        ],
        y_label=objective.unit,
        target=plain(objective.target_value),
    )
