"""Page forms. ModelForms here only define and validate fields; services save."""

from django import forms
from django.core.validators import FileExtensionValidator, RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core import dates
from apps.customers.models import Contact, Customer, Interaction, Product
from apps.customers.selectors import assignable_users
from apps.customers.services import CUSTOMER_FIELDS, PRODUCT_FIELDS

MAX_IMPORT_BYTES = 2 * 1024 * 1024

phone_validator = RegexValidator(
    r"^\+?[0-9 ()./-]*$", _("Use digits, spaces and + ( ) - / . only."), code="invalid_phone"
)
language_validator = RegexValidator(
    r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$", _("Use a language code such as en, de or pt-BR."), code="invalid_lang"
)


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.display_name


class OwnerMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        return user.display_name


class CustomerForm(forms.ModelForm):
    account_owner = OwnerChoiceField(
        label=_("Account owner"),
        queryset=assignable_users(),
        required=False,
        help_text=_("An active quality manager or staff member."),
    )

    class Meta:
        model = Customer
        fields = [*CUSTOMER_FIELDS, "products"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = Product.objects.filter(is_active=True).order_by("name")


class CustomerUpdateForm(CustomerForm):
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional; recorded in the audit trail."),
    )


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = PRODUCT_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        clashes = Product.objects.filter(code__iexact=code)
        if self.instance.pk:
            clashes = clashes.exclude(pk=self.instance.pk)
        if clashes.exists():
            raise forms.ValidationError(_("A product with this code already exists."))
        return code


class ContactForm(forms.Form):
    """A contact's details. `contact_id` excludes the contact itself from the duplicate e-mail check;
    `check_duplicates=False` leaves that check to a caller that batches it (the CSV import)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False, validators=[phone_validator])
    job_role = forms.CharField(label=_("Job role"), max_length=120, required=False)
    preferred_language = forms.CharField(
        label=_("Preferred language"), max_length=10, required=False, validators=[language_validator]
    )
    survey_consent = forms.BooleanField(label=_("Consents to surveys"), required=False)
    survey_consent_source = forms.ChoiceField(
        label=_("Consent source"),
        choices=[("", "---------"), *Contact.ConsentSource.choices],
        required=False,
        help_text=_("Required when the contact consents: how the consent was given."),
    )

    def __init__(self, *args, contact_id: int | None = None, check_duplicates: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact_id = contact_id
        self.check_duplicates = check_duplicates

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if email and self.check_duplicates:
            clashes = Contact.objects.with_email(email)
            if self.contact_id is not None:
                clashes = clashes.exclude(pk=self.contact_id)
            if clashes.exists():
                raise forms.ValidationError(_("A contact with this e-mail address already exists."))
        return email

    def clean(self) -> dict:
        data = super().clean()
        source_invalid = "survey_consent_source" in self.errors
        if data.get("survey_consent") and not data.get("survey_consent_source") and not source_invalid:
            self.add_error("survey_consent_source", _("Say how the contact gave consent."))
        if not data.get("survey_consent") and "survey_consent_source" in data:
            data["survey_consent_source"] = ""
        return data


class ContactUpdateForm(ContactForm):
    is_active = forms.BooleanField(label=_("Active"), required=False)
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional; recorded in the audit trail."),
    )


class ContactEraseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for erasure"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example the data subject's request and its date. Recorded in the audit trail."),
    )


class InteractionForm(forms.Form):
    occurred_at = dates.DateTimeField(
        label=_("Date and time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Interaction.Channel.choices)
    contacts = forms.ModelMultipleChoiceField(
        label=_("Contacts"), queryset=Contact.objects.none(), required=False, help_text=_("Contacts of this customer.")
    )
    staff = OwnerMultipleChoiceField(label=_("Staff involved"), queryset=assignable_users(), required=False)
    summary = forms.CharField(label=_("Summary"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this customer's contacts are valid choices: anything else is "not one of the available choices".
        self.fields["contacts"].queryset = customer.contacts.filter(erased_at__isnull=True).order_by("id")
        self.fields["contacts"].label_from_instance = lambda contact: contact.display_name

    def clean_occurred_at(self):
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at > timezone.now():
            raise forms.ValidationError(_("An interaction is recorded after it happened; the date is in the future."))
        return occurred_at


class FollowUpForm(forms.Form):
    description = forms.CharField(label=_("Follow-up action"), max_length=300)
    owner = OwnerChoiceField(label=_("Owner"), queryset=assignable_users())
    due_date = dates.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))


MAX_FOLLOW_UPS = 3
FollowUpFormSet = forms.formset_factory(
    FollowUpForm, extra=MAX_FOLLOW_UPS, max_num=MAX_FOLLOW_UPS, absolute_max=MAX_FOLLOW_UPS, validate_max=True
)


class CustomerImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        validators=[FileExtensionValidator(["csv"])],
        help_text=_("UTF-8 encoded, comma- or semicolon-separated, at most 2 MB and 1000 rows."),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB; split it into several files."))
        return upload
