from datetime import timedelta

import pytest
from django.utils import timezone

from tests.customers.factories import ContactFactory, CustomerFactory, InteractionFactory, ProductFactory


@pytest.fixture
def customer(db, staff):
    return CustomerFactory(name="Nordwind Logistik GmbH", account_owner=staff, segment="Enterprise", country="DE")


@pytest.fixture
def contact(customer):
    return ContactFactory(customer=customer, name="Katrin Vogel", email="k.vogel@nordwind.example", phone="+49 40 555")


@pytest.fixture
def product(db):
    return ProductFactory(code="CLD-STOR", name="Cold storage", kind="service")


@pytest.fixture
def follow_up(customer, contact, staff):
    """An open follow-up owned by `staff`, due tomorrow."""
    interaction = InteractionFactory(
        customer=customer,
        actor=staff,
        contact_ids=[contact.pk],
        staff_ids=[staff.pk],
        follow_ups=[
            {"description": "Send the KPI report", "owner": staff, "due_date": timezone.localdate() + timedelta(days=1)}
        ],
    )
    return interaction.follow_ups.get()
