from django.contrib import admin

from apps.requirements.models import (
    CustomerRequirement,
    RequirementChangeRequest,
    RequirementReview,
    RequirementVersion,
)


class ReadOnlyForSuperusers(admin.ModelAdmin):
    """Read-only, for superusers: requirements change only through their services, which audit every step."""

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


@admin.register(CustomerRequirement)
class CustomerRequirementAdmin(ReadOnlyForSuperusers):
    list_display = ["id", "title", "customer", "type", "priority", "status", "version", "owner", "target_date"]
    list_filter = ["status", "type", "priority", "source"]
    search_fields = ["title", "description"]
    list_select_related = ["customer", "owner"]


@admin.register(RequirementVersion)
class RequirementVersionAdmin(ReadOnlyForSuperusers):
    list_display = ["requirement", "number", "title", "created_by", "created_at"]
    list_select_related = ["requirement", "created_by"]
    search_fields = ["title"]


@admin.register(RequirementReview)
class RequirementReviewAdmin(ReadOnlyForSuperusers):
    list_display = ["requirement", "version", "reviewer", "reviewed_at", "decision", "can_meet"]
    list_filter = ["decision", "can_meet"]
    list_select_related = ["requirement", "version", "reviewer"]


@admin.register(RequirementChangeRequest)
class RequirementChangeRequestAdmin(ReadOnlyForSuperusers):
    list_display = ["requirement", "from_version", "requested_by", "requested_at"]
    list_select_related = ["requirement", "requested_by"]
