"""The feedback API: thin, every write through apps.feedback.services.

Reading needs `view_feedback`, recording `add_feedback`; closing and raising an action
need `change_feedback` plus the object rule (owner or quality manager); triage and
conversion need `triage_feedback` / `convert_feedback`. A refused workflow step is 409.
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.core.api.viewsets import ScopedViewSet, object_rule, requires
from apps.customers.api.serializers import LinkCustomerInputSerializer
from apps.feedback import selectors, services
from apps.feedback.api.serializers import (
    CloseInputSerializer,
    FeedbackListSerializer,
    FeedbackRecordInputSerializer,
    FeedbackSerializer,
    RaiseActionInputSerializer,
    RaisedActionSerializer,
    TriageInputSerializer,
)
from apps.feedback.filters import FeedbackFilter
from apps.feedback.linking import feedback_link_customer
from apps.feedback.models import CHANGE_PERMISSION, CONVERT_PERMISSION, TRIAGE_PERMISSION, VIEW_PERMISSION

CanChangeFeedback = object_rule(CHANGE_PERMISSION)
VIEW = [IsActiveUser, requires(VIEW_PERMISSION)]
CONFLICT = {409: OpenApiResponse(description="The workflow does not allow this step now.")}
# A list row (FeedbackListSerializer): the columns it shows, the related names, the text's
# ciphertext and data key, and `pk` for the keyset cursor of any `?ordering=`.
LIST_ROW = (
    "pk",
    "id",
    "reference",
    "channel",
    "customer_id",
    "customer__name",
    "contact_id",
    "product_id",
    "product__name",
    "rating",
    "data_key",
    "text_ct",
    "category_id",
    "category__name",
    "sentiment",
    "status",
    "owner_id",
    "owner__full_name",
    "owner__email",
    "call_back",
    "consent_to_contact",
    "consent_at",
    "complaint_id",
    "triaged_at",
    "closed_at",
    "close_reason",
    "erased_at",
    "created_at",
    "updated_at",
)


class FilterWhenAsked(DjangoFilterBackend):
    """DjangoFilterBackend that leaves a list without filter parameters alone: with no value
    given every filter returns the rows unchanged, yet building the filter form took about a
    tenth of an unfiltered 100-row request."""

    def filter_queryset(self, request, queryset, view):
        paginator = view.paginator
        paging = {paginator.cursor_query_param, paginator.page_size_query_param, OrderingFilter.ordering_param}
        if set(request.query_params) <= paging:
            return queryset
        return super().filter_queryset(request, queryset, view)


@extend_schema_view(list=extend_schema(responses=FeedbackSerializer))
class FeedbackViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Customer feedback from every channel (ISO 9001 9.1.2)."""

    serializer_class = FeedbackSerializer
    filter_backends = [FilterWhenAsked, OrderingFilter]
    filterset_class = FeedbackFilter
    ordering_fields = ["created_at", "updated_at", "rating", "status"]
    ordering = ("-created_at", "-id")

    def base_queryset(self):
        return selectors.feedback_list()

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            # Plain rows, not model instances (with one more per related row): at a page of
            # 100 rows, building the instances cost a third of the request.
            queryset = queryset.select_related(None).values_list(*LIST_ROW, named=True)
        return queryset

    def get_serializer_class(self):
        return FeedbackListSerializer if self.action == "list" else FeedbackSerializer

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
        services.feedback_convert_to_complaint(feedback_id=feedback.pk, actor=request.user)
        return self.output(feedback)

    @extend_schema(request=LinkCustomerInputSerializer, responses={200: FeedbackSerializer})
    @action(detail=True, methods=["post"], url_path="link-customer", permission_classes=[*VIEW, CanChangeFeedback])
    def link_customer(self, request, pk=None):
        """Tie the feedback to the customer and contact it came from (customer null: unlink)."""
        feedback = self.get_object()
        data = self.validated(LinkCustomerInputSerializer)
        return self.output(feedback_link_customer(feedback_id=feedback.pk, actor=request.user, **data))

    @extend_schema(request=RaiseActionInputSerializer, responses={201: RaisedActionSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[*VIEW, CanChangeFeedback])
    def raise_action(self, request, pk=None):
        """Raise a corrective action with this feedback as its source; the feedback becomes actioned."""
        feedback = self.get_object()
        payload = RaiseActionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        raised = services.feedback_raise_action(feedback_id=feedback.pk, actor=request.user, **payload.validated_data)
        return Response(RaisedActionSerializer(raised).data, status=status.HTTP_201_CREATED)
