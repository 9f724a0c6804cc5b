"""Input serializers validate requests; output serializers describe records. None of them saves."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.crypto import unwrap
from apps.core.personal_data import MASK, MaskedPersonalFields
from apps.customers.models import Contact, Customer, Product
from apps.feedback.models import Feedback, FeedbackCategory, FeedbackChannel, FeedbackStatus, Sentiment
from apps.feedback.selectors import owner_candidates


# Fields named like other apps' enums (status, channel…) would collide in the schema's enum
# components; they are documented as strings with a pattern listing the allowed values instead.
def _enum(choices, name: str, blank: str = ""):
    """`blank`, when given, admits "" and says what it means."""
    values = [value for value, _label in choices]
    description = ", ".join(values) + (f"; empty: {blank}" if blank else "")
    pattern = "^(" + "|".join([*values, ""] if blank else values) + ")$"
    schema = {"type": "string", "pattern": pattern, "description": description}

    @extend_schema_field(schema)
    class EnumField(serializers.ChoiceField):
        pass

    EnumField.__name__ = name
    return EnumField


StatusField = _enum(FeedbackStatus.choices, "FeedbackStatus")
ChannelField = _enum(FeedbackChannel.choices, "FeedbackChannel")
SentimentField = _enum(Sentiment.choices, "FeedbackSentiment")
# Output only: "" as for every text the API has no value for (kept for existing clients).
SentimentOrBlankField = _enum(Sentiment.choices, "FeedbackSentimentOrBlank", blank="not classified")


class FeedbackUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class FeedbackSerializer(MaskedPersonalFields, serializers.ModelSerializer):
    """A feedback record. The submitter's name and e-mail (personal data) are not exposed; the
    text, free words of the public, reads "[personal data]" without the personal-data permission."""

    channel = ChannelField(choices=FeedbackChannel.choices, read_only=True)
    status = StatusField(choices=FeedbackStatus.choices, read_only=True)
    sentiment = SentimentOrBlankField(choices=[*Sentiment.choices, ("", "")], read_only=True)
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


class FeedbackListSerializer(MaskedPersonalFields, serializers.BaseSerializer):
    """A list row, the same fields and values as FeedbackSerializer, built from one plain row
    of `FeedbackViewSet` (`LIST_ROW`, related names joined in), not from a model instance.

    The list serves up to 200 rows per request (bench goal G6-values): DRF's per-field
    machinery and one model instance per row and related row cost more than the query and
    the text decryption together. tests/feedback/test_api.py pins each row equal to the detail.
    """

    def to_representation(self, row) -> dict:
        iso = _iso_datetime(timezone.get_current_timezone())
        # Masked rows are not decrypted at all; an erased text (no key) stays empty, as in the detail.
        if self._personal_visible():
            text = _plain_text(row.text_ct, row.data_key)
        else:
            text = MASK if row.text_ct and row.data_key else ""
        owner = None
        if row.owner_id is not None:
            owner = {"id": row.owner_id, "name": row.owner__full_name or row.owner__email}
        return {
            "id": row.id,
            "reference": row.reference,
            "channel": row.channel,
            "customer": row.customer_id,
            "customer_name": row.customer__name,
            "contact": row.contact_id,
            "product": row.product_id,
            "product_name": row.product__name,
            "rating": row.rating,
            "text": text,
            "category": row.category_id,
            "category_name": row.category__name,
            "sentiment": row.sentiment,
            "status": row.status,
            "owner": owner,
            "call_back": row.call_back,
            "consent_to_contact": row.consent_to_contact,
            "consent_at": iso(row.consent_at),
            "complaint": row.complaint_id,
            "triaged_at": iso(row.triaged_at),
            "closed_at": iso(row.closed_at),
            "close_reason": row.close_reason,
            "erased_at": iso(row.erased_at),
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
        }


def _plain_text(token: str, wrapped_key: str) -> str:
    """What `Feedback.text` reads: empty when there is no text or the data key was shredded."""
    if not token or not wrapped_key:
        return ""
    return unwrap(wrapped_key).decrypt(token.encode()).decode()


def _iso_datetime(zone):
    """DRF's DateTimeField output (ISO 8601 in the current time zone, "Z" for UTC) without its
    per-call time zone lookup."""

    def represent(value):
        if value is None:
            return None
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return represent


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
