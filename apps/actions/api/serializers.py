"""Input serializers validate requests; output serializers describe records. None of them saves."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from apps.actions import sources
from apps.actions.models import ActionPlanItem, CorrectiveAction, RootCauseMethod
from apps.actions.selectors import owner_candidates
from apps.core.api import fields as bounded

# Output ---------------------------------------------------------------------------


@extend_schema_serializer(component_name="ActionUserRef")
class ActionUserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


@extend_schema_serializer(component_name="ActionSourceRef")
class ActionSourceSerializer(serializers.Serializer):
    type = serializers.CharField(read_only=True, help_text=_("app_label.model of the record that raised the action."))
    visible = serializers.BooleanField(
        read_only=True, help_text=_("Whether you may see the source; if not, id is null and label names only its kind.")
    )
    id = serializers.CharField(read_only=True, allow_null=True)
    label = serializers.CharField(read_only=True)


class ActionPlanItemSerializer(serializers.ModelSerializer):
    owner = ActionUserRefSerializer(read_only=True)
    is_done = serializers.BooleanField(read_only=True)

    class Meta:
        model = ActionPlanItem
        fields = ["id", "round", "description", "owner", "due_date", "done_at", "is_done"]
        read_only_fields = fields


class CorrectiveActionListSerializer(serializers.ListSerializer):
    """Works out which sources the caller may see for the whole page at once (one query per
    kind of source at most), instead of once per action."""

    def to_representation(self, data):
        actions = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        request = self.context.get("request")
        self.context["source_views"] = sources.describe_many(actions, getattr(request, "user", None))
        return super().to_representation(actions)


class CorrectiveActionSerializer(serializers.ModelSerializer):
    owner = ActionUserRefSerializer(read_only=True)
    verifier = ActionUserRefSerializer(read_only=True, allow_null=True)
    created_by = ActionUserRefSerializer(read_only=True)
    source = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=CorrectiveAction.Status.choices, read_only=True)
    root_cause_method = serializers.ChoiceField(choices=RootCauseMethod.choices, read_only=True, allow_blank=True)

    class Meta:
        model = CorrectiveAction
        list_serializer_class = CorrectiveActionListSerializer
        fields = [
            "id",
            "reference",
            "title",
            "nonconformity",
            "containment",
            "root_cause_method",
            "root_cause",
            "owner",
            "status",
            "round",
            "effectiveness_check_date",
            "verifier",
            "verified_at",
            "verification_evidence",
            "created_by",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ActionSourceSerializer(allow_null=True))
    def get_source(self, action: CorrectiveAction) -> dict | None:
        """The source as the caller may see it: staff see every action but only their complaints."""
        views = self.context.get("source_views") or {}
        request = self.context.get("request")
        described = views[action.pk] if action.pk in views else sources.describe(action, getattr(request, "user", None))
        if described is None:
            return None
        return {"type": described.type, "visible": described.visible, "id": described.id, "label": described.label}


# Input ------------------------------------------------------------------------------


class ActionRaiseInputSerializer(serializers.Serializer):
    """A manual corrective action (audit finding, observation). The owner defaults to the caller."""

    title = serializers.CharField(max_length=200)
    nonconformity = serializers.CharField()
    containment = serializers.CharField(required=False, allow_blank=True, default="")
    owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates(), required=False, allow_null=True)


class ActionUpdateInputSerializer(serializers.Serializer):
    """The editable fields of an action; every field optional on PATCH."""

    title = serializers.CharField(max_length=200, required=False)
    nonconformity = serializers.CharField(required=False)
    containment = serializers.CharField(required=False, allow_blank=True)
    root_cause_method = serializers.ChoiceField(choices=RootCauseMethod.choices, required=False, allow_blank=True)
    root_cause = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates(), required=False)
    effectiveness_check_date = bounded.DateField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class ActionReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class ActionReopenInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class ActionImplementInputSerializer(serializers.Serializer):
    effectiveness_check_date = bounded.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class ActionVerifyInputSerializer(serializers.Serializer):
    effective = serializers.BooleanField()
    evidence = serializers.CharField()


class PlanItemInputSerializer(serializers.Serializer):
    description = serializers.CharField()
    owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates())
    due_date = bounded.DateField()
