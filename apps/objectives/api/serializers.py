"""Input serializers validate requests; output serializers describe records. None of them saves."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.actions.selectors import owner_candidates
from apps.complaints.models import ComplaintCategory
from apps.core.api import fields as bounded
from apps.customers.models import Product
from apps.objectives import kpi_catalogue
from apps.objectives.models import (
    KpiKind,
    Measurement,
    ObjectiveStatus,
    Performance,
    Period,
    QualityObjective,
)
from apps.requirements.models import CustomerRequirement

# Output ---------------------------------------------------------------------------


@extend_schema_serializer(component_name="ObjectiveUserRef")
class ObjectiveUserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class QualityObjectiveSerializer(serializers.ModelSerializer):
    owner = ObjectiveUserRefSerializer(read_only=True)
    # Plain strings with the values listed: choice fields named "status" collide with other
    # apps' enums of the same name in the schema.
    status = serializers.CharField(read_only=True, help_text=", ".join(ObjectiveStatus.values))
    performance = serializers.CharField(read_only=True, help_text=", ".join(Performance.values))
    kpi_kind = serializers.CharField(read_only=True, help_text=", ".join(KpiKind.values))
    period = serializers.CharField(read_only=True, help_text=", ".join(Period.values))
    effective_tolerance = serializers.DecimalField(max_digits=14, decimal_places=4, read_only=True)
    customer_requirements = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    complaint_categories = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    products = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    corrective_actions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = QualityObjective
        fields = [
            "id",
            "reference",
            "title",
            "plan",
            "resources",
            "evaluation",
            "owner",
            "status",
            "performance",
            "action_proposed",
            "past_target_notified_at",
            "kpi_kind",
            "kpi",
            "kpi_label",
            "filter_product",
            "filter_segment",
            "filter_category",
            "filter_channel",
            "baseline_value",
            "baseline_date",
            "target_value",
            "target_date",
            "higher_is_better",
            "unit",
            "period",
            "tolerance",
            "effective_tolerance",
            "customer_requirements",
            "complaint_categories",
            "products",
            "corrective_actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MeasurementSerializer(serializers.ModelSerializer):
    recorded_by = ObjectiveUserRefSerializer(read_only=True, allow_null=True)
    # a plain string: a choice field named "source" collides with other apps' enums in the schema
    source = serializers.CharField(read_only=True, help_text=_("manual or computed"))

    class Meta:
        model = Measurement
        fields = ["id", "period_start", "period_end", "value", "source", "recorded_by", "recorded_at", "note"]
        read_only_fields = fields


# Input ------------------------------------------------------------------------------


class ObjectiveInputSerializer(serializers.Serializer):
    """The fields of an objective; all optional on PATCH. Filters a KPI does not support must be empty."""

    title = serializers.CharField(max_length=200)
    plan = serializers.CharField()
    resources = serializers.CharField(required=False, allow_blank=True, default="")
    evaluation = serializers.CharField(required=False, allow_blank=True, default="")
    owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates())
    kpi_kind = serializers.ChoiceField(choices=KpiKind.choices)
    kpi = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    kpi_label = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    filter_product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), required=False, allow_null=True)
    filter_segment = serializers.CharField(required=False, allow_blank=True, default="", max_length=80)
    filter_category = serializers.PrimaryKeyRelatedField(
        queryset=ComplaintCategory.objects.all(), required=False, allow_null=True
    )
    filter_channel = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    baseline_value = serializers.DecimalField(max_digits=14, decimal_places=4)
    baseline_date = bounded.DateField()
    target_value = serializers.DecimalField(max_digits=14, decimal_places=4)
    target_date = bounded.DateField()
    higher_is_better = serializers.BooleanField()
    unit = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    period = serializers.ChoiceField(choices=Period.choices, required=False, default=Period.MONTHLY)
    tolerance = serializers.DecimalField(
        max_digits=14, decimal_places=4, required=False, allow_null=True, default=None, min_value=0
    )
    customer_requirements = serializers.PrimaryKeyRelatedField(
        many=True, queryset=CustomerRequirement.objects.all(), required=False
    )
    complaint_categories = serializers.PrimaryKeyRelatedField(
        many=True, queryset=ComplaintCategory.objects.all(), required=False
    )
    products = serializers.PrimaryKeyRelatedField(many=True, queryset=Product.objects.all(), required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")

    def validate(self, attrs):
        kind = attrs.get("kpi_kind", getattr(self.instance, "kpi_kind", None))
        kpi = attrs.get("kpi", getattr(self.instance, "kpi", ""))
        errors = {}
        if kind == KpiKind.COMPUTED:
            if kpi_catalogue.definition(kpi) is None:
                errors["kpi"] = _("Choose a KPI from the catalogue.")
            else:
                supported = kpi_catalogue.supported_filters(kpi)
                for name, field in kpi_catalogue.FILTER_FIELDS.items():
                    if attrs.get(field) and name not in supported:
                        errors[field] = _("The chosen KPI cannot be filtered by this.")
        elif kind == KpiKind.MANUAL:
            for field in kpi_catalogue.FILTER_FIELDS.values():
                if attrs.get(field):
                    errors[field] = _("Filters apply only to computed KPIs.")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ObjectiveTransitionInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=ObjectiveStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class MeasurementInputSerializer(serializers.Serializer):
    period_start = bounded.DateField(help_text=_("Any day of the period; the whole period is recorded."))
    value = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
