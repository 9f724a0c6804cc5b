"""A small fixed data set for the dashboard, built through the services like the application does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from apps.analytics import services as analytics
from apps.complaints import services as complaint_services
from apps.complaints.models import Complaint
from apps.objectives import services as objective_services
from apps.requirements.models import CustomerRequirement
from tests.actions.factories import ActionFactory
from tests.complaints.factories import PATH, make_category, make_complaint
from tests.customers.factories import CustomerFactory, ProductFactory
from tests.feedback.factories import FeedbackFactory
from tests.objectives.factories import make_objective
from tests.requirements.factories import RequirementFactory
from tests.requirements.factories import advance as advance_requirement

Status = Complaint.Status


@dataclass
class DataSet:
    pump: Any
    valve: Any
    enterprise: Any
    smb: Any
    delivery: Any
    quality: Any


def complaint_in(category, status: str, *, qm, **kwargs) -> Complaint:
    """A complaint received now, categorised, then moved to `status` by the quality manager."""
    complaint = make_complaint(qm=qm, **kwargs)
    complaint_services.complaint_assess(complaint_id=complaint.pk, actor=qm, category=category)
    for step in PATH[status]:
        if step == "respond":
            complaint_services.message_add(complaint_id=complaint.pk, actor=qm, body="Replaced.", visibility="customer")
            complaint_services.complaint_assess(complaint_id=complaint.pk, actor=qm, resolution="Replaced.")
        else:
            complaint_services.complaint_transition(complaint_id=complaint.pk, to=step, actor=qm, reason="done")
    return Complaint.objects.get(pk=complaint.pk)


@pytest.fixture
def build_data(quality_manager, staff):
    """build_data(scale) -> DataSet. Each unit of scale adds, now:

    - Enterprise customer, pump: 2 open complaints and 1 closed one (category Delivery),
      1 new feedback, 1 requirement in review
    - SMB customer, valve: 1 open complaint assigned to staff (category Quality), 1 new feedback
    - 1 open corrective action owned by staff
    - 1 active objective ("Faster deliveries N", days, target 5) measured 6.9 in January 2026, 6.5 in February
    Roll-ups are refreshed afterwards, as the periodic task would.
    """
    state: dict[str, Any] = {}

    def build(scale: int = 1) -> DataSet:
        if "data" not in state:
            state["data"] = DataSet(
                pump=ProductFactory(name="Pump"),
                valve=ProductFactory(name="Valve"),
                enterprise=CustomerFactory(name="Acme", segment="Enterprise"),
                smb=CustomerFactory(name="Bolt", segment="SMB"),
                delivery=make_category("Delivery"),
                quality=make_category("Quality"),
            )
        data = state["data"]
        qm = quality_manager
        for _ in range(scale):
            for status in (Status.RECEIVED, Status.RECEIVED, Status.CLOSED):
                complaint_in(data.delivery, status, qm=qm, customer=data.enterprise, product=data.pump)
            complaint_in(data.quality, Status.RECEIVED, qm=qm, customer=data.smb, product=data.valve, assignee=staff)
            FeedbackFactory(actor=qm, customer=data.enterprise, product=data.pump)
            FeedbackFactory(actor=qm, customer=data.smb, product=data.valve)
            requirement = RequirementFactory(created_by=staff, customer=data.enterprise, product=data.pump)
            advance_requirement(requirement, CustomerRequirement.Status.IN_REVIEW, author=staff, reviewer=qm)
            ActionFactory(actor=qm, owner=staff)
            state["objectives"] = state.get("objectives", 0) + 1
            objective = make_objective(actor=qm, title=f"Faster deliveries {state['objectives']}")
            for month, value in ((1, Decimal("6.9")), (2, Decimal("6.5"))):
                objective_services.measurement_record(
                    objective_id=objective.pk, period_start=date(2026, month, 1), value=value, actor=qm
                )
        analytics.refresh()
        return data

    return build
