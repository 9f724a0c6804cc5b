from apps.accounts.roles import Role
from apps.actions import demo
from apps.actions.models import ActionPlanItem, CorrectiveAction


def test_demo_covers_every_state_and_is_idempotent(quality_manager, staff):
    users = {Role.QUALITY_MANAGER: quality_manager, Role.STAFF: staff}
    demo.load(users)
    count = CorrectiveAction.objects.count()
    demo.load(users)
    assert CorrectiveAction.objects.count() == count == len(demo.DEMO)
    assert set(CorrectiveAction.objects.values_list("status", flat=True)) == set(CorrectiveAction.Status.values)
    assert ActionPlanItem.objects.overdue().exists()
    assert CorrectiveAction.objects.filter(round=2).exists()
