"""Demo records for `manage.py seed_demo` (idempotent).

A year of feedback (60 items) from every channel, with ratings and sentiments mixed
and every status reached, written through the services as the demo users would:
the public leaves web feedback, staff record the rest, the quality manager triages,
closes, raises corrective actions and converts two items into complaints. When the demo
staff member has recorded any feedback already, nothing is added.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from apps.accounts.roles import Role
from apps.customers.models import Customer, Product
from apps.feedback import services
from apps.feedback.models import Feedback, FeedbackCategory

CATEGORIES = [
    ("Delivery", "Lead times, punctuality, transport damage"),
    ("Product quality", "Defects, durability, fit and finish"),
    ("Service", "Support, field service, responsiveness"),
    ("Documentation", "Manuals, certificates, labels"),
    ("Invoicing", "Prices, invoices, payment terms"),
    ("Ordering", "Web shop, order confirmation, availability"),
]

# text, rating (None: not given), category
TEXTS = [
    ("Delivery arrived a day early and perfectly packed. Thank you!", 5, "Delivery"),
    ("The pallet was damaged on arrival; two cartons were crushed.", 2, "Delivery"),
    ("Lead time of six weeks is too long for spare parts.", 2, "Delivery"),
    ("Driver was friendly and called ahead as agreed.", 5, "Delivery"),
    ("Tracking link did not work for our last three orders.", 3, "Delivery"),
    ("The new pump runs noticeably quieter than the old model.", 5, "Product quality"),
    ("Seal on the valve leaked after two weeks of operation.", 1, "Product quality"),
    ("Finish on the housings is excellent, much better than last year.", 4, "Product quality"),
    ("Two sensors out of fifty failed calibration at incoming inspection.", 2, "Product quality"),
    ("Product works as described, nothing special to report.", 3, "Product quality"),
    ("Your hotline solved our problem in ten minutes.", 5, "Service"),
    ("Nobody answered our e-mail about the warranty claim for a week.", 1, "Service"),
    ("Technician was on site the same day, very professional.", 5, "Service"),
    ("It would help if support were reachable until 6 pm.", 3, "Service"),
    ("Onboarding training for our operators was very useful.", 4, "Service"),
    ("Manual is only in English; we need it in German too.", 2, "Documentation"),
    ("Certificates of conformity were missing from the last delivery.", 2, "Documentation"),
    ("The new quick-start guide is clear and short. Well done.", 4, "Documentation"),
    ("Labels on the boxes are hard to scan with our handheld scanners.", 3, "Documentation"),
    ("Invoice did not show our purchase order number again.", 2, "Invoicing"),
    ("Thank you for the clear breakdown of freight costs on the invoice.", 4, "Invoicing"),
    ("We were charged twice for the same delivery.", 1, "Invoicing"),
    ("Ordering through the portal is quick and easy.", 4, "Ordering"),
    ("Availability shown in the web shop was wrong; the item was out of stock.", 2, "Ordering"),
    ("Order confirmation came within the hour as promised.", 5, "Ordering"),
    ("Would be great to reorder from order history with one click.", None, "Ordering"),
    ("Met your team at the trade fair, very helpful conversation.", None, "Service"),
    ("Our account manager changed three times this year.", 2, "Service"),
    ("Packaging uses a lot of plastic; please consider paper alternatives.", 3, "Delivery"),
    ("Replacement part fitted perfectly, machine back up in an hour.", 5, "Product quality"),
]
CHANNELS = ["web_form", "email", "phone", "meeting", "social_media", "survey"]
# The status each of the 60 items reaches, cycling: most feedback is handled, some is waiting.
PLAN = ["closed", "triaged", "new", "closed", "actioned", "closed", "triaged", "closed", "actioned", "closed"]
NAMES = ["Jana Novak", "Tom Becker", "Lea Schmidt", "", "Marco Rossi", ""]


def load(users: dict) -> None:
    """`users` maps each Role to its demo user."""
    manager, staff = users[Role.QUALITY_MANAGER], users[Role.STAFF]
    if Feedback.objects.filter(recorded_by=staff).exists():
        return
    rng = random.Random(2026)  # noqa: S311 - reproducible demo data, not security
    categories = _categories(manager)
    customers = list(Customer.objects.active().order_by("id")[:6])
    products = list(Product.objects.filter(is_active=True).order_by("id")[:4])
    now = timezone.now()
    converted = 0
    for n in range(60):
        text, rating, category = TEXTS[n % len(TEXTS)]
        channel = CHANNELS[n % len(CHANNELS)]
        received = now - timedelta(days=365 - n * 6, hours=rng.randint(0, 8))
        product = products[n % len(products)] if products and n % 3 else None
        if channel == "web_form":
            name = NAMES[n % len(NAMES)]
            email = f"{name.split()[0].lower()}@example.net" if name else ""
            feedback = services.feedback_submit_public(
                text=text,
                rating=rating,
                product=product,
                submitter_name=name,
                submitter_email=email,
                consent_to_contact=bool(email) and n % 2 == 0,
            )
        else:
            feedback = services.feedback_record(
                actor=staff if n % 4 else manager,
                channel=channel,
                text=text,
                rating=rating,
                customer=customers[n % len(customers)] if customers else None,
                product=product,
            )
        state = "new" if n >= 57 else PLAN[n % len(PLAN)]
        stamps = _reach(feedback, state, manager=manager, category=categories[category], convert=converted < 2)
        converted += stamps.pop("converted", 0)
        # The services stamp "now"; the demo back-dates the row so the list, filters and trends
        # show a realistic year. These are timestamps only (no audited field changes), so
        # unaudited_update is the honest tool; audit entries keep the real time of writing.
        Feedback.objects.filter(pk=feedback.pk).unaudited_update(
            created_at=received,
            **{field: received + offset for field, offset in stamps.items()},
            **({"consent_at": received} if feedback.consent_to_contact else {}),
        )


def _categories(manager) -> dict[str, FeedbackCategory]:
    existing = {category.name: category for category in FeedbackCategory.objects.all()}
    for name, description in CATEGORIES:
        if name not in existing:
            existing[name] = services.category_create(actor=manager, name=name, description=description)
    return existing


def _reach(feedback: Feedback, state: str, *, manager, category, convert: bool) -> dict:
    """Take new feedback to `state`; returns the timestamp fields set, as offsets from receipt."""
    stamps: dict = {}
    if state == "new":
        return stamps
    services.feedback_triage(feedback_id=feedback.pk, actor=manager, category=category)
    stamps["triaged_at"] = timedelta(days=2)
    if state == "actioned":
        if convert and feedback.sentiment == "negative":
            services.feedback_convert_to_complaint(feedback_id=feedback.pk, actor=manager)
            stamps["converted"] = 1
        else:
            services.feedback_raise_action(
                feedback_id=feedback.pk,
                actor=manager,
                title=f"Follow up {feedback.reference}: {feedback.text[:60]}",
            )
    elif state == "closed":
        services.feedback_close(
            feedback_id=feedback.pk, actor=manager, reason="Thanked the customer; no action needed."
        )
        stamps["closed_at"] = timedelta(days=5)
    return stamps
