"""Demo records for `manage.py seed_demo` (idempotent).

Seven corrective actions in every state, written through the services as the demo
users would: staff own and work on them, the quality manager verifies (four eyes
hold, since the manager owns none of them). Some have overdue plan items, so the
reminder task and the overdue filter have something to show. An action whose title
already exists is left alone, so a second run adds nothing. Where requirement
reviews exist, the first actions point at them as their source; complaints and
feedback raise their own demo actions.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.roles import Role
from apps.actions import services
from apps.actions.models import CorrectiveAction

Status = CorrectiveAction.Status

# title, the state to reach, nonconformity, containment, root cause, [(plan item, due in days, done)]
DEMO = [
    (
        "Requirement accepted without checking capacity",
        "open",
        "A delivery requirement was accepted although the warehouse could not meet the 48-hour window at peak.",
        "Customer informed; peak-season orders confirmed individually.",
        "",
        [],
    ),
    (
        "Shipment e-mails without tracking link",
        "in_progress",
        "Customers reported 14 shipment notifications in March without a working tracking link.",
        "Tracking links re-sent by hand to the affected customers.",
        "The carrier's API changed its URL format; our template was not updated.",
        [
            ("Update the notification template to the new URL format", -5, True),
            ("Add a link check to the release checklist", -2, False),
        ],
    ),
    (
        "Labels printed in the wrong language",
        "in_progress",
        "Two pallets for the French market were labelled in German.",
        "Pallets relabelled before dispatch.",
        "",
        [("Bind label language to the delivery country in the ERP", 10, False)],
    ),
    (
        "Certificates of conformity missing from batches",
        "implemented",
        "Three batches shipped in April without a certificate of conformity.",
        "Certificates sent by e-mail the same day.",
        "Certificate printing depended on one person; no check at packing.",
        [("Add the certificate to the packing checklist", -20, True), ("Train the second shift", -10, True)],
    ),
    (
        "Damaged cartons on arrival",
        "verified_effective",
        "Customers reported crushed cartons on 6 % of deliveries in Q1.",
        "Damaged goods replaced free of charge.",
        "Cartons stacked above their rated load in the carrier's hub.",
        [("Switch to double-wall cartons for heavy items", -60, True)],
    ),
    (
        "Invoices sent to the wrong contact",
        "not_effective",
        "Invoices for two customers went to former contacts.",
        "Invoices re-sent to the right contacts.",
        "Contact changes were recorded in the CRM but not in the billing system.",
        [("Sync billing contacts from the CRM nightly", -40, True)],
    ),
    (
        "Calibration overdue on the torque station",
        "reopened",
        "The torque station was used for two weeks past its calibration date.",
        "Parts assembled in that period re-tested.",
        "Calibration due dates lived in a spreadsheet nobody owned.",
        [("Move calibration dates into the maintenance planner", -30, True)],
    ),
]


def _sources() -> list:
    try:
        from django.apps import apps

        review_model = apps.get_model("requirements", "RequirementReview")
    except LookupError:
        return []
    return list(review_model.objects.order_by("pk")[:2])


def load(users: dict) -> None:
    """`users` maps each Role to its demo user."""
    staff, manager = users[Role.STAFF], users[Role.QUALITY_MANAGER]
    today = timezone.localdate()
    sources = _sources()
    existing = set(CorrectiveAction.objects.filter(title__in=[row[0] for row in DEMO]).values_list("title", flat=True))
    for index, (title, state, nonconformity, containment, root_cause, items) in enumerate(DEMO):
        if title in existing:
            continue
        with transaction.atomic():
            action = services.action_raise(
                source=sources[index] if index < len(sources) else None,
                title=title,
                nonconformity=nonconformity,
                containment=containment,
                actor=manager if index % 2 else staff,
                owner=staff,
            )
            if state == "open":
                continue
            pk = action.pk
            services.action_start(action_id=pk, actor=staff)
            if root_cause:
                services.action_update(action_id=pk, actor=staff, root_cause_method="five_whys", root_cause=root_cause)
            for description, due_in, done in items:
                item = services.plan_item_add(
                    action_id=pk,
                    actor=staff,
                    description=description,
                    owner=staff,
                    due_date=today + timedelta(days=due_in),
                )
                if done:
                    services.plan_item_complete(item_id=item.pk, actor=staff)
            if state == "in_progress":
                continue
            check_date = today + timedelta(days=60) if state == "implemented" else today
            services.action_implement(action_id=pk, actor=staff, effectiveness_check_date=check_date)
            if state == "implemented":
                continue
            services.action_verify(
                action_id=pk,
                actor=manager,
                effective=state == "verified_effective",
                evidence=(
                    "No recurrence in the 90 days since implementation."
                    if state == "verified_effective"
                    else "The nonconformity recurred twice after implementation."
                ),
            )
            if state == "reopened":
                services.action_reopen(action_id=pk, actor=staff, reason="Recurred: the planner was not used.")
                services.plan_item_add(
                    action_id=pk,
                    actor=staff,
                    description="Assign an owner for calibration planning and review weekly",
                    owner=staff,
                    due_date=today - timedelta(days=3),
                )
