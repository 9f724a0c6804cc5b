"""Read queries for customers, contacts, products and interactions, shared by pages and API."""

from __future__ import annotations

from django.db.models import Count, F, Prefetch, Q, QuerySet

from apps.accounts.models import User
from apps.accounts.roles import GROUP_NAMES, Role
from apps.customers.models import Contact, Customer, FollowUpAction, Interaction, Product

# Auditors never write domain records, so they cannot own an account or a follow-up either.
ASSIGNABLE_ROLES = (Role.QUALITY_MANAGER, Role.STAFF)


def assignable_users() -> QuerySet[User]:
    """Active users whose role may own customers and follow-up actions."""
    return (
        User.objects.active()
        .filter(groups__name__in=[GROUP_NAMES[role] for role in ASSIGNABLE_ROLES])
        .distinct()
        .order_by("full_name", "id")
    )


def customer_list() -> QuerySet[Customer]:
    return (
        Customer.objects.select_related("account_owner")
        .annotate(contact_count=Count("contacts", filter=Q(contacts__erased_at__isnull=True), distinct=True))
        .order_by("name", "id")
    )


def customer_segments() -> list[str]:
    return list(Customer.objects.exclude(segment="").order_by("segment").values_list("segment", flat=True).distinct())


def customer_countries() -> list[str]:
    return list(Customer.objects.exclude(country="").order_by("country").values_list("country", flat=True).distinct())


def contacts_for(customer: Customer) -> list[Contact]:
    return list(customer.contacts.order_by(F("erased_at").asc(nulls_first=True), "id"))


def interactions() -> QuerySet[Interaction]:
    """Interactions with everything their pages and API show, in a fixed number of queries."""
    return Interaction.objects.select_related("customer", "created_by").prefetch_related(
        Prefetch("contacts", queryset=Contact.objects.order_by("id")),
        Prefetch("staff", queryset=User.objects.order_by("full_name", "id")),
        Prefetch("follow_ups", queryset=FollowUpAction.objects.select_related("owner").order_by("due_date", "id")),
    )


def interactions_for(customer: Customer) -> list[Interaction]:
    return list(interactions().filter(customer=customer))


def contacts() -> QuerySet[Contact]:
    return Contact.objects.select_related("customer")


def products() -> QuerySet[Product]:
    return Product.objects.all()
