"""Demo records for `manage.py seed_demo` (idempotent).

Nine requirements in every state, written through the services as the demo users
would: staff record and submit, the quality manager reviews (four eyes hold,
since the manager never wrote what they review) and requests changes. A
requirement whose title already exists is left alone, so a second run adds nothing.
Uses the demo customers and products when apps.customers.demo made any;
without them every requirement is a general one.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.roles import Role
from apps.customers.models import Customer, Product
from apps.requirements import services
from apps.requirements.models import CustomerRequirement

# title, customer index (None: general / market), product index, type, source, source reference,
# priority, the state to reach, description, acceptance criteria
DEMO = [
    (
        "Delivery within 48 hours of order",
        0,
        0,
        "stated",
        "contract",
        "Framework contract FC-2025-014 §4.2",
        "high",
        "accepted",
        "Standard orders are delivered to the customer's warehouse within 48 hours of order confirmation.",
        "95 % of orders per month delivered within 48 h, measured from order confirmation to signed receipt.",
    ),
    (
        "Certificate of conformity with every batch",
        0,
        0,
        "stated",
        "order",
        "PO 4500123987",
        "medium",
        "change_requested",
        "Each delivered batch is accompanied by a certificate of conformity.",
        "Certificate on paper in the delivery.",
    ),
    (
        "Packaging free of PVC",
        1,
        None,
        "stated",
        "rfq",
        "RFQ 2026-07",
        "medium",
        "in_review",
        "All primary and secondary packaging is free of PVC.",
        "Supplier declarations for every packaging material.",
    ),
    (
        "Same-day on-site repair",
        1,
        1,
        "stated",
        "meeting",
        "Account review meeting 2026-03-12",
        "low",
        "rejected",
        "A technician is on site within the same working day for any reported fault.",
        "",
    ),
    (
        "REACH SVHC declaration",
        None,
        None,
        "regulatory",
        "regulation",
        "Regulation (EC) No 1907/2006 Art. 33",
        "critical",
        "accepted",
        "Inform customers of any substance of very high concern above 0.1 % w/w in delivered articles.",
        "Declaration available for every article on request within 45 days.",
    ),
    (
        "Spare parts available for ten years",
        2,
        1,
        "implied",
        "other",
        "",
        "medium",
        "draft",
        "Customers expect spare parts for at least ten years after the last delivery of a product.",
        "",
    ),
    (
        "Invoices in XRechnung format",
        2,
        None,
        "statutory",
        "regulation",
        "E-invoicing obligation (B2B)",
        "high",
        "draft",
        "Invoices to public-sector customers are issued as XRechnung e-invoices.",
        "Validated by the KoSIT validator without errors.",
    ),
    (
        "Quarterly quality report",
        0,
        None,
        "organisation",
        "complaint",
        "Complaint follow-up",
        "low",
        "withdrawn",
        "Send the customer a quarterly report of quality indicators.",
        "",
    ),
    (
        "Tracking link for every shipment",
        3,
        0,
        "stated",
        "order",
        "Webshop terms",
        "medium",
        "in_review",
        "Every shipment notification contains a working tracking link.",
        "Link works in 99 % of notifications sampled monthly.",
    ),
]


def _pick(rows: list, index: int | None):
    if index is None or not rows:
        return None
    return rows[index % len(rows)]


@transaction.atomic
def load(users: dict) -> None:
    """`users` maps each Role to its demo user."""
    manager, staff = users[Role.QUALITY_MANAGER], users[Role.STAFF]
    customers = list(Customer.objects.active().order_by("id")[:4])
    products = list(Product.objects.filter(is_active=True).order_by("id")[:2])
    existing = set(
        CustomerRequirement.objects.filter(title__in=[row[0] for row in DEMO]).values_list("title", flat=True)
    )
    for title, customer, product, type_, source, reference, priority, state, description, criteria in DEMO:
        if title in existing:
            continue
        requirement = services.requirement_create(
            actor=staff,
            customer=_pick(customers, customer),
            product=_pick(products, product),
            type=type_,
            title=title,
            description=description,
            acceptance_criteria=criteria,
            source=source,
            source_reference=reference,
            priority=priority,
            owner=staff,
            target_date=timezone.localdate() + timedelta(days=60),
        )
        _reach(requirement.pk, state, manager=manager, staff=staff)


def _reach(pk: int, state: str, *, manager, staff) -> None:
    if state == "draft":
        return
    if state == "withdrawn":
        services.requirement_withdraw(
            requirement_id=pk, actor=staff, reason="The customer now reads the indicators on the dashboard."
        )
        return
    services.requirement_submit(requirement_id=pk, actor=staff)
    if state == "in_review":
        return
    if state == "rejected":
        services.requirement_review(
            requirement_id=pk,
            actor=manager,
            decision="reject",
            can_meet=False,
            notes="No technician capacity for same-day visits; offered next-working-day instead.",
        )
        return
    services.requirement_review(
        requirement_id=pk,
        actor=manager,
        decision="accept",
        can_meet=True,
        conditions="Agreed with the customer: public holidays excluded.",
    )
    if state == "change_requested":
        services.requirement_request_change(
            requirement_id=pk,
            actor=manager,
            reason="The customer now wants certificates electronically, attached to the delivery note e-mail.",
            informed="Customer purchasing contact; dispatch team lead",
            informed_users=[staff],
        )
        services.requirement_update(
            requirement_id=pk,
            actor=staff,
            acceptance_criteria="Certificate as PDF attached to the delivery note e-mail, same day as dispatch.",
            reason="Change requested by the customer",
        )
