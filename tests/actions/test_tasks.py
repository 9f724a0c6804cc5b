from datetime import timedelta

import pytest
from django.utils import timezone

from apps.actions import services
from apps.actions.models import ActionPlanItem, CorrectiveAction
from apps.actions.tasks import remind_overdue_items_task
from apps.core.models import OutboundEmail
from tests.actions.factories import past

Status = CorrectiveAction.Status


@pytest.fixture
def overdue_item(action, staff, other_staff):
    return services.plan_item_add(
        action_id=action.pk, actor=staff, description="Recalibrate the scale", owner=other_staff, due_date=past(3)
    )


def test_reminds_the_item_owner_once(overdue_item, other_staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.remind_overdue_items() == 1
    email = OutboundEmail.objects.get()
    assert email.to == other_staff.email
    assert overdue_item.action.reference in email.subject
    assert "Recalibrate the scale" in email.body
    assert email.idempotency_key == f"action-item-reminder:{overdue_item.pk}:{timezone.localdate()}"
    assert len(callbacks) == 1
    assert ActionPlanItem.objects.get(pk=overdue_item.pk).last_reminded_on == timezone.localdate()


def test_task_is_idempotent_when_run_twice(overdue_item, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        assert remind_overdue_items_task.apply().get() == 1
        assert remind_overdue_items_task.apply().get() == 0
    assert OutboundEmail.objects.count() == 1


def test_reminds_again_the_next_day(overdue_item, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks():
        assert services.remind_overdue_items(today=today) == 1
        assert services.remind_overdue_items(today=today + timedelta(days=1)) == 1
    assert OutboundEmail.objects.count() == 2


def test_claim_is_won_once_per_day(overdue_item):
    today = timezone.localdate()
    assert services._claim_reminder(overdue_item.pk, today) is True
    assert services._claim_reminder(overdue_item.pk, today) is False


@pytest.mark.parametrize("case", ["done", "not_due", "due_today", "implemented"])
def test_does_not_remind_items_that_are_not_overdue(make_action, staff, case, django_capture_on_commit_callbacks):
    action = make_action(Status.IMPLEMENTED if case == "implemented" else Status.IN_PROGRESS)
    if case != "implemented":
        due = {"done": past(3), "not_due": timezone.localdate() + timedelta(days=2), "due_today": past(0)}[case]
        item = services.plan_item_add(action_id=action.pk, actor=staff, description="Step", owner=staff, due_date=due)
        if case == "done":
            services.plan_item_complete(item_id=item.pk, actor=staff)
    with django_capture_on_commit_callbacks():
        assert services.remind_overdue_items() == 0
    assert not OutboundEmail.objects.exists()
