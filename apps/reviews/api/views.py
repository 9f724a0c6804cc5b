"""The management-review API: thin, every write through apps.reviews.services.

Reading needs the view permissions (quality managers and auditors); planning, editing,
compiling, recording the meeting and decisions, and closing need the quality manager's
`add_`/`change_managementreview`. A refused step is 409; compiling and report versions run
in a worker (202).
"""

from __future__ import annotations

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.core.api.viewsets import ScopedViewSet, object_rule, requires
from apps.reviews import services
from apps.reviews.api.serializers import (
    DecisionInputSerializer,
    DistributeInputSerializer,
    HoldInputSerializer,
    ManagementReviewInputSerializer,
    ManagementReviewSerializer,
    ReviewDecisionSerializer,
    ReviewReportSerializer,
    ReviewScheduleSerializer,
    ReviewUpdateSerializer,
    ScheduleInputSerializer,
)
from apps.reviews.models import CHANGE_PERMISSION, VIEW_PERMISSION, ManagementReview, ReviewSchedule

CanView = requires(VIEW_PERMISSION)
CanChange = object_rule(CHANGE_PERMISSION)
CanViewReports = requires("reviews.view_reviewreport")
CHANGE = [IsActiveUser, CanView, CanChange]
CONFLICT = {409: OpenApiResponse(description="The review's status or a rule does not allow this now.")}


class ManagementReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Management reviews (ISO 9001 9.3): inputs, meeting, decisions, report versions."""

    serializer_class = ManagementReviewSerializer
    ordering_fields = ["period_start", "meeting_date", "created_at"]
    ordering = ("-period_start", "-id")

    def base_queryset(self):
        return ManagementReview.objects.with_relations()

    def get_permissions(self):
        if self.action == "partial_update":
            return [permission() for permission in CHANGE]
        if self.action == "decisions" and self.request.method == "POST":
            return [permission() for permission in CHANGE]
        return super().get_permissions()

    @extend_schema(request=ManagementReviewInputSerializer, responses={201: ManagementReviewSerializer, **CONFLICT})
    def create(self, request, *args, **kwargs):
        """Plan a review outside the schedule."""
        created = services.review_create(actor=request.user, **self.validated(ManagementReviewInputSerializer))
        return self.output(created, status.HTTP_201_CREATED)

    @extend_schema(request=ReviewUpdateSerializer, responses={200: ManagementReviewSerializer, **CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        """Edit the facts and the 9.3.2 texts until the review is held."""
        current = self.get_object()
        data = self.validated(ReviewUpdateSerializer, partial=True)
        return self.output(services.review_update(review_id=current.pk, actor=request.user, **data))

    @extend_schema(request=DistributeInputSerializer, responses={202: ManagementReviewSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def compile(self, request, pk=None):
        """Freeze the inputs anew and generate a report from them (in a worker)."""
        current = self.get_object()
        data = self.validated(DistributeInputSerializer)
        services.review_request_compile(review_id=current.pk, actor=request.user, **data)
        return self.output(current, status.HTTP_202_ACCEPTED)

    @extend_schema(request=DistributeInputSerializer, responses={202: ManagementReviewSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def regenerate(self, request, pk=None):
        """A new report version from the latest inputs; the old versions stay."""
        current = self.get_object()
        data = self.validated(DistributeInputSerializer)
        services.review_request_report(review_id=current.pk, actor=request.user, **data)
        return self.output(current, status.HTTP_202_ACCEPTED)

    @extend_schema(request=HoldInputSerializer, responses={200: ManagementReviewSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def hold(self, request, pk=None):
        """Record that the meeting was held, on the compiled inputs."""
        current = self.get_object()
        data = self.validated(HoldInputSerializer)
        return self.output(services.review_hold(review_id=current.pk, actor=request.user, **data))

    @extend_schema(request=None, responses={200: ManagementReviewSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=CHANGE)
    def close(self, request, pk=None):
        """Close a held review; its final report is generated and sent."""
        current = self.get_object()
        return self.output(services.review_close(review_id=current.pk, actor=request.user))

    @extend_schema(methods=["GET"], request=None, responses=ReviewDecisionSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=DecisionInputSerializer, responses={201: ReviewDecisionSerializer, **CONFLICT}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def decisions(self, request, pk=None):
        """The review's 9.3.3 outputs; POST records one, with an optional tracked action."""
        current = self.get_object()
        if request.method == "GET":
            rows = current.decisions.select_related("action", "created_by")
            return Response(ReviewDecisionSerializer(rows, many=True).data)
        data = self.validated(DecisionInputSerializer)
        decision = services.decision_add(review_id=current.pk, actor=request.user, **data)
        return Response(ReviewDecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ReviewReportSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        pagination_class=None,
        filter_backends=[],
        permission_classes=[IsActiveUser, CanView, CanViewReports],
    )
    def reports(self, request, pk=None):
        """Every report version, newest first."""
        current = self.get_object()
        rows = current.reports.select_related("snapshot", "generated_by").order_by("-version")
        return Response(ReviewReportSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: None})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"reports/(?P<version>\d+)/pdf",
        filter_backends=[],
        permission_classes=[IsActiveUser, CanView, CanViewReports],
    )
    def report_pdf(self, request, pk=None, version=None):
        """The stored PDF of one version, byte for byte (the download is audited)."""
        current = self.get_object()
        report = current.reports.filter(version=int(version)).first()
        path = services.report_path(report.file_name) if report else None
        if path is None or not path.exists():
            raise Http404
        services.report_downloaded(report=report, actor=request.user)
        return FileResponse(path.open("rb"), as_attachment=True, filename=report.download_name)


class ReviewScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """When reviews are compiled: a row per schedule with its next run."""

    serializer_class = ReviewScheduleSerializer
    ordering = ("name", "id")

    def base_queryset(self):
        return ReviewSchedule.objects.select_related("chair")

    @extend_schema(request=ScheduleInputSerializer, responses={201: ReviewScheduleSerializer, **CONFLICT})
    def create(self, request, *args, **kwargs):
        schedule = services.schedule_save(actor=request.user, **self.validated(ScheduleInputSerializer))
        return self.output(schedule, status.HTTP_201_CREATED)

    @extend_schema(request=ScheduleInputSerializer, responses={200: ReviewScheduleSerializer, **CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        current = self.get_object()
        data = self.validated(ScheduleInputSerializer, partial=True)
        return self.output(services.schedule_save(actor=request.user, schedule_id=current.pk, **data))
