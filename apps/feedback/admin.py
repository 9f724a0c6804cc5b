from django.contrib import admin

from apps.feedback.models import Feedback, FeedbackCategory


class ReadOnlyForSuperusers(admin.ModelAdmin):
    """Read-only, for superusers: feedback changes only through its services, which audit every step."""

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


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyForSuperusers):
    list_display = ["reference", "channel", "status", "sentiment", "rating", "created_at"]
    list_filter = ["status", "channel", "sentiment"]
    search_fields = ["reference"]
    # Personal data stays encrypted here: the ciphertext columns are not shown.
    exclude = ["submitter_name_ct", "submitter_email_ct", "text_ct", "data_key"]


@admin.register(FeedbackCategory)
class FeedbackCategoryAdmin(ReadOnlyForSuperusers):
    list_display = ["name", "is_active"]
