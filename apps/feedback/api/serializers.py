"""Input serializers validate requests; output serializers describe records. None of them saves."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.customers.models import Contact, Customer, Product
from apps.feedback.models import Feedback, FeedbackCategory, FeedbackChannel, FeedbackStatus, Sentiment
from apps.feedback.selectors import owner_candidates


# Fields named like other apps' enums (status, channel…) would collide in the schema's enum
# components; they are documented as strings with a pattern listing the allowed values instead.
def _enum(choices, name: str):
    values = [value for value, _label in choices]
    schema = {"type": "string", "pattern": "^(" + "|".join(values) + ")$", "description": ", ".join(values)}

    @extend_schema_field(schema)
    class EnumField(serializers.ChoiceField):
        pass

    EnumField.__name__ = name
    return EnumField


StatusField = _enum(FeedbackStatus.choices, "FeedbackStatus")
ChannelField = _enum(FeedbackChannel.choices, "FeedbackChannel")
SentimentField = _enum(Sentiment.choices, "FeedbackSentiment")


class FeedbackUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class FeedbackSerializer(serializers.ModelSerializer):
    """A feedback record. The submitter's name and e-mail (personal data) are not exposed."""

    channel = ChannelField(choices=FeedbackChannel.choices, read_only=True)
    status = StatusField(choices=FeedbackStatus.choices, read_only=True)
    sentiment = SentimentField(choices=[*Sentiment.choices, ("", "")], read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True, allow_null=True)
    product_name = serializers.CharField(source="product.name", read_only=True, allow_null=True)
    category_name = serializers.CharField(source="category.name", read_only=True, allow_null=True)
    owner = FeedbackUserSerializer(read_only=True, allow_null=True)
    complaint = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    text = serializers.CharField(read_only=True, help_text="Encrypted at rest; empty once the submitter was erased.")
    erased_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "reference",
            "channel",
            "customer",
            "customer_name",
            "contact",
            "product",
            "product_name",
            "rating",
            "text",
            "category",
            "category_name",
            "sentiment",
            "status",
            "owner",
            "call_back",
            "consent_to_contact",
            "consent_at",
            "complaint",
            "triaged_at",
            "closed_at",
            "close_reason",
            "erased_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FeedbackRecordInputSerializer(serializers.Serializer):
    channel = ChannelField(choices=[c for c in FeedbackChannel.choices if c[0] != FeedbackChannel.WEB_FORM])
    text = serializers.CharField(max_length=5000)
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all(), allow_null=True, required=False)
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), allow_null=True, required=False)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), allow_null=True, required=False)
    rating = serializers.IntegerField(min_value=1, max_value=5, allow_null=True, required=False)
    submitter_name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    submitter_email = serializers.EmailField(allow_blank=True, required=False)
    consent_to_contact = serializers.BooleanField(required=False, default=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates(), allow_null=True, required=False)


class TriageInputSerializer(serializers.Serializer):
    category = serializers.PrimaryKeyRelatedField(
        queryset=FeedbackCategory.objects.filter(is_active=True), allow_null=True, required=False
    )
    sentiment = SentimentField(choices=Sentiment.choices, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates(), allow_null=True, required=False)


class CloseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, allow_blank=True, required=False, default="")


class RaiseActionInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    nonconformity = serializers.CharField(allow_blank=True, required=False, default="")
    containment = serializers.CharField(allow_blank=True, required=False, default="")
    owner = serializers.PrimaryKeyRelatedField(queryset=owner_candidates(), allow_null=True, required=False)


class RaisedActionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
