from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core import dates
from apps.customers.models import Customer, Product
from apps.requirements.filters import GENERAL_LABEL
from apps.requirements.models import CustomerRequirement, RequirementReview
from apps.requirements.selectors import owner_candidates


def _model_field(name: str, **kwargs) -> forms.Field:
    """The form field of a model field, so labels, lengths and choices stay the model's."""
    return CustomerRequirement._meta.get_field(name).formfield(**kwargs)


class RequirementEditForm(forms.Form):
    """The content and owner of a requirement (an edit: the customer is fixed at creation)."""

    title = _model_field("title")
    type = _model_field("type")
    description = _model_field("description", widget=forms.Textarea(attrs={"rows": 5}))
    acceptance_criteria = _model_field("acceptance_criteria", widget=forms.Textarea(attrs={"rows": 3}))
    product = forms.ModelChoiceField(
        queryset=Product.objects.filter(is_active=True).order_by("name", "id"),
        required=False,
        label=_("Product or service"),
        empty_label=_("— none —"),
    )
    source = _model_field("source")
    source_reference = _model_field("source_reference")
    priority = _model_field("priority")
    owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Owner"))
    target_date = _model_field(
        "target_date", form_class=dates.DateField, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail."),
    )

    def __init__(self, *args, requirement: CustomerRequirement | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if requirement is not None and requirement.product_id:
            # A product taken out of the catalogue stays selectable on the requirements that name it.
            self.fields["product"].queryset = Product.objects.filter(
                pk=requirement.product_id
            ) | Product.objects.filter(is_active=True)

    @staticmethod
    def initial_for(requirement: CustomerRequirement) -> dict:
        names = [*CustomerRequirement.CONTENT_FIELDS, "owner"]
        return {name: getattr(requirement, name) for name in names}

    def service_data(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name not in {"reason", "customer"}}


class RequirementCreateForm(RequirementEditForm):
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.active().order_by("name", "id"),
        required=False,
        label=_("Customer"),
        empty_label=GENERAL_LABEL,
        help_text=_("Leave empty for a general requirement of all customers or the market."),
    )
    field_order = ["customer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["reason"]


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=RequirementReview.Decision.choices)
    can_meet = forms.BooleanField(
        label=_("The organisation can meet this requirement"),
        required=False,
        help_text=_("Needed to accept."),
    )
    conditions = forms.CharField(
        label=_("Conditions and differences resolved with the customer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when rejecting: say why."),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == RequirementReview.Decision.ACCEPT and not data.get("can_meet"):
            self.add_error("can_meet", _("Accept only what the organisation can meet; otherwise reject."))
        if data.get("decision") == RequirementReview.Decision.REJECT and not (data.get("notes") or "").strip():
            self.add_error("notes", _("Say why the requirement is rejected."))
        return data


class RequestChangeForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the change"), widget=forms.Textarea(attrs={"rows": 3}))
    informed = forms.CharField(
        label=_("People informed"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Who was told about the change (names, roles, the customer's contacts)."),
    )
    informed_users = forms.ModelMultipleChoiceField(
        queryset=User.objects.active().order_by("full_name", "id"),
        required=False,
        label=_("Portal users informed"),
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason for withdrawing"), widget=forms.Textarea(attrs={"rows": 3}))
