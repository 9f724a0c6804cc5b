from django.contrib import admin

from apps.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is written by services only."""

    list_display = ["seq", "created_at", "actor_kind", "actor", "action", "content_type", "object_label"]
    list_filter = ["action", "actor_kind", "content_type"]
    search_fields = ["object_id", "object_label"]
    list_select_related = ["actor", "content_type"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
