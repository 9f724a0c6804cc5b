from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from apps.accounts import capabilities
from apps.accounts.login import login_identifier
from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.core import clauses, dates


class SignInForm(AuthenticationForm):
    """The sign-in page's form: the address reaches the lockout and the lookup in one spelling."""

    def clean_username(self) -> str:
        return login_identifier(self.cleaned_data.get("username"))


class AccessFields(forms.Form):
    """When an account ends and which clauses an (external) auditor may see."""

    access_until = dates.DateField(
        label=_("Access until (inclusive)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For external auditors: the account stops working after this day, even when signed in."),
    )
    clause_scope = forms.MultipleChoiceField(
        label=_("Limit to clauses"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Auditors only: they see just the records that evidence these clauses. None ticked: every clause."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clause_scope"].choices = [
            (clause, f"{clause} {title}") for clause, title in clauses.CLAUSES.items()
        ]


class UserCreateForm(AccessFields):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def clean_email(self) -> str:
        email = login_identifier(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("A user with this e-mail address already exists."))
        return email


class UserUpdateForm(AccessFields):
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    is_active = forms.BooleanField(label=_("Active"), required=False)
    capabilities = forms.MultipleChoiceField(
        label=_("Individual duties"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Given to this person in addition to the role (staff only)."),
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["capabilities"].choices = [(c.permission, c.label) for c in capabilities.all_capabilities()]
        if not self.fields["capabilities"].choices:
            del self.fields["capabilities"]


class IdentifierEmailField(forms.EmailField):
    """An address in the sign-in identifier's spelling, validated in it: full-width letters
    and capitals are the account's address, not an invalid or a different one."""

    def to_python(self, value) -> str:
        return login_identifier(super().to_python(value))


class PasswordResetRequestForm(forms.Form):
    """The address to send a reset link to. Sending is the view's (through a task), not the form's."""

    email = IdentifierEmailField(
        label=_("E-mail address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
