"""Read-only admin: every change to corrective actions goes through services.py (audit trail)."""

from django.contrib import admin

from apps.actions.models import ActionPlanItem, CorrectiveAction


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CorrectiveAction)
class CorrectiveActionAdmin(ReadOnlyAdmin):
    list_display = ["reference", "title", "status", "owner", "effectiveness_check_date", "created_at"]
    list_filter = ["status"]
    search_fields = ["reference", "title"]
    list_select_related = ["owner"]


@admin.register(ActionPlanItem)
class ActionPlanItemAdmin(ReadOnlyAdmin):
    list_display = ["action", "round", "owner", "due_date", "done_at"]
    list_select_related = ["action", "owner"]
