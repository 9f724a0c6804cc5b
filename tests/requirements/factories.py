"""Requirements for tests, written through the services like the application does."""

from __future__ import annotations

import factory

from apps.requirements import services
from apps.requirements.models import CustomerRequirement
from tests.customers.factories import CustomerFactory, ProductFactory  # noqa: F401 - re-exported for requirement tests

Status = CustomerRequirement.Status


class RequirementFactory(factory.Factory):
    """A draft requirement recorded by `created_by` (required) through `requirement_create`."""

    class Meta:
        model = CustomerRequirement

    customer = factory.SubFactory(CustomerFactory)
    product = None
    type = "stated"
    title = factory.Sequence(lambda n: f"Requirement {n}")
    description = "Deliver within 48 hours of the order."
    acceptance_criteria = "95 % of orders on time."
    source = "contract"
    source_reference = "FC-2026-001"
    priority = "medium"
    owner = None
    target_date = None

    @classmethod
    def _create(cls, model_class, *args, created_by, **kwargs):
        return services.requirement_create(actor=created_by, **kwargs)


def advance(requirement: CustomerRequirement, to: str, *, author, reviewer) -> CustomerRequirement:
    """Take a draft written by `author` to status `to` along the workflow, as people would."""
    pk = requirement.pk
    if to == Status.DRAFT:
        pass
    elif to == Status.WITHDRAWN:
        services.requirement_withdraw(requirement_id=pk, actor=author, reason="Recorded in error")
    else:
        services.requirement_submit(requirement_id=pk, actor=author)
        if to == Status.ACCEPTED or to == Status.CHANGE_REQUESTED:
            services.requirement_review(requirement_id=pk, actor=reviewer, decision="accept", can_meet=True)
        if to == Status.REJECTED:
            services.requirement_review(
                requirement_id=pk, actor=reviewer, decision="reject", can_meet=False, notes="Cannot meet it"
            )
        if to == Status.CHANGE_REQUESTED:
            services.requirement_request_change(requirement_id=pk, actor=reviewer, reason="Customer asked")
    return CustomerRequirement.objects.get(pk=pk)
