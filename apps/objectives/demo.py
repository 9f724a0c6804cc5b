"""Demo records for `manage.py seed_demo` (idempotent).

Four objectives written through the services as the quality manager would: a
computed NPS objective, a computed SLA-compliance objective (both measured month
by month from the demo complaints and surveys), a manual "average delivery time
in days: 7 -> 5" objective whose owner entered the monthly figures (and which has
slipped off track, so the page proposes a corrective action), and a draft.
An objective whose title already exists is left alone, so a second run adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.accounts.roles import Role
from apps.objectives import rules, services
from apps.objectives.models import QualityObjective

DELIVERY_FIGURES = ["6.9", "6.6", "6.4", "6.5", "6.8", "7.0"]


def _months_back(today: date, months: int) -> date:
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _create(manager, owner, title: str, *, activate: bool = True, **data) -> QualityObjective | None:
    if QualityObjective.objects.filter(title=title).exists():
        return None
    objective = services.objective_create(actor=manager, title=title, owner=owner, **data)
    if activate:
        objective = services.objective_transition(objective_id=objective.pk, to="active", actor=manager)
    return objective


def _measure_history(objective: QualityObjective, start: date, today: date) -> None:
    """Compute every month from `start` to today, as the nightly job would have."""
    day = start
    while day <= today:
        _first, last = rules.period_bounds(day, objective.period)
        services.objective_measure(objective_id=objective.pk, today=min(last, today))
        day = last + timedelta(days=1)


@transaction.atomic
def load(users) -> None:
    manager = users[Role.QUALITY_MANAGER]
    owner = users.get(Role.STAFF, manager)
    today = timezone.localdate()
    baseline_date = _months_back(today, 6)
    target_date = _months_back(today, -6)

    nps = _create(
        manager,
        manager,
        "Raise the Net Promoter Score to 40",
        plan="Call every detractor within two days; fix the three most cited causes.",
        resources="Customer service team, two hours a week.",
        evaluation="Monthly NPS from the relationship survey, reviewed in the management review.",
        kpi_kind="computed",
        kpi="nps",
        baseline_value=Decimal("20"),
        baseline_date=baseline_date,
        target_value=Decimal("40"),
        target_date=target_date,
        higher_is_better=True,
        unit="points",
        period="monthly",
    )
    if nps is not None:
        _measure_history(nps, baseline_date, today)

    sla = _create(
        manager,
        owner,
        "Handle 95 % of complaints within SLA",
        plan="Daily triage meeting; escalation after one working day without acknowledgement.",
        resources="Complaint handlers; triage dashboard.",
        evaluation="Share of complaints closed in the month that met every SLA due date.",
        kpi_kind="computed",
        kpi="sla_compliance",
        baseline_value=Decimal("70"),
        baseline_date=baseline_date,
        target_value=Decimal("95"),
        target_date=target_date,
        higher_is_better=True,
        unit="%",
        period="monthly",
    )
    if sla is not None:
        _measure_history(sla, baseline_date, today)

    delivery = _create(
        manager,
        owner,
        "Cut average delivery time from 7 to 5 days",
        plan="Second dispatch shift; carrier pickup twice a day.",
        resources="Two warehouse staff; carrier contract change.",
        evaluation="Average days from order to delivery, from the ERP report, entered monthly by the owner.",
        kpi_kind="manual",
        kpi_label="Average delivery time in days",
        baseline_value=Decimal("7"),
        baseline_date=baseline_date,
        target_value=Decimal("5"),
        target_date=target_date,
        higher_is_better=False,
        unit="days",
        period="monthly",
    )
    if delivery is not None:
        for offset, figure in enumerate(DELIVERY_FIGURES):
            services.measurement_record(
                objective_id=delivery.pk,
                period_start=_months_back(today, 6 - offset),
                value=Decimal(figure),
                actor=owner,
                note="ERP delivery report",
            )

    _create(
        manager,
        manager,
        "Review new requirements within 5 days",
        activate=False,
        plan="Weekly review slot; checklist for capacity and statutory requirements.",
        kpi_kind="computed",
        kpi="requirement_review_lead_days",
        baseline_value=Decimal("12"),
        baseline_date=today,
        target_value=Decimal("5"),
        target_date=_months_back(today, -9),
        higher_is_better=False,
        unit="days",
        period="quarterly",
    )
