"""Corrective actions for tests, written through the services like the application does."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone

from apps.actions import services
from apps.actions.models import CorrectiveAction

Status = CorrectiveAction.Status


class ActionFactory(factory.Factory):
    """An open action raised by `actor` (required) through `action_raise`; owner defaults to the actor."""

    class Meta:
        model = CorrectiveAction

    source = None
    title = factory.Sequence(lambda n: f"Late deliveries {n}")
    nonconformity = "Three shipments to Acme left two days late."
    containment = "Expedited the open orders."
    owner = None

    @classmethod
    def _create(cls, model_class, *args, actor, **kwargs):
        return services.action_raise(actor=actor, **kwargs)


def advance(action: CorrectiveAction, to: str, *, worker, verifier, check_date: date | None = None) -> CorrectiveAction:
    """Take an open action to status `to` as people would: `worker` plans and implements, `verifier` checks.

    The effectiveness check date is today unless given, so it can be verified at once.
    """
    pk = action.pk
    today = timezone.localdate()
    if to == Status.OPEN:
        return CorrectiveAction.objects.get(pk=pk)
    services.action_start(action_id=pk, actor=worker)
    if to == Status.IN_PROGRESS:
        return CorrectiveAction.objects.get(pk=pk)
    services.action_update(action_id=pk, actor=worker, root_cause_method="five_whys", root_cause="No buffer stock")
    item = services.plan_item_add(
        action_id=pk, actor=worker, description="Add buffer stock", owner=action.owner, due_date=today
    )
    services.plan_item_complete(item_id=item.pk, actor=worker)
    services.action_implement(action_id=pk, actor=worker, effectiveness_check_date=check_date or today)
    if to == Status.IMPLEMENTED:
        return CorrectiveAction.objects.get(pk=pk)
    services.action_verify(
        action_id=pk, actor=verifier, effective=to == Status.VERIFIED_EFFECTIVE, evidence="No late shipment since"
    )
    return CorrectiveAction.objects.get(pk=pk)


def past(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)
