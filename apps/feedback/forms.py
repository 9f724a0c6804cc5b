from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.public import HoneypotFormMixin, SubmissionKeyMixin
from apps.customers.models import Contact, Customer, Product
from apps.feedback.models import FeedbackChannel, Sentiment
from apps.feedback.selectors import active_categories, owner_candidates

RATING_CHOICES = [(str(n), str(n)) for n in range(1, 6)]


def _rating(value) -> int | None:
    return int(value) if value not in (None, "") else None


class PublicFeedbackForm(SubmissionKeyMixin, HoneypotFormMixin, forms.Form):
    """What a member of the public may tell us; everything but the text is optional."""

    text = forms.CharField(label=_("Your feedback"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you? (1 = not at all, 5 = very)"),
        choices=RATING_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.filter(is_active=True).order_by("name", "id"),
        to_field_name="code",
        required=False,
        label=_("Product or service (optional)"),
        empty_label=_("— not about one product —"),
    )
    submitter_name = forms.CharField(label=_("Your name (optional)"), max_length=200, required=False)
    submitter_email = forms.EmailField(label=_("Your e-mail (optional)"), max_length=254, required=False)
    consent_to_contact = forms.BooleanField(
        label=_("You may contact me about this feedback"),
        required=False,
        help_text=_("We then need your e-mail address. We use it only to answer this feedback."),
    )

    def clean(self):
        data = super().clean()
        if data.get("consent_to_contact") and not data.get("submitter_email") and "submitter_email" not in self.errors:
            self.add_error("submitter_email", _("Give an e-mail address so that we can contact you."))
        return data

    def service_data(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "website"}


class FeedbackRecordForm(forms.Form):
    """Staff record feedback that came in by another channel."""

    channel = forms.ChoiceField(
        label=_("Channel"), choices=[c for c in FeedbackChannel.choices if c[0] != FeedbackChannel.WEB_FORM]
    )
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.active().order_by("name", "id"),
        required=False,
        label=_("Customer"),
        empty_label=_("— none / anonymous —"),
    )
    contact = forms.ModelChoiceField(
        queryset=Contact.objects.filter(is_active=True, erased_at__isnull=True).select_related("customer"),
        required=False,
        label=_("Contact"),
        empty_label=_("— none —"),
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.filter(is_active=True).order_by("name", "id"),
        required=False,
        label=_("Product or service"),
        empty_label=_("— none —"),
    )
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        choices=[("", _("— none —")), *RATING_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
    )
    text = forms.CharField(label=_("Feedback"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}))
    submitter_name = forms.CharField(label=_("Name of the person (if no contact)"), max_length=200, required=False)
    submitter_email = forms.EmailField(label=_("Their e-mail"), max_length=254, required=False)
    consent_to_contact = forms.BooleanField(label=_("They agreed to be contacted about it"), required=False)
    owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Owner"))

    def clean(self):
        data = super().clean()
        if data.get("consent_to_contact") and not (data.get("submitter_email") or data.get("contact")):
            self.add_error("submitter_email", _("Give an e-mail address (or choose a contact) to contact them."))
        return data


class TriageForm(forms.Form):
    category = forms.ModelChoiceField(queryset=active_categories(), label=_("Category"), required=False)
    sentiment = forms.ChoiceField(label=_("Sentiment"), choices=Sentiment.choices)
    owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Owner"), required=False)


class CloseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RaiseActionForm(forms.Form):
    title = forms.CharField(label=_("Action title"), max_length=200)
    nonconformity = forms.CharField(
        label=_("Nonconformity"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Empty: the feedback's text."),
    )
    containment = forms.CharField(
        label=_("Immediate containment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Action owner"), required=False)


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
