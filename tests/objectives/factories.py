"""Quality objectives for tests, written through the services like the application does."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from apps.objectives import services
from apps.objectives.models import QualityObjective


def make_objective(*, actor, owner=None, activate: bool = True, **overrides) -> QualityObjective:
    """A manual "average delivery time in days: 7 -> 5" objective over 2026-01-01..2026-07-01."""
    data = {
        "title": "Faster deliveries",
        "plan": "Second shift in dispatch.",
        "owner": owner or actor,
        "kpi_kind": "manual",
        "kpi_label": "Average delivery time in days",
        "baseline_value": Decimal("7"),
        "baseline_date": date(2026, 1, 1),
        "target_value": Decimal("5"),
        "target_date": date(2026, 7, 1),
        "higher_is_better": False,
        "unit": "days",
        "period": "monthly",
    }
    data.update(overrides)
    objective = services.objective_create(actor=actor, **data)
    if activate:
        objective = services.objective_activate(objective_id=objective.pk, actor=actor)
    return objective
