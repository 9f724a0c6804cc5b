"""The quality-objectives API: thin, every write through apps.objectives.services.

Reading needs `view_qualityobjective`; creating, editing, lifecycle steps,
recomputing and raising a corrective action need the quality manager's
`add_`/`change_qualityobjective`; entering a manual figure needs `add_measurement`
and being the owner or a quality manager. Serializers only validate; a refused
step is 409.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.accounts.roles import Role
from apps.actions.api.serializers import CorrectiveActionSerializer
from apps.core.api.viewsets import ScopedViewSet, object_rule, requires
from apps.objectives import selectors, services
from apps.objectives.api.serializers import (
    MeasurementInputSerializer,
    MeasurementSerializer,
    ObjectiveInputSerializer,
    ObjectiveTransitionInputSerializer,
    QualityObjectiveSerializer,
)
from apps.objectives.filters import ObjectiveFilter
from apps.objectives.models import QualityObjective

CanView = requires("objectives.view_qualityobjective")
CanChange = object_rule("objectives.change_qualityobjective")


class CanRecordMeasurement(BasePermission):
    """`add_measurement`, and for the objective: its owner or a quality manager, on a manual KPI."""

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("objectives.add_measurement")

    def has_object_permission(self, request, view, obj) -> bool:
        user = request.user
        if obj.is_computed:
            # the owner or a manager learns why (409 from the service), others are simply refused
            return user.pk == obj.owner_id or user.is_superuser or user.has_role(Role.QUALITY_MANAGER)
        return obj.can_record_measurement(user)


CHANGE = [IsActiveUser, CanView, CanChange]
CONFLICT = {409: OpenApiResponse(description="The lifecycle or a rule does not allow this now.")}


class QualityObjectiveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Quality objectives (ISO 9001 6.2) with their measurements (9.1.3)."""

    serializer_class = QualityObjectiveSerializer
    filterset_class = ObjectiveFilter
    ordering_fields = ["target_date", "created_at", "title", "status", "performance"]
    ordering = ("target_date", "id")

    def base_queryset(self):
        return QualityObjective.objects.with_relations().prefetch_related(
            "customer_requirements", "complaint_categories", "products", "corrective_actions"
        )

    def get_permissions(self):
        if self.action == "partial_update":
            return [permission() for permission in CHANGE]
        if self.action == "measurements" and self.request.method == "POST":
            return [IsActiveUser(), CanView(), CanRecordMeasurement()]
        return super().get_permissions()

    @extend_schema(request=ObjectiveInputSerializer, responses={201: QualityObjectiveSerializer, **CONFLICT})
    def create(self, request, *args, **kwargs):
        """Create a draft objective."""
        data = self.validated(ObjectiveInputSerializer)
        data.pop("reason", None)
        created = services.objective_create(actor=request.user, **data)
        return self.output(created, status.HTTP_201_CREATED)

    @extend_schema(request=ObjectiveInputSerializer, responses={200: QualityObjectiveSerializer, **CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        current = self.get_object()
        payload = ObjectiveInputSerializer(current, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        reason = data.pop("reason", "")
        updated = services.objective_update(objective_id=current.pk, actor=request.user, reason=reason, **data)
        return self.output(updated)

    @extend_schema(request=ObjectiveTransitionInputSerializer, responses={200: QualityObjectiveSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def transition(self, request, pk=None):
        """Move the objective along draft → active → achieved | not achieved | cancelled."""
        current = self.get_object()
        payload = ObjectiveTransitionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self.output(
            services.objective_transition(objective_id=current.pk, actor=request.user, **payload.validated_data)
        )

    @extend_schema(methods=["GET"], request=None, responses=MeasurementSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=MeasurementInputSerializer, responses={201: MeasurementSerializer, **CONFLICT}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def measurements(self, request, pk=None):
        """The objective's measurements, oldest first; POST enters a manual figure (replacing the period's)."""
        current = self.get_object()
        if request.method == "GET":
            return Response(MeasurementSerializer(selectors.measurements(current), many=True).data)
        payload = MeasurementInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        measurement = services.measurement_record(objective_id=current.pk, actor=request.user, **payload.validated_data)
        return Response(MeasurementSerializer(measurement).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: QualityObjectiveSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def recompute(self, request, pk=None):
        """Queue the computation of every period from the baseline's to today's, the latest 60 (computed KPIs)."""
        current = self.get_object()
        services.objective_request_recompute(objective_id=current.pk, actor=request.user)
        return self.output(current, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={201: CorrectiveActionSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="raise-action", permission_classes=CHANGE)
    def raise_action(self, request, pk=None):
        """Raise the proposed corrective action, pre-filled from the objective and linked both ways."""
        current = self.get_object()
        created = services.objective_raise_action(objective_id=current.pk, actor=request.user)
        return Response(CorrectiveActionSerializer(created).data, status=status.HTTP_201_CREATED)
