"""Demo records for `manage.py seed_demo` (idempotent: a customer whose name exists is skipped)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.accounts.roles import Role
from apps.customers import services
from apps.customers.models import Contact, Customer, Product

PRODUCTS = [
    ("CLD-STOR", "Cold storage", "service", "Temperature-controlled warehousing from -25 °C to +8 °C."),
    ("LST-MILE", "Last-mile delivery", "service", "Same-day delivery within the metropolitan areas served."),
    ("PAL-TRK", "Pallet tracking tag", "product", "Reusable GPS and temperature logger for pallets."),
    ("CUS-CLR", "Customs clearance", "service", "Import and export declarations for EU and UK shipments."),
    ("PKG-ECO", "Eco packaging kit", "product", "Recyclable insulated packaging for chilled goods."),
]

# name, kind, segment, industry, country, owner role, contacts: (name, e-mail, phone, job role, language, consent)
CUSTOMERS = [
    (
        "Nordwind Logistik GmbH",
        "organisation",
        "Enterprise",
        "Logistics",
        "DE",
        Role.QUALITY_MANAGER,
        [
            ("Katrin Vogel", "k.vogel@nordwind-logistik.example", "+49 40 5550 1201", "Head of Quality", "de", True),
            ("Jonas Petersen", "j.petersen@nordwind-logistik.example", "+49 40 5550 1288", "Dispatcher", "de", False),
        ],
    ),
    (
        "Atlantic Foods Ltd",
        "organisation",
        "Enterprise",
        "Food & beverage",
        "GB",
        Role.STAFF,
        [
            (
                "Emily Carter",
                "emily.carter@atlanticfoods.example",
                "+44 20 7946 0312",
                "Supply Chain Manager",
                "en",
                True,
            ),
            ("Liam O'Brien", "liam.obrien@atlanticfoods.example", "+44 20 7946 0877", "Buyer", "en", True),
            ("Priya Shah", "priya.shah@atlanticfoods.example", "", "Quality Assurance Lead", "en", False),
        ],
    ),
    (
        "Pharma Süd AG",
        "organisation",
        "Regulated",
        "Pharmaceuticals",
        "AT",
        Role.QUALITY_MANAGER,
        [
            ("Dr. Lena Huber", "lena.huber@pharmasued.example", "+43 1 555 3401", "Qualified Person", "de", True),
            ("Markus Egger", "markus.egger@pharmasued.example", "+43 1 555 3420", "Logistics Coordinator", "de", False),
        ],
    ),
    (
        "Boulangerie Martin SARL",
        "organisation",
        "SME",
        "Retail bakery",
        "FR",
        Role.STAFF,
        [("Claire Martin", "claire@boulangerie-martin.example", "+33 1 55 50 12 34", "Owner", "fr", True)],
    ),
    (
        "Van der Berg Bloemen B.V.",
        "organisation",
        "SME",
        "Horticulture",
        "NL",
        Role.STAFF,
        [
            ("Sanne van der Berg", "sanne@vdberg-bloemen.example", "+31 20 555 0192", "Managing Director", "nl", False),
            ("Pieter de Vries", "pieter@vdberg-bloemen.example", "+31 20 555 0177", "Export Clerk", "nl", True),
        ],
    ),
    (
        "Marta Kowalska",
        "individual",
        "Private",
        "",
        "PL",
        Role.STAFF,
        [("Marta Kowalska", "marta.kowalska@example.com", "+48 22 555 01 99", "", "pl", True)],
    ),
]


def load(users: dict) -> None:
    """`users` maps each Role to its demo user; the quality manager is the actor of every write."""
    actor = users[Role.QUALITY_MANAGER]
    now = timezone.now()
    today = timezone.localdate()
    for code, name, kind, description in PRODUCTS:
        if not Product.objects.filter(code__iexact=code).exists():
            services.product_create(actor=actor, code=code, name=name, kind=kind, description=description)

    for name, kind, segment, industry, country, owner_role, contacts in CUSTOMERS:
        if Customer.objects.filter(name=name).exists():
            continue
        customer = services.customer_create(
            actor=actor,
            name=name,
            kind=kind,
            segment=segment,
            industry=industry,
            country=country,
            account_owner=users[owner_role],
        )
        created = []
        for contact_name, email, phone, job_role, language, consent in contacts:
            if Contact.objects.with_email(email).exists():
                continue
            created.append(
                services.contact_create(
                    customer_id=customer.pk,
                    actor=actor,
                    name=contact_name,
                    email=email,
                    phone=phone,
                    job_role=job_role,
                    preferred_language=language,
                    survey_consent=consent,
                    survey_consent_source=Contact.ConsentSource.CONTRACT if consent else "",
                )
            )
        _interactions(customer, created, users=users, actor=actor, now=now, today=today)


def _interactions(customer: Customer, contacts: list[Contact], *, users: dict, actor, now, today) -> None:
    """Two interactions per customer: an older one whose follow-ups are done or overdue, a recent one still open."""
    if not contacts:
        return
    staff = users[Role.STAFF]
    review = services.interaction_log(
        customer_id=customer.pk,
        actor=actor,
        occurred_at=now - timedelta(days=45),
        channel="meeting",
        summary=f"Quarterly service review with {customer.name}: delivery punctuality and damage rates discussed.",
        contact_ids=[contacts[0].pk],
        staff_ids=[actor.pk, staff.pk],
        follow_ups=[
            {"description": "Send the quarterly KPI report", "owner": actor, "due_date": today - timedelta(days=30)},
            {
                "description": "Check the damage claims of last quarter",
                "owner": staff,
                "due_date": today - timedelta(days=5),
            },
        ],
    )
    services.follow_up_complete(follow_up_id=review.follow_ups.order_by("id").first().pk, actor=actor)
    services.interaction_log(
        customer_id=customer.pk,
        actor=staff,
        occurred_at=now - timedelta(days=3),
        channel="call",
        summary="Customer asked about changing the delivery window for the next season.",
        contact_ids=[contact.pk for contact in contacts[-1:]],
        staff_ids=[staff.pk],
        follow_ups=[
            {"description": "Offer an adjusted delivery window", "owner": staff, "due_date": today + timedelta(days=7)}
        ],
    )
