from django.contrib import admin

from apps.complaints.models import Complaint, ComplaintCategory, ComplaintEscalation, ComplaintMessage


class ReadOnlyForSuperusers(admin.ModelAdmin):
    """Read-only, for superusers: complaints change only through their services, which audit every step."""

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


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyForSuperusers):
    list_display = ["reference", "status", "severity", "received_at", "assignee"]
    list_filter = ["status", "severity"]
    search_fields = ["reference"]
    exclude = ["name_ct", "email_ct", "email_index", "data_key", "token_hash"]


@admin.register(ComplaintCategory)
class ComplaintCategoryAdmin(ReadOnlyForSuperusers):
    list_display = ["name", "is_active"]


@admin.register(ComplaintMessage)
class ComplaintMessageAdmin(ReadOnlyForSuperusers):
    list_display = ["complaint", "visibility", "author_kind", "created_at"]


@admin.register(ComplaintEscalation)
class ComplaintEscalationAdmin(ReadOnlyForSuperusers):
    list_display = ["complaint", "stage", "level", "cycle", "created_at"]
