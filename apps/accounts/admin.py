from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from apps.accounts import services
from apps.accounts.models import User


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "is_staff", "is_superuser")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """For superusers. Roles and activation are changed on the People page, which audits them."""

    add_form = UserCreationForm
    form = UserChangeForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined", "groups", "is_active"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["full_name"]}),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "usable_password", "password1", "password2"]})
    ]
    filter_horizontal: list = []

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk delete would bypass the audit trail; users are deactivated instead.
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def user_change_password(self, request, id, form_url=""):
        # Django's view saves the password itself; whether it did is read off the stored hash,
        # since a refused form and a success both answer with a redirect.
        pk = unquote(id)
        if not pk.isdigit():
            return super().user_change_password(request, id, form_url)
        stored = User.objects.filter(pk=pk).values_list("password", flat=True)
        before = stored.first()
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and before is not None and stored.first() != before:
                services.user_password_set_by_admin(user_id=int(pk), actor=request.user)
        return response
