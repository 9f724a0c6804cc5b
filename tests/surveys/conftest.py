"""Shared fixtures of the surveys tests: contacts who may be surveyed, and a send window open all day."""

import pytest

from apps.customers.models import Customer
from tests.customers.factories import ContactFactory, CustomerFactory


def make_contact(customer=None, *, consent: bool = True, **kwargs):
    """A contact (through the customers service) who consents to surveys unless `consent=False`."""
    customer = customer or CustomerFactory()
    return ContactFactory(customer=customer, survey_consent=consent, **kwargs)


@pytest.fixture
def enterprise(db) -> Customer:
    return CustomerFactory(segment="Enterprise")


@pytest.fixture
def open_window(settings):
    """Sending allowed at any hour, for tests that are not about the daytime window."""
    settings.SURVEY_SEND_WINDOW = (0, 24)
