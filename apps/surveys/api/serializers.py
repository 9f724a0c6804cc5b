"""Surveys API serializers. Output only (the API is read-only), with explicit fields.

Invitation link tokens are never stored, and neither the nonce they derive from nor their
hash is ever serialised, for anyone: whoever reads the API cannot answer for a customer.
Choice fields are plain strings (help text lists the values) so that drf-spectacular does
not merge them with other apps' enums of the same name.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api import fields as bounded
from apps.core.personal_data import can_see_personal_data
from apps.surveys.models import (
    EXPORT_PERMISSION,
    Answer,
    AudienceKind,
    Campaign,
    CampaignStatus,
    Invitation,
    InvitationStatus,
    Question,
    QuestionKind,
    Recurrence,
    Response,
    SurveyTemplate,
    TemplateVersion,
    Wave,
    WaveStatus,
)
from apps.surveys.selectors.results import ResponseRate, decrypted_texts


def _string(choices) -> serializers.CharField:
    return serializers.CharField(read_only=True, help_text="One of: " + ", ".join(choices.values))


class QuestionSerializer(serializers.ModelSerializer):
    kind = _string(QuestionKind)
    choices = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Question
        fields = ["id", "position", "kind", "text", "help_text", "required", "choices"]
        read_only_fields = fields


class TemplateVersionSerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = TemplateVersion
        fields = ["id", "number", "title", "introduction", "thank_you", "locked_at", "questions"]
        read_only_fields = fields


class SurveyTemplateSerializer(serializers.ModelSerializer):
    """A questionnaire with every version, newest first, and their questions in order."""

    versions = TemplateVersionSerializer(many=True, read_only=True)

    class Meta:
        model = SurveyTemplate
        fields = ["id", "name", "description", "is_active", "created_at", "updated_at", "versions"]
        read_only_fields = fields


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign with its send counts over all waves."""

    status = _string(CampaignStatus)
    audience_kind = _string(AudienceKind)
    recurrence = _string(Recurrence)
    audience_segments = serializers.ListField(child=serializers.CharField(), read_only=True)
    invited = serializers.IntegerField(read_only=True)
    sent = serializers.IntegerField(read_only=True)
    responded = serializers.IntegerField(read_only=True)
    response_rate = serializers.SerializerMethodField(help_text="responded / sent, 0..1; null before anything is sent")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "template_version",
            "status",
            "audience_kind",
            "audience_segments",
            "audience_product",
            "recurrence",
            "next_run_at",
            "reminder_interval_days",
            "max_reminders",
            "close_after_days",
            "fatigue_days",
            "send_rate_per_minute",
            "owner",
            "last_wave_number",
            "invited",
            "sent",
            "responded",
            "response_rate",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_response_rate(self, campaign) -> float | None:
        return ResponseRate(sent=campaign.sent, responded=campaign.responded).rate


class WaveSerializer(serializers.ModelSerializer):
    status = _string(WaveStatus)

    class Meta:
        model = Wave
        fields = [
            "id",
            "campaign",
            "number",
            "status",
            "scheduled_for",
            "invitations_created_at",
            "sent_at",
            "closes_at",
            "closed_at",
        ]
        read_only_fields = fields


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation without anything its link could be rebuilt from."""

    status = _string(InvitationStatus)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "wave",
            "campaign",
            "contact",
            "customer",
            "product",
            "status",
            "attempts",
            "sent_at",
            "reminders_sent",
            "last_reminded_at",
            "next_reminder_at",
            "responded_at",
            "created_at",
        ]
        read_only_fields = fields


class AnswerSerializer(serializers.ModelSerializer):
    kind = _string(QuestionKind)
    choices = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Answer
        fields = ["question", "kind", "score", "choices"]
        read_only_fields = fields


class ResponseSerializer(serializers.ModelSerializer):
    """A response with its scored and chosen answers; free-text answers (personal data)
    decrypted as {question id: text} only for users who may export responses (the same right
    as the CSV export) and see personal data, empty for everyone else and once the respondent
    was erased."""

    answers = AnswerSerializer(many=True, read_only=True)
    text_answers = serializers.SerializerMethodField(
        help_text=f"{{question id: text}}; empty without {EXPORT_PERMISSION} and once the respondent was erased."
    )

    class Meta:
        model = Response
        fields = [
            "id",
            "invitation",
            "campaign",
            "wave",
            "customer",
            "product",
            "submitted_at",
            "follow_up",
            "answers",
            "text_answers",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_text_answers(self, response) -> dict[str, str]:
        request = self.context.get("request")
        if request is None or not request.user.has_perm(EXPORT_PERMISSION) or not can_see_personal_data(request.user):
            return {}
        return decrypted_texts(response)


# Results ------------------------------------------------------------------------------------------


class ResultsQuerySerializer(serializers.Serializer):
    """Query parameters of the results endpoints (dates are days in the organisation's time zone)."""

    campaign = serializers.IntegerField(required=False, min_value=1, help_text="Only this campaign.")
    wave = serializers.IntegerField(required=False, min_value=1, help_text="Only this wave.")
    date_from = bounded.DateField(
        required=False,
        help_text="Answers submitted on or after this day; the response rate counts invitations sent since then.",
    )
    date_to = bounded.DateField(
        required=False,
        help_text="Answers submitted on or before this day; the response rate counts invitations sent until then.",
    )
    segment = serializers.CharField(required=False, help_text="Customers of this segment.")
    product = serializers.IntegerField(required=False, min_value=1, help_text="Responses about this product.")


class IntervalSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class NpsSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="-100..100")
    ci = IntervalSerializer(allow_null=True, help_text="95% interval (normal approximation)")
    low_confidence = serializers.BooleanField()


class CsatSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="% of answers 4-5")
    ci = IntervalSerializer(allow_null=True, help_text="95% Wilson interval, in %")
    low_confidence = serializers.BooleanField()


class CesSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True, help_text="1..7, higher is easier")
    ci = IntervalSerializer(allow_null=True, help_text="95% interval of the mean")
    low_confidence = serializers.BooleanField()


class ScoresSerializer(serializers.Serializer):
    nps = NpsSerializer()
    csat = CsatSerializer()
    ces = CesSerializer()
    low_confidence = serializers.BooleanField()


class ResponseRateSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    responded = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="0..1")


class BucketSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    count = serializers.IntegerField()
    percent = serializers.FloatField()


class DistributionSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    n = serializers.IntegerField()
    buckets = BucketSerializer(many=True)


class ChoiceCountSerializer(serializers.Serializer):
    choice = serializers.CharField()
    count = serializers.IntegerField()
    percent = serializers.FloatField()


class ChoiceResultSerializer(serializers.Serializer):
    question_id = serializers.IntegerField()
    text = serializers.CharField()
    kind = serializers.CharField()
    answered = serializers.IntegerField()
    counts = ChoiceCountSerializer(many=True)


class GroupScoresSerializer(serializers.Serializer):
    key = serializers.SerializerMethodField(help_text="Month (YYYY-MM-DD), segment or product id; null for none")
    label = serializers.CharField()
    scores = ScoresSerializer()

    @extend_schema_field({"type": ["string", "null"]})
    def get_key(self, group) -> str | None:
        return None if group.key is None else str(group.key)


class WaveResultSerializer(serializers.Serializer):
    wave_id = serializers.IntegerField()
    number = serializers.IntegerField()
    scheduled_for = serializers.DateTimeField()
    status = serializers.CharField()
    rate = ResponseRateSerializer()
    scores = ScoresSerializer()
    nps_change = serializers.FloatField(allow_null=True)
    csat_change = serializers.FloatField(allow_null=True)
    ces_change = serializers.FloatField(allow_null=True)


class ResultFiltersSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField(allow_null=True)
    wave_id = serializers.IntegerField(allow_null=True)
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    segment = serializers.CharField(allow_blank=True)
    product_id = serializers.IntegerField(allow_null=True)


class ResultsSerializer(serializers.Serializer):
    """Every figure for the filters; `choices` and `waves` only for one campaign."""

    filters = ResultFiltersSerializer()
    min_responses = serializers.IntegerField(help_text="Figures on fewer answers are low_confidence.")
    responses = serializers.IntegerField(help_text="Responses submitted in the scope.")
    rate = ResponseRateSerializer()
    scores = ScoresSerializer()
    distributions = DistributionSerializer(many=True)
    trend = GroupScoresSerializer(many=True)
    segments = GroupScoresSerializer(many=True)
    products = GroupScoresSerializer(many=True)
    choices = ChoiceResultSerializer(many=True)
    waves = WaveResultSerializer(many=True)
