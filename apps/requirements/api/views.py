"""The requirements API: thin, every write through apps.requirements.services.

Reading needs `view_customerrequirement`, creating `add_…`; changing one requirement
needs `change_…` plus the object rule (owner, creator or quality manager); reviewing
needs `review_customerrequirement`. Serializers only validate; a refused workflow
step is 409 (apps.core.api.exceptions).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser, ModelPermissions
from apps.requirements import selectors, services
from apps.requirements.api.serializers import (
    RequestChangeInputSerializer,
    RequirementChangeRequestSerializer,
    RequirementCreateInputSerializer,
    RequirementReviewSerializer,
    RequirementSerializer,
    RequirementUpdateInputSerializer,
    RequirementVersionSerializer,
    ReviewInputSerializer,
    WithdrawInputSerializer,
)
from apps.requirements.filters import RequirementFilter
from apps.requirements.models import REVIEW_PERMISSION, RequirementReview


class CanChangeRequirement(BasePermission):
    """`change_customerrequirement`, and for one requirement the object rule."""

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("requirements.change_customerrequirement")

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.can_be_changed_by(request.user)


class CanReviewRequirement(BasePermission):
    """The review before commitment is reserved to holders of `review_customerrequirement`."""

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)


class CanViewRequirement(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("requirements.view_customerrequirement")


CHANGE = [IsActiveUser, CanViewRequirement, CanChangeRequirement]
CONFLICT = {409: OpenApiResponse(description="The workflow does not allow this step now.")}


class RequirementViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Customer requirements (ISO 9001 8.2.2 to 8.2.4)."""

    permission_classes = [IsActiveUser, ModelPermissions]
    serializer_class = RequirementSerializer
    filterset_class = RequirementFilter
    ordering_fields = ["created_at", "updated_at", "title", "target_date", "status", "priority_rank"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.visible_requirements(self.request.user)

    def get_permissions(self):
        if self.action == "partial_update":
            return [permission() for permission in CHANGE]
        return super().get_permissions()

    def _respond(self, requirement, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=requirement.pk)
        return Response(RequirementSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=RequirementCreateInputSerializer, responses={201: RequirementSerializer})
    def create(self, request, *args, **kwargs):
        payload = RequirementCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        requirement = services.requirement_create(actor=request.user, **payload.validated_data)
        return self._respond(requirement, status.HTTP_201_CREATED)

    @extend_schema(request=RequirementUpdateInputSerializer, responses={200: RequirementSerializer, **CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        requirement = self.get_object()
        payload = RequirementUpdateInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        reason = data.pop("reason", "")
        requirement = services.requirement_update(
            requirement_id=requirement.pk, actor=request.user, reason=reason, **data
        )
        return self._respond(requirement)

    @extend_schema(request=None, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def submit(self, request, pk=None):
        """Send a draft, or a requirement whose change was requested, to review."""
        requirement = self.get_object()
        return self._respond(services.requirement_submit(requirement_id=requirement.pk, actor=request.user))

    @extend_schema(request=ReviewInputSerializer, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[IsActiveUser, CanViewRequirement, CanReviewRequirement])
    def review(self, request, pk=None):
        """Review the version in review (8.2.3): accept (only if it can be met) or reject (with notes)."""
        requirement = self.get_object()
        payload = ReviewInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.requirement_review(requirement_id=requirement.pk, actor=request.user, **payload.validated_data)
        return self._respond(requirement)

    @extend_schema(request=RequestChangeInputSerializer, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def request_change(self, request, pk=None):
        """Open a change to an accepted requirement (8.2.4): reason and who was informed."""
        requirement = self.get_object()
        payload = RequestChangeInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.requirement_request_change(requirement_id=requirement.pk, actor=request.user, **payload.validated_data)
        return self._respond(requirement)

    @extend_schema(request=None, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def rework(self, request, pk=None):
        """Take a rejected requirement back to draft."""
        requirement = self.get_object()
        return self._respond(services.requirement_rework(requirement_id=requirement.pk, actor=request.user))

    @extend_schema(request=WithdrawInputSerializer, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def withdraw(self, request, pk=None):
        """Withdraw a requirement for good, with a reason."""
        requirement = self.get_object()
        payload = WithdrawInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.requirement_withdraw(requirement_id=requirement.pk, actor=request.user, **payload.validated_data)
        return self._respond(requirement)

    @extend_schema(responses=RequirementVersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def versions(self, request, pk=None):
        """Every version of the requirement's content, oldest first."""
        requirement = self.get_object()
        versions = selectors.versions_of(requirement)
        reviewed = set(RequirementReview.objects.filter(requirement=requirement).values_list("version_id", flat=True))
        context = {**self.get_serializer_context(), "reviewed_version_ids": reviewed}
        return Response(RequirementVersionSerializer(versions, many=True, context=context).data)

    @extend_schema(responses=RequirementReviewSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def reviews(self, request, pk=None):
        """The review rounds of the requirement, oldest first."""
        requirement = self.get_object()
        return Response(RequirementReviewSerializer(selectors.reviews_of(requirement), many=True).data)

    @extend_schema(responses=RequirementChangeRequestSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def change_requests(self, request, pk=None):
        """The change requests of the requirement (8.2.4), oldest first."""
        requirement = self.get_object()
        return Response(RequirementChangeRequestSerializer(selectors.change_requests_of(requirement), many=True).data)
