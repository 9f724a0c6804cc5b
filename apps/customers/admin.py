"""Read-only admin for superusers: every change goes through the pages or API, which call the audited services."""

from django.contrib import admin

from apps.customers.models import Contact, Customer, FollowUpAction, Interaction, Product


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk delete would bypass the audit trail.
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "kind", "segment", "country", "account_owner", "status"]
    list_filter = ["status", "kind", "segment"]
    search_fields = ["name"]
    list_select_related = ["account_owner"]


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    """Never shows personal data, not even ciphertext: only ids, the customer and the erasure date."""

    list_display = ["id", "customer", "erased_at"]
    list_filter = ["erased_at"]
    list_select_related = ["customer"]
    fields = ["customer", "job_role", "survey_consent", "survey_consent_at", "is_active", "erased_at"]
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "occurred_at", "channel", "created_by"]
    list_filter = ["channel"]
    list_select_related = ["customer", "created_by"]
    date_hierarchy = "occurred_at"
    fields = ["customer", "occurred_at", "channel", "summary", "created_by"]


@admin.register(FollowUpAction)
class FollowUpActionAdmin(ReadOnlyAdmin):
    list_display = ["id", "description", "owner", "due_date", "done_at"]
    list_filter = ["done_at"]
    list_select_related = ["owner"]
    fields = ["interaction", "description", "owner", "due_date", "done_at"]
