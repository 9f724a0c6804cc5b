"""Demo records for `manage.py seed_demo` (idempotent).

About twenty complaints over the last months in every state, filed through the
services as customers and staff would. Each carries an order reference
"DEMO-CMP-NN"; one that exists already is left alone, so a second run adds
nothing. Receipt dates are moved into the past afterwards (demo data only, not
through the audit trail) so that some open complaints breach their SLA.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.roles import Role
from apps.complaints import services
from apps.complaints.models import Complaint, ComplaintCategory
from apps.customers.models import Customer, Product

CATEGORIES = ["Damaged delivery", "Late delivery", "Wrong item", "Invoice error", "Product defect", "Service conduct"]
STATES = [
    "closed", "closed", "closed", "closed", "responded", "investigating", "investigating", "acknowledged",
    "received", "received", "awaiting_customer", "rejected", "withdrawn", "reopened", "closed", "investigating",
    "acknowledged", "received", "responded", "closed",
]  # fmt: skip
SEVERITIES = ["low", "medium", "high", "critical"]
DESCRIPTIONS = [
    "The pallet arrived with crushed corners and two broken housings.",
    "The delivery came five days after the confirmed date.",
    "We received the 40 mm fittings instead of the 32 mm ones we ordered.",
    "The invoice charges the express surcharge twice.",
    "The pump seal started leaking after three weeks in service.",
    "The driver was rude to our warehouse staff.",
]
PATH = {
    "received": [],
    "acknowledged": ["acknowledged"],
    "investigating": ["acknowledged", "investigating"],
    "awaiting_customer": ["acknowledged", "investigating", "awaiting_customer"],
    "responded": ["acknowledged", "investigating", "respond", "responded"],
    "closed": ["acknowledged", "investigating", "respond", "responded", "closed"],
    "reopened": ["acknowledged", "investigating", "respond", "responded", "closed", "reopen"],
    "rejected": ["rejected"],
    "withdrawn": ["withdrawn"],
}


def load(users: dict) -> None:
    """`users` maps each Role to its demo user."""
    manager, staff = users[Role.QUALITY_MANAGER], users[Role.STAFF]
    categories = []
    for name in CATEGORIES:
        category = ComplaintCategory.objects.filter(name=name).first()
        categories.append(category or services.category_save(actor=manager, name=name))
    customers = list(Customer.objects.active().order_by("id")[:4])
    products = list(Product.objects.filter(is_active=True).order_by("id")[:3])
    existing = set(
        Complaint.objects.filter(order_reference__startswith="DEMO-CMP-").values_list("order_reference", flat=True)
    )
    now = timezone.now()
    for n, state in enumerate(STATES):
        reference = f"DEMO-CMP-{n + 1:02d}"
        if reference in existing:
            continue
        with transaction.atomic():
            complaint = services.complaint_create(
                actor=manager,
                channel=["web", "email", "phone", "letter"][n % 4],
                complainant_name=f"Demo Complainant {n + 1}",
                complainant_email=f"complainant{n + 1}@example.com",
                description=DESCRIPTIONS[n % len(DESCRIPTIONS)],
                customer=customers[n % len(customers)] if customers and n % 3 else None,
                customer_name="" if customers and n % 3 else "Walk-in customer",
                product=products[n % len(products)] if products else None,
                order_reference=reference,
                desired_outcome="Replacement or credit note.",
            )
            # Spread over the last months; the open ones from the first half breach their SLA.
            received = now - timedelta(days=int((len(STATES) - n) * 9 * (1 if n % 2 else 0.3)) + 1)
            Complaint.objects.filter(pk=complaint.pk).unaudited_update(received_at=received)
            complaint.refresh_from_db()
            Complaint.objects.filter(pk=complaint.pk).unaudited_update(
                **{field: getattr(complaint, field) for field in services.recompute_due(complaint)}
            )
            services.complaint_assign(complaint_id=complaint.pk, actor=manager, assignee=staff if n % 2 else manager)
            services.complaint_assess(
                complaint_id=complaint.pk,
                actor=manager,
                severity=SEVERITIES[n % len(SEVERITIES)],
                category=categories[n % len(categories)],
            )
            for step in PATH[state]:
                if step == "respond":
                    services.message_add(
                        complaint_id=complaint.pk,
                        actor=manager,
                        body="We have sent a replacement and credited the freight costs.",
                        visibility="customer",
                    )
                    # Responding and closing need the decision recorded (ISO 10002).
                    services.complaint_assess(
                        complaint_id=complaint.pk,
                        actor=manager,
                        resolution="Replacement sent and freight costs credited.",
                    )
                elif step == "reopen":
                    services.complaint_reopen(complaint_id=complaint.pk, actor=manager, reason="The fault came back.")
                else:
                    services.complaint_transition(
                        complaint_id=complaint.pk, to=step, actor=manager, reason="Demo: not within our scope."
                    )
            if state == "closed" and n % 3 == 0:
                services.complaint_rate(complaint_id=complaint.pk, rating=2 if n == 0 else 5, comment="Demo rating")
