"""The complaints API: thin, scoped by `Complaint.objects.visible_to(user)` (another handler's
complaint is 404), every write through apps.complaints.services (a refused step is 409)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.complaints import services
from apps.complaints.api.serializers import (
    AssessmentInputSerializer,
    AssignInputSerializer,
    ComplaintMessageSerializer,
    ComplaintSerializer,
    MessageInputSerializer,
    TransitionInputSerializer,
)
from apps.complaints.filters import ComplaintFilter
from apps.complaints.linking import complaint_link_customer
from apps.complaints.models import ASSIGN_PERMISSION, CHANGE_PERMISSION, VIEW_PERMISSION, Complaint
from apps.core.api.viewsets import ScopedViewSet, object_rule, requires
from apps.customers.api.serializers import LinkCustomerInputSerializer

CONFLICT = {409: OpenApiResponse(description="The workflow does not allow this step now.")}


CanView = requires(VIEW_PERMISSION)
CanAssign = requires(ASSIGN_PERMISSION)
CanChange = object_rule(CHANGE_PERMISSION)


CHANGE = [IsActiveUser, CanView, CanChange]


class ComplaintViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Customer complaints (ISO 10002)."""

    permission_classes = [IsActiveUser, CanView]
    serializer_class = ComplaintSerializer
    filterset_class = ComplaintFilter
    ordering = ("-received_at", "-id")

    def base_queryset(self):
        return Complaint.objects.with_relations()

    def get_permissions(self):
        if self.action == "partial_update":
            return [permission() for permission in CHANGE]
        return super().get_permissions()

    @extend_schema(request=AssessmentInputSerializer, responses={200: ComplaintSerializer, **CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        """Assessment: severity, category, product, root cause, resolution, external dispute."""
        complaint = self.get_object()
        payload = AssessmentInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        reason = data.pop("reason", "")
        return self.output(
            services.complaint_assess(complaint_id=complaint.pk, actor=request.user, reason=reason, **data)
        )

    @extend_schema(request=TransitionInputSerializer, responses={200: ComplaintSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def transition(self, request, pk=None):
        """Move the complaint along its workflow (reopen included)."""
        complaint = self.get_object()
        payload = TransitionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        to, reason = payload.validated_data["to"], payload.validated_data["reason"]
        if to == Complaint.Status.REOPENED:
            result = services.complaint_reopen(complaint_id=complaint.pk, actor=request.user, reason=reason)
        else:
            result = services.complaint_transition(
                complaint_id=complaint.pk,
                to=to,
                actor=request.user,
                reason=reason,
                resolution=payload.validated_data["resolution"],
            )
        return self.output(result)

    @extend_schema(request=MessageInputSerializer, responses={201: ComplaintMessageSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def messages(self, request, pk=None):
        """Add an internal note or a customer-visible response."""
        complaint = self.get_object()
        payload = MessageInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        message = services.message_add(complaint_id=complaint.pk, actor=request.user, **payload.validated_data)
        return Response(ComplaintMessageSerializer(message).data, status=201)

    @extend_schema(request=LinkCustomerInputSerializer, responses={200: ComplaintSerializer})
    @action(detail=True, methods=["post"], url_path="link-customer", permission_classes=CHANGE)
    def link_customer(self, request, pk=None):
        """Tie the complaint to the customer and contact it came from (customer null: unlink)."""
        complaint = self.get_object()
        data = self.validated(LinkCustomerInputSerializer)
        return self.output(complaint_link_customer(complaint_id=complaint.pk, actor=request.user, **data))

    @extend_schema(request=AssignInputSerializer, responses={200: ComplaintSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[IsActiveUser, CanView, CanAssign])
    def assign(self, request, pk=None):
        """Give the complaint to a handler (quality managers)."""
        complaint = self.get_object()
        payload = AssignInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self.output(
            services.complaint_assign(
                complaint_id=complaint.pk, actor=request.user, assignee=payload.validated_data["to"]
            )
        )
