"""The feedback API: thin, every write through apps.feedback.services.

Reading needs `view_feedback`, recording `add_feedback`; closing and raising an action
need `change_feedback` plus the object rule (owner or quality manager); triage and
conversion need `triage_feedback` / `convert_feedback`. A refused workflow step is 409.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.core.api.viewsets import ScopedViewSet, object_rule, requires
from apps.feedback import selectors, services
from apps.feedback.api.serializers import (
    CloseInputSerializer,
    FeedbackRecordInputSerializer,
    FeedbackSerializer,
    RaiseActionInputSerializer,
    RaisedActionSerializer,
    TriageInputSerializer,
)
from apps.feedback.filters import FeedbackFilter
from apps.feedback.models import CHANGE_PERMISSION, CONVERT_PERMISSION, TRIAGE_PERMISSION, VIEW_PERMISSION

CanChangeFeedback = object_rule(CHANGE_PERMISSION)
VIEW = [IsActiveUser, requires(VIEW_PERMISSION)]
CONFLICT = {409: OpenApiResponse(description="The workflow does not allow this step now.")}


class FeedbackViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Customer feedback from every channel (ISO 9001 9.1.2)."""

    serializer_class = FeedbackSerializer
    filterset_class = FeedbackFilter
    ordering_fields = ["created_at", "updated_at", "rating", "status"]

    def base_queryset(self):
        return selectors.feedback_list()

    @extend_schema(request=FeedbackRecordInputSerializer, responses={201: FeedbackSerializer})
    def create(self, request, *args, **kwargs):
        """Record feedback received by another channel than the web form."""
        payload = FeedbackRecordInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        feedback = services.feedback_record(actor=request.user, **payload.validated_data)
        return self.output(feedback, status.HTTP_201_CREATED)

    @extend_schema(request=TriageInputSerializer, responses={200: FeedbackSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[*VIEW, requires(TRIAGE_PERMISSION)])
    def triage(self, request, pk=None):
        """Category, sentiment (default: from the rating) and owner; new → triaged."""
        feedback = self.get_object()
        payload = TriageInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = {"category": feedback.category, **payload.validated_data}  # omitted: keep the category
        return self.output(services.feedback_triage(feedback_id=feedback.pk, actor=request.user, **data))

    @extend_schema(request=CloseInputSerializer, responses={200: FeedbackSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[*VIEW, CanChangeFeedback])
    def close(self, request, pk=None):
        """Close the feedback (final)."""
        feedback = self.get_object()
        payload = CloseInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self.output(
            services.feedback_close(feedback_id=feedback.pk, actor=request.user, **payload.validated_data)
        )

    @extend_schema(request=None, responses={200: FeedbackSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[*VIEW, requires(CONVERT_PERMISSION)])
    def convert(self, request, pk=None):
        """Open a complaint from this feedback (once) and mark it actioned."""
        feedback = self.get_object()
        services.feedback_convert_to_complaint(
            feedback_id=feedback.pk, actor=request.user, base_url=request.build_absolute_uri("/")
        )
        return self.output(feedback)

    @extend_schema(request=RaiseActionInputSerializer, responses={201: RaisedActionSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[*VIEW, CanChangeFeedback])
    def raise_action(self, request, pk=None):
        """Raise a corrective action with this feedback as its source; the feedback becomes actioned."""
        feedback = self.get_object()
        payload = RaiseActionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        raised = services.feedback_raise_action(feedback_id=feedback.pk, actor=request.user, **payload.validated_data)
        return Response(RaisedActionSerializer(raised).data, status=status.HTTP_201_CREATED)
