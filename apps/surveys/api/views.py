"""The surveys API: read-only. Questionnaires, campaigns with send counts, waves, invitations
(never a token, its nonce or its hash), responses with answers (free text only for users
holding surveys.export_responses, like the CSV export), and results.

Every viewset needs an active user with the role's `view_<model>` permission (quality
managers, staff, auditors); results need `surveys.view_campaign`. Campaigns are written through
the pages (apps.surveys.services), not here.
"""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response as APIResponse
from rest_framework.views import APIView

from apps.accounts.permissions import IsActiveUser
from apps.core.api.viewsets import ScopedViewSet, requires
from apps.surveys.api import serializers as s
from apps.surveys.models import (
    VIEW_PERMISSION,
    Answer,
    Campaign,
    Invitation,
    Question,
    Response,
    SurveyTemplate,
    TemplateVersion,
    Wave,
)
from apps.surveys.selectors import results as selectors
from apps.surveys.selectors.results import ResultFilters

RESULTS_PERMISSIONS = [IsActiveUser, requires(VIEW_PERMISSION)]


def _filters(request, **fixed) -> ResultFilters:
    query = s.ResultsQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    values = {
        "campaign_id": data.get("campaign"),
        "wave_id": data.get("wave"),
        "date_from": data.get("date_from"),
        "date_to": data.get("date_to"),
        "segment": data.get("segment", ""),
        "product_id": data.get("product"),
    }
    return ResultFilters(**{**values, **fixed})


class SurveyReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Base: read-only, active users holding the model's view permission."""


class SurveyTemplateViewSet(SurveyReadViewSet):
    """Questionnaires with their versions and questions."""

    serializer_class = s.SurveyTemplateSerializer
    filterset_fields = ["is_active"]
    ordering_fields = ["id", "name"]
    ordering = ("name", "id")

    def base_queryset(self):
        versions = TemplateVersion.objects.order_by("-number").prefetch_related(
            Prefetch("questions", queryset=Question.objects.order_by("position"))
        )
        return SurveyTemplate.objects.prefetch_related(Prefetch("versions", queryset=versions)).order_by("name", "id")


class CampaignViewSet(SurveyReadViewSet):
    """Survey campaigns with invited / sent / responded counts over all their waves."""

    serializer_class = s.CampaignSerializer
    filterset_fields = ["status", "recurrence", "template_version", "owner"]
    ordering_fields = ["id", "name", "created_at", "next_run_at"]
    ordering = ("-created_at", "-id")

    def base_queryset(self):
        return Campaign.objects.annotate(
            invited=Count("invitations"),
            sent=Count("invitations", filter=Q(invitations__sent_at__isnull=False)),
            responded=Count("invitations", filter=Q(invitations__responded_at__isnull=False)),
        ).order_by("-created_at", "-id")

    @extend_schema(parameters=[s.ResultsQuerySerializer], responses=s.ResultsSerializer)
    @action(
        detail=True,
        methods=["get"],
        permission_classes=RESULTS_PERMISSIONS,
        filter_backends=[],
        pagination_class=None,
    )
    def results(self, request, pk=None):
        """Every figure of this campaign (NPS, CSAT, CES with intervals, rates, distributions,
        choices, trend, wave over wave, segments, products), narrowed by the query parameters."""
        campaign = get_object_or_404(Campaign, pk=pk)
        data = selectors.results(_filters(request, campaign_id=campaign.pk))
        return APIResponse(s.ResultsSerializer(data).data)


class WaveViewSet(SurveyReadViewSet):
    """The runs of each campaign."""

    serializer_class = s.WaveSerializer
    filterset_fields = ["campaign", "status"]
    ordering_fields = ["id", "scheduled_for", "number"]
    ordering = ("campaign_id", "number", "id")

    def base_queryset(self):
        return Wave.objects.order_by("campaign_id", "number")


class InvitationViewSet(SurveyReadViewSet):
    """One row per invited contact and wave. No token, nonce or token hash, for anyone."""

    serializer_class = s.InvitationSerializer
    filterset_fields = ["campaign", "wave", "status", "customer", "contact"]
    ordering_fields = ["id", "sent_at", "responded_at"]
    ordering = ("id",)

    def base_queryset(self):
        # Not even loaded: a serializer change can then not leak them by accident.
        return Invitation.objects.defer("nonce", "token_hash").order_by("id")


class ResponseViewSet(SurveyReadViewSet):
    """Responses with their answers; free text decrypted only for users who may export responses."""

    serializer_class = s.ResponseSerializer
    filterset_fields = ["campaign", "wave", "customer", "product"]
    ordering_fields = ["id", "submitted_at"]
    ordering = ("-submitted_at", "-id")

    def base_queryset(self):
        answers = Answer.objects.order_by("question__position", "question_id")
        return Response.objects.prefetch_related(Prefetch("answers", queryset=answers)).order_by("-submitted_at", "-id")


class ResultsAPIView(APIView):
    """Results across campaigns, narrowed by the query parameters (`campaign` for one)."""

    permission_classes = RESULTS_PERMISSIONS

    @extend_schema(parameters=[s.ResultsQuerySerializer], responses=s.ResultsSerializer)
    def get(self, request):
        return APIResponse(s.ResultsSerializer(selectors.results(_filters(request))).data)
