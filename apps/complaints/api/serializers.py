"""Complaint API serializers: input (validation only) separate from output (explicit fields)."""

from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import User
from apps.complaints.models import Complaint, ComplaintCategory, ComplaintMessage, Severity
from apps.core.api import fields as bounded
from apps.core.personal_data import MaskedPersonalFields
from apps.customers.models import Product


def _choice(choices, **kwargs) -> serializers.CharField:
    """A plain string validated against `choices`: drf-spectacular would otherwise merge our enums with
    other apps' equal choice sets (same values as requirement priority, say) and warn."""
    values = [value for value, _label in choices]
    help_text = kwargs.pop("help_text", "One of: " + ", ".join(values))

    def validate(value):
        if value not in values:
            raise serializers.ValidationError(f"Must be one of: {', '.join(values)}.")

    return serializers.CharField(validators=[validate], help_text=help_text, **kwargs)


class ComplaintSerializer(MaskedPersonalFields, serializers.ModelSerializer):
    """A complaint; the complainant's words read "[personal data]" without the personal-data permission."""

    status = serializers.CharField(read_only=True, help_text="One of: " + ", ".join(Complaint.Status.values))
    severity = serializers.CharField(read_only=True, help_text="One of: " + ", ".join(Severity.values))
    channel = serializers.CharField(read_only=True, help_text="One of: " + ", ".join(Complaint.Channel.values))
    # Declared fields do not inherit the model's null=True: without allow_null the schema promised
    # an id where an uncategorised, unassigned or anonymous complaint has null.
    category = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    product = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    customer = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    # Encrypted at rest (properties, not columns): empty once the complainant was erased.
    description = serializers.CharField(read_only=True)
    desired_outcome = serializers.CharField(read_only=True)
    erased_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Complaint
        fields = [
            "id",
            "reference",
            "status",
            "severity",
            "channel",
            "category",
            "product",
            "customer",
            "customer_name",
            "assignee",
            "order_reference",
            "description",
            "desired_outcome",
            "root_cause",
            "resolution",
            "rejection_reason",
            "dispute_body",
            "dispute_date",
            "dispute_outcome",
            "rating",
            "erased_at",
            "flagged",
            "escalated",
            "received_at",
            "acknowledged_at",
            "assessed_at",
            "responded_at",
            "closed_at",
            "paused_at",
            "ack_due_at",
            "assess_due_at",
            "respond_due_at",
            "close_due_at",
        ]
        read_only_fields = fields


class ComplaintMessageSerializer(MaskedPersonalFields, serializers.ModelSerializer):
    visibility = serializers.CharField(read_only=True)
    author_kind = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)

    class Meta:
        model = ComplaintMessage
        fields = ["id", "visibility", "author_kind", "author", "body", "created_at"]
        read_only_fields = fields


class AssessmentInputSerializer(serializers.Serializer):
    severity = _choice(Severity.choices, required=False)
    category = serializers.PrimaryKeyRelatedField(
        queryset=ComplaintCategory.objects.filter(is_active=True), required=False, allow_null=True
    )
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), required=False, allow_null=True)
    root_cause = serializers.CharField(required=False, allow_blank=True)
    resolution = serializers.CharField(required=False, allow_blank=True)
    dispute_body = serializers.CharField(required=False, allow_blank=True, max_length=200)
    dispute_date = bounded.DateField(required=False, allow_null=True)
    dispute_outcome = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True)


class TransitionInputSerializer(serializers.Serializer):
    to = _choice(Complaint.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    # Recorded with the step; responding and closing need one recorded (ISO 10002).
    resolution = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class MessageInputSerializer(serializers.Serializer):
    body = serializers.CharField()
    visibility = _choice(ComplaintMessage.Visibility.choices)


class AssignInputSerializer(serializers.Serializer):
    to = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True)
