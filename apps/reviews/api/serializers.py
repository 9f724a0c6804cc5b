"""Input serializers validate requests; output serializers describe records. None of them saves."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.actions.selectors import owner_candidates
from apps.core.api import fields as bounded
from apps.core.personal_data import MaskedPersonalFields
from apps.reviews.models import (
    MAX_LEAD_DAYS,
    DecisionKind,
    Interval,
    ManagementReview,
    ReviewDecision,
    ReviewReport,
    ReviewSchedule,
    ReviewStatus,
    Weekday,
    WeekOfMonth,
)
from apps.reviews.services import SCHEDULE_FIELDS

SECTION_FIELDS = [name for name, _item in ManagementReview.MANUAL_SECTIONS]

# Output ---------------------------------------------------------------------------


@extend_schema_serializer(component_name="ReviewUserRef")
class ReviewUserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class ManagementReviewSerializer(MaskedPersonalFields, serializers.ModelSerializer):
    chair = ReviewUserRefSerializer(read_only=True)
    status = serializers.CharField(read_only=True, help_text=", ".join(ReviewStatus.values))

    class Meta:
        model = ManagementReview
        fields = [
            "id",
            "reference",
            "title",
            "schedule",
            "period_start",
            "period_end",
            "meeting_date",
            "chair",
            "attendees",
            "distribution",
            "status",
            *SECTION_FIELDS,
            "held_on",
            "minutes",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReviewDecisionSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text=", ".join(DecisionKind.values))
    action_reference = serializers.CharField(source="action.reference", read_only=True, default=None, allow_null=True)
    created_by = ReviewUserRefSerializer(read_only=True)

    class Meta:
        model = ReviewDecision
        fields = ["id", "kind", "text", "action", "action_reference", "created_by", "created_at"]
        read_only_fields = fields


class ReviewReportSerializer(serializers.ModelSerializer):
    snapshot = serializers.IntegerField(source="snapshot.number", read_only=True)
    generated_by = ReviewUserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ReviewReport
        fields = ["version", "snapshot", "sha256", "size", "pages", "generated_at", "generated_by"]
        read_only_fields = fields


class ReviewScheduleSerializer(MaskedPersonalFields, serializers.ModelSerializer):
    chair = ReviewUserRefSerializer(read_only=True)

    class Meta:
        model = ReviewSchedule
        fields = ["id", *SCHEDULE_FIELDS, "next_run_at", "last_run_at"]
        read_only_fields = fields


# Input ----------------------------------------------------------------------------


class ManagementReviewInputSerializer(serializers.Serializer):
    """Facts of a review; on PATCH also the 9.3.2 texts. Status, reference and schedule are never set here."""

    title = serializers.CharField(max_length=200)
    period_start = bounded.DateField()
    period_end = bounded.DateField()
    meeting_date = bounded.DateField()
    chair = serializers.PrimaryKeyRelatedField(queryset=owner_candidates())
    attendees = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    distribution = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ReviewUpdateSerializer(ManagementReviewInputSerializer):
    external_internal_issues = serializers.CharField(max_length=50000, required=False, allow_blank=True)
    audit_results = serializers.CharField(max_length=50000, required=False, allow_blank=True)
    external_providers = serializers.CharField(max_length=50000, required=False, allow_blank=True)
    resources = serializers.CharField(max_length=50000, required=False, allow_blank=True)
    risks_opportunities = serializers.CharField(max_length=50000, required=False, allow_blank=True)
    improvement_opportunities = serializers.CharField(max_length=50000, required=False, allow_blank=True)


class DistributeInputSerializer(serializers.Serializer):
    distribute = serializers.BooleanField(default=False, help_text="E-mail the report to the distribution list.")


class HoldInputSerializer(serializers.Serializer):
    held_on = bounded.DateField()
    attendees = serializers.CharField(max_length=5000)
    minutes = serializers.CharField(max_length=50000, required=False, allow_blank=True, default="")


class DecisionInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DecisionKind.choices)
    text = serializers.CharField(max_length=5000)
    action_title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    action_owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates(), required=False, allow_null=True)
    action_due = bounded.DateField(required=False, allow_null=True)


class ScheduleInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    active = serializers.BooleanField(default=True)
    interval = serializers.ChoiceField(choices=Interval.choices)
    meeting_week = serializers.ChoiceField(choices=WeekOfMonth.choices, default=WeekOfMonth.FIRST)
    meeting_weekday = serializers.ChoiceField(choices=Weekday.choices, default=Weekday.MONDAY)
    lead_days = serializers.IntegerField(min_value=0, max_value=MAX_LEAD_DAYS, default=7)
    chair = serializers.PrimaryKeyRelatedField(queryset=owner_candidates())
    attendees = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    distribution = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    next_period_start = bounded.DateField()
