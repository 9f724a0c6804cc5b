"""Read queries on corrective actions that several callers need."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from apps.actions.models import ActionPlanItem, CorrectiveAction, CorrectiveActionQuerySet


def for_source(obj: models.Model) -> CorrectiveActionQuerySet:
    """Actions raised from `obj` (a complaint, a feedback, a review…), newest first."""
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    return (
        CorrectiveAction.objects.filter(source_content_type=content_type, source_object_id=str(obj.pk))
        .with_relations()
        .order_by("-created_at", "-id")
    )


def action_list(*, user, today=None) -> CorrectiveActionQuerySet:
    """Actions the user may see, with `has_overdue` (an open current-round item past due) per row."""
    today = today or timezone.localdate()
    overdue = ActionPlanItem.objects.filter(
        action=models.OuterRef("pk"), round=models.OuterRef("round"), done_at__isnull=True, due_date__lt=today
    )
    return (
        CorrectiveAction.objects.visible_to(user)
        .with_relations()
        .annotate(
            has_overdue=models.Case(
                models.When(status__in=list(CorrectiveAction.PLANNING_STATUSES), then=models.Exists(overdue)),
                default=models.Value(False),
                output_field=models.BooleanField(),
            )
        )
    )


def plan_items(action: CorrectiveAction) -> list[ActionPlanItem]:
    return list(action.plan_items.select_related("owner").order_by("-round", "due_date", "id"))


def owner_candidates():
    """Active users who may own an action or a plan item: quality managers and staff."""
    from apps.accounts.models import User
    from apps.accounts.roles import GROUP_NAMES, Role

    return (
        User.objects.active()
        .filter(groups__name__in=[GROUP_NAMES[Role.QUALITY_MANAGER], GROUP_NAMES[Role.STAFF]])
        .distinct()
        .order_by("full_name", "id")
    )
