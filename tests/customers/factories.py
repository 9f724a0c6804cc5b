"""Customers test data. Contacts and interactions go through the services, so encryption,
the blind index and audit entries are exactly what production writes."""

from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.roles import Role
from apps.customers import services
from apps.customers.models import Contact, Customer, Interaction, Product
from tests.factories import UserFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    kind = Product.Kind.PRODUCT


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n:04d} Ltd")
    kind = Customer.Kind.ORGANISATION
    segment = "Enterprise"
    industry = "Logistics"
    country = "DE"


class ContactFactory(factory.Factory):
    """`ContactFactory(customer=..., email=...)`; created by `services.contact_create` as the system actor."""

    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    phone = "+49 30 1234567"
    job_role = "Buyer"

    @classmethod
    def _create(cls, model_class, customer, **kwargs):
        return services.contact_create(customer_id=customer.pk, actor=None, **kwargs)


class InteractionFactory(factory.Factory):
    """`InteractionFactory(customer=..., actor=..., follow_ups=[{...}])`; created by `services.interaction_log`."""

    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    actor = factory.SubFactory(UserFactory, role=Role.STAFF)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    channel = Interaction.Channel.CALL
    summary = "Discussed delivery windows."
    contact_ids = ()
    staff_ids = ()
    follow_ups = ()

    @classmethod
    def _create(cls, model_class, customer, **kwargs):
        return services.interaction_log(customer_id=customer.pk, **kwargs)
