"""Complaints for tests, recorded through the services like the application does."""

from __future__ import annotations

from apps.complaints import services
from apps.complaints.models import Complaint, ComplaintCategory, ComplaintMessage

Status = Complaint.Status

# The path from "received" to each status, as (status, service call) steps.
PATH = {
    Status.RECEIVED: [],
    Status.ACKNOWLEDGED: [Status.ACKNOWLEDGED],
    Status.INVESTIGATING: [Status.ACKNOWLEDGED, Status.INVESTIGATING],
    Status.AWAITING_CUSTOMER: [Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.AWAITING_CUSTOMER],
    Status.RESPONDED: [Status.ACKNOWLEDGED, Status.INVESTIGATING, "respond", Status.RESPONDED],
    Status.CLOSED: [Status.ACKNOWLEDGED, Status.INVESTIGATING, "respond", Status.RESPONDED, Status.CLOSED],
    Status.REOPENED: [
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        "respond",
        Status.RESPONDED,
        Status.CLOSED,
        Status.REOPENED,
    ],
    Status.REJECTED: [Status.REJECTED],
    Status.WITHDRAWN: [Status.WITHDRAWN],
}


def make_complaint(*, actor="public", assignee=None, qm=None, status: str = Status.RECEIVED, **kwargs) -> Complaint:
    """A complaint filed through complaint_create and moved to `status` by `qm` (a quality manager)."""
    data = {
        "channel": "web",
        "complainant_name": "Clara Customer",
        "complainant_email": "clara@example.org",
        "description": "The delivery arrived broken.",
    }
    data.update(kwargs)
    complaint = services.complaint_create(actor=actor, **data)
    token = complaint.tracking_token
    if assignee is not None:
        services.complaint_assign(complaint_id=complaint.pk, actor=qm, assignee=assignee)
    for step in PATH[status]:
        if step == "respond":
            services.message_add(
                complaint_id=complaint.pk,
                actor=qm,
                body="We replaced the part.",
                visibility=ComplaintMessage.Visibility.CUSTOMER,
            )
            # The response and the closure need the decision recorded (ISO 10002, #24).
            services.complaint_assess(complaint_id=complaint.pk, actor=qm, resolution="The part was replaced.")
        elif step == Status.REOPENED:
            services.complaint_reopen(complaint_id=complaint.pk, actor=qm, reason="Still broken")
        else:
            services.complaint_transition(complaint_id=complaint.pk, to=step, actor=qm, reason="because")
    complaint = Complaint.objects.get(pk=complaint.pk)
    complaint.tracking_token = token
    return complaint


def make_category(name: str = "Damaged delivery") -> ComplaintCategory:
    return ComplaintCategory.objects.create(name=name)
