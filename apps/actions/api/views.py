"""The corrective-actions API: thin, every write through apps.actions.services.

Reading needs `view_correctiveaction`, raising `add_…`; changing one action needs
`change_…` plus the object rule (owner, plan-item owner or quality manager);
verifying needs `verify_correctiveaction` (and not owning the action). Serializers
only validate; a refused workflow step or stage gate is 409.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.actions import selectors, services
from apps.actions.api.serializers import (
    ActionImplementInputSerializer,
    ActionPlanItemSerializer,
    ActionRaiseInputSerializer,
    ActionReasonInputSerializer,
    ActionReopenInputSerializer,
    ActionUpdateInputSerializer,
    ActionVerifyInputSerializer,
    CorrectiveActionSerializer,
    PlanItemInputSerializer,
)
from apps.actions.filters import ActionFilter
from apps.actions.models import VERIFY_PERMISSION, ActionPlanItem, CorrectiveAction
from apps.core.api.viewsets import ScopedViewSet, object_rule, requires

CanViewAction = requires("actions.view_correctiveaction")
CanChangeAction = object_rule("actions.change_correctiveaction")


class CanVerifyAction(BasePermission):
    """Verification is reserved to holders of `verify_correctiveaction` who do not own the action."""

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(VERIFY_PERMISSION)

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.can_be_verified_by(request.user)


# Marking items done: `change_correctiveaction`; the item rule is checked on the item.
CanCompleteItems = requires("actions.change_correctiveaction")


CHANGE = [IsActiveUser, CanViewAction, CanChangeAction]
CONFLICT = {409: OpenApiResponse(description="The workflow or a stage gate does not allow this step now.")}


class CorrectiveActionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Corrective actions (ISO 9001 10.2)."""

    serializer_class = CorrectiveActionSerializer
    filterset_class = ActionFilter
    ordering_fields = ["created_at", "updated_at", "title", "status", "effectiveness_check_date"]
    ordering = ("-created_at", "-id")

    def base_queryset(self):
        return CorrectiveAction.objects.with_relations()

    def get_permissions(self):
        if self.action == "partial_update" or (self.action == "plan_items" and self.request.method == "POST"):
            return [permission() for permission in CHANGE]
        return super().get_permissions()

    @extend_schema(request=ActionRaiseInputSerializer, responses={201: CorrectiveActionSerializer})
    def create(self, request, *args, **kwargs):
        """Raise a corrective action by hand (no source record)."""
        payload = ActionRaiseInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        created = services.action_raise(source=None, actor=request.user, **payload.validated_data)
        return self.output(created, status.HTTP_201_CREATED)

    @extend_schema(request=ActionUpdateInputSerializer, responses={200: CorrectiveActionSerializer, **CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        current = self.get_object()
        payload = ActionUpdateInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        reason = data.pop("reason", "")
        updated = services.action_update(action_id=current.pk, actor=request.user, reason=reason, **data)
        return self.output(updated)

    @extend_schema(request=ActionReasonInputSerializer, responses={200: CorrectiveActionSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def start(self, request, pk=None):
        """Start work on an open action."""
        current = self.get_object()
        payload = ActionReasonInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self.output(services.action_start(action_id=current.pk, actor=request.user, **payload.validated_data))

    @extend_schema(request=ActionImplementInputSerializer, responses={200: CorrectiveActionSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def implement(self, request, pk=None):
        """Declare the plan carried out (needs a root cause and every current plan item done)."""
        current = self.get_object()
        payload = ActionImplementInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self.output(
            services.action_implement(action_id=current.pk, actor=request.user, **payload.validated_data)
        )

    @extend_schema(request=ActionVerifyInputSerializer, responses={200: CorrectiveActionSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[IsActiveUser, CanViewAction, CanVerifyAction])
    def verify(self, request, pk=None):
        """Record the effectiveness check (four eyes: not by the owner; not before the check date)."""
        current = self.get_object()
        payload = ActionVerifyInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self.output(services.action_verify(action_id=current.pk, actor=request.user, **payload.validated_data))

    @extend_schema(request=ActionReopenInputSerializer, responses={200: CorrectiveActionSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def reopen(self, request, pk=None):
        """Reopen an action found not effective, with a new plan round."""
        current = self.get_object()
        payload = ActionReopenInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self.output(services.action_reopen(action_id=current.pk, actor=request.user, **payload.validated_data))

    @extend_schema(methods=["GET"], request=None, responses=ActionPlanItemSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=PlanItemInputSerializer, responses={201: ActionPlanItemSerializer, **CONFLICT}
    )
    @action(detail=True, methods=["get", "post"], url_path="plan-items", pagination_class=None, filter_backends=[])
    def plan_items(self, request, pk=None):
        """The action's plan, every round; POST adds an item to the current round."""
        current = self.get_object()
        if request.method == "GET":
            return Response(ActionPlanItemSerializer(selectors.plan_items(current), many=True).data)
        payload = PlanItemInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        item = services.plan_item_add(action_id=current.pk, actor=request.user, **payload.validated_data)
        return Response(ActionPlanItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ActionPlanItemSerializer, **CONFLICT})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"plan-items/(?P<item_id>\d+)/done",
        permission_classes=[IsActiveUser, CanViewAction, CanCompleteItems],
    )
    def plan_item_done(self, request, pk=None, item_id=None):
        """Mark a plan item done (staff only their own items)."""
        current = self.get_object()
        item = get_object_or_404(ActionPlanItem, pk=item_id, action=current)
        item = services.plan_item_complete(item_id=item.pk, actor=request.user)
        return Response(ActionPlanItemSerializer(item).data)
