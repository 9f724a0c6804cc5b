from django.contrib import admin

from apps.surveys.models import (
    Campaign,
    Delivery,
    Invitation,
    Question,
    Response,
    SurveyOptOut,
    SurveyTemplate,
    TemplateVersion,
    Wave,
)


class ReadOnlyForSuperusers(admin.ModelAdmin):
    """Read-only, for superusers: surveys change only through their services, which lock,
    validate and audit every step (and keep sent questionnaires frozen)."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class QuestionInline(admin.TabularInline):
    model = Question
    fields = ["position", "kind", "text", "required", "choices"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SurveyTemplate)
class SurveyTemplateAdmin(ReadOnlyForSuperusers):
    list_display = ["name", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]


@admin.register(TemplateVersion)
class TemplateVersionAdmin(ReadOnlyForSuperusers):
    list_display = ["template", "number", "title", "locked_at"]
    list_select_related = ["template"]
    inlines = [QuestionInline]


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyForSuperusers):
    list_display = ["name", "status", "recurrence", "next_run_at", "last_wave_number", "owner"]
    list_filter = ["status", "recurrence", "audience_kind"]
    list_select_related = ["owner"]
    search_fields = ["name"]
    # The audience may be thousands of contacts; a multi-select of them would decrypt every name.
    exclude = ["audience_contacts"]


@admin.register(Wave)
class WaveAdmin(ReadOnlyForSuperusers):
    list_display = ["campaign", "number", "status", "scheduled_for", "sent_at", "closes_at", "closed_at"]
    list_filter = ["status"]
    list_select_related = ["campaign"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyForSuperusers):
    list_display = ["pk", "campaign", "wave", "status", "sent_at", "reminders_sent", "responded_at"]
    list_filter = ["status"]
    list_select_related = ["campaign", "wave__campaign"]
    # The nonce is what the answer link is derived from: whoever reads it can answer for the customer.
    exclude = ["nonce", "token_hash"]
    raw_id_fields = ["contact", "customer", "product", "wave", "campaign"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyForSuperusers):
    list_display = ["invitation", "sequence", "outcome", "at"]
    list_filter = ["outcome"]
    list_select_related = ["invitation"]
    raw_id_fields = ["invitation"]


@admin.register(Response)
class ResponseAdmin(ReadOnlyForSuperusers):
    list_display = ["pk", "campaign", "wave", "customer", "submitted_at"]
    list_select_related = ["campaign", "wave__campaign", "customer"]
    # Free-text answers stay encrypted here: the ciphertext and the data key are not shown.
    exclude = ["comments_ct", "data_key"]
    raw_id_fields = ["invitation", "customer", "product", "follow_up", "wave", "campaign"]


@admin.register(SurveyOptOut)
class SurveyOptOutAdmin(ReadOnlyForSuperusers):
    # The contact's id, not its name: a list of names would decrypt every one of them.
    list_display = ["pk", "contact_id", "created_at"]
    raw_id_fields = ["contact", "invitation"]
