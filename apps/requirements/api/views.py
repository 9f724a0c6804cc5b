"""The requirements API: thin, every write through apps.requirements.services.

Reading needs `view_customerrequirement`, creating `add_…`; changing one requirement
needs `change_…` plus the object rule (owner, creator or quality manager); reviewing
needs `review_customerrequirement`. Serializers only validate; a refused workflow
step is 409 (apps.core.api.exceptions).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.core.api.viewsets import ScopedViewSet, object_rule, requires
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

CanChangeRequirement = object_rule("requirements.change_customerrequirement")
CanReviewRequirement = requires(REVIEW_PERMISSION)
CanViewRequirement = requires("requirements.view_customerrequirement")
CHANGE = [IsActiveUser, CanViewRequirement, CanChangeRequirement]
CONFLICT = {409: OpenApiResponse(description="The workflow does not allow this step now.")}


class RequirementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Customer requirements (ISO 9001 8.2.2 to 8.2.4)."""

    serializer_class = RequirementSerializer
    filterset_class = RequirementFilter
    ordering_fields = ["created_at", "updated_at", "title", "target_date", "status", "priority_rank"]
    ordering = ("-created_at", "-id")

    def base_queryset(self):
        return selectors.requirements()

    def get_permissions(self):
        if self.action == "partial_update":
            return [permission() for permission in CHANGE]
        return super().get_permissions()

    @extend_schema(request=RequirementCreateInputSerializer, responses={201: RequirementSerializer})
    def create(self, request, *args, **kwargs):
        payload = RequirementCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        requirement = services.requirement_create(actor=request.user, **payload.validated_data)
        return self.output(requirement, status.HTTP_201_CREATED)

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
        return self.output(requirement)

    @extend_schema(request=None, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def submit(self, request, pk=None):
        """Send a draft, or a requirement whose change was requested, to review."""
        requirement = self.get_object()
        return self.output(services.requirement_submit(requirement_id=requirement.pk, actor=request.user))

    @extend_schema(request=ReviewInputSerializer, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[IsActiveUser, CanViewRequirement, CanReviewRequirement])
    def review(self, request, pk=None):
        """Review the version in review (8.2.3): accept (only if it can be met) or reject (with notes)."""
        requirement = self.get_object()
        payload = ReviewInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.requirement_review(requirement_id=requirement.pk, actor=request.user, **payload.validated_data)
        return self.output(requirement)

    @extend_schema(request=RequestChangeInputSerializer, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def request_change(self, request, pk=None):
        """Open a change to an accepted requirement (8.2.4): reason and who was informed."""
        requirement = self.get_object()
        payload = RequestChangeInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.requirement_request_change(requirement_id=requirement.pk, actor=request.user, **payload.validated_data)
        return self.output(requirement)

    @extend_schema(request=None, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def rework(self, request, pk=None):
        """Take a rejected requirement back to draft."""
        requirement = self.get_object()
        return self.output(services.requirement_rework(requirement_id=requirement.pk, actor=request.user))

    @extend_schema(request=WithdrawInputSerializer, responses={200: RequirementSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def withdraw(self, request, pk=None):
        """Withdraw a requirement for good, with a reason."""
        requirement = self.get_object()
        payload = WithdrawInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.requirement_withdraw(requirement_id=requirement.pk, actor=request.user, **payload.validated_data)
        return self.output(requirement)

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
