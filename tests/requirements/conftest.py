import pytest
from django.contrib.auth.models import Permission

from apps.requirements.models import CustomerRequirement
from tests.requirements.factories import CustomerFactory, RequirementFactory, advance

Status = CustomerRequirement.Status


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Acme Components")


@pytest.fixture
def draft(staff, customer):
    """A draft written and owned by `staff`."""
    return RequirementFactory(created_by=staff, customer=customer, title="Deliver within 48 hours")


@pytest.fixture
def make_requirement(staff, quality_manager, customer):
    """A requirement by `staff` (or `author`) in the given status; reviews by the quality manager."""

    def make(status: str = Status.DRAFT, *, author=None, **kwargs) -> CustomerRequirement:
        author = author or staff
        kwargs.setdefault("customer", customer)
        requirement = RequirementFactory(created_by=author, **kwargs)
        return advance(requirement, status, author=author, reviewer=quality_manager)

    return make


@pytest.fixture
def grant_review():
    """Give one user the review permission individually (user_permissions, not a role)."""

    def grant(user):
        user.user_permissions.add(Permission.objects.get(codename="review_customerrequirement"))
        return type(user).objects.get(pk=user.pk)  # fresh object: permission caches start empty

    return grant
