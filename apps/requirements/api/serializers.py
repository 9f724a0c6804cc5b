"""Input serializers validate requests; output serializers describe records. None of them saves."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.accounts.models import User
from apps.core.api import fields as bounded
from apps.customers.models import Customer, Product
from apps.requirements.models import (
    CustomerRequirement,
    RequirementChangeRequest,
    RequirementPriority,
    RequirementReview,
    RequirementSource,
    RequirementType,
    RequirementVersion,
)
from apps.requirements.selectors import owner_candidates

# Output ---------------------------------------------------------------------------


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class RequirementSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True, allow_null=True)
    product_name = serializers.CharField(source="product.name", read_only=True, allow_null=True)
    owner = UserRefSerializer(read_only=True)
    created_by = UserRefSerializer(read_only=True)
    review_due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_review_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = CustomerRequirement
        fields = [
            "id",
            "reference",
            "customer",
            "customer_name",
            "product",
            "product_name",
            "type",
            "title",
            "description",
            "acceptance_criteria",
            "source",
            "source_reference",
            "priority",
            "owner",
            "target_date",
            "created_by",
            "version",
            "status",
            "submitted_at",
            "review_due_at",
            "is_review_overdue",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RequirementVersionSerializer(serializers.ModelSerializer):
    created_by = UserRefSerializer(read_only=True)
    change_request = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    reviewed = serializers.SerializerMethodField()

    class Meta:
        model = RequirementVersion
        fields = [
            "number",
            "title",
            "description",
            "acceptance_criteria",
            "type",
            "source",
            "source_reference",
            "priority",
            "product",
            "target_date",
            "change_request",
            "created_by",
            "created_at",
            "updated_at",
            "reviewed",
        ]
        read_only_fields = fields

    def get_reviewed(self, version: RequirementVersion) -> bool:
        return version.pk in self.context.get("reviewed_version_ids", ())


class RequirementReviewSerializer(serializers.ModelSerializer):
    reviewer = UserRefSerializer(read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = RequirementReview
        fields = ["id", "version", "reviewer", "reviewed_at", "decision", "can_meet", "conditions", "notes"]
        read_only_fields = fields


class RequirementChangeRequestSerializer(serializers.ModelSerializer):
    requested_by = UserRefSerializer(read_only=True)

    class Meta:
        model = RequirementChangeRequest
        fields = ["id", "from_version", "reason", "informed", "informed_users", "requested_by", "requested_at"]
        read_only_fields = fields


# Input ----------------------------------------------------------------------------


class RequirementUpdateInputSerializer(serializers.Serializer):
    """The editable content and owner of a requirement; every field optional on PATCH."""

    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), allow_null=True, required=False)
    type = serializers.ChoiceField(choices=RequirementType.choices, required=False)
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False)
    acceptance_criteria = serializers.CharField(allow_blank=True, required=False)
    source = serializers.ChoiceField(choices=RequirementSource.choices, required=False)
    source_reference = serializers.CharField(max_length=200, allow_blank=True, required=False)
    priority = serializers.ChoiceField(choices=RequirementPriority.choices, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates(), required=False)
    target_date = bounded.DateField(allow_null=True, required=False)
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False, write_only=True)


class RequirementCreateInputSerializer(RequirementUpdateInputSerializer):
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(),
        allow_null=True,
        required=False,
        help_text=_("Empty or null for a general requirement of all customers or the market."),
    )
    type = serializers.ChoiceField(choices=RequirementType.choices)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    source = serializers.ChoiceField(choices=RequirementSource.choices)
    reason = None


class ReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=RequirementReview.Decision.choices)
    can_meet = serializers.BooleanField()
    conditions = serializers.CharField(allow_blank=True, required=False, default="")
    notes = serializers.CharField(allow_blank=True, required=False, default="")

    def validate(self, attrs):
        if attrs["decision"] == RequirementReview.Decision.ACCEPT and not attrs["can_meet"]:
            raise serializers.ValidationError(
                {"can_meet": _("Accept only what the organisation can meet; otherwise reject.")}
            )
        if attrs["decision"] == RequirementReview.Decision.REJECT and not attrs.get("notes", "").strip():
            raise serializers.ValidationError({"notes": _("Say why the requirement is rejected.")})
        return attrs


class RequestChangeInputSerializer(serializers.Serializer):
    reason = serializers.CharField()
    informed = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)
    informed_users = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.active(), many=True, required=False, default=list
    )


class WithdrawInputSerializer(serializers.Serializer):
    reason = serializers.CharField()
