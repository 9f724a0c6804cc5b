"""Forms of the questionnaire and campaign pages. They shape input for the services, which
hold the rules; the question formset reuses the service's validation so both say the same."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core import dates
from apps.customers.models import Contact, Product
from apps.customers.selectors import customer_segments
from apps.surveys.models import MANAGE_PERMISSION, Campaign, QuestionKind, TemplateVersion
from apps.surveys.services.campaigns import AUDIENCE_FIELDS, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS
from apps.surveys.services.campaigns import match_contacts as match_emails
from apps.surveys.services.templates import MAX_QUESTIONS, clean_questions

# Blank question rows under the filled ones; "Add more rows" submits the page for three more.
EXTRA_ROWS = 3


# Questionnaires -----------------------------------------------------------------------


class TemplateForm(forms.Form):
    """The questionnaire's name and the texts of the version being written."""

    name = forms.CharField(label=_("Name"), max_length=200, help_text=_("For staff, e.g. “Relationship NPS”."))
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    title = forms.CharField(label=_("Title shown to customers"), max_length=200)
    introduction = forms.CharField(label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    thank_you = forms.CharField(label=_("Thank-you message"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class QuestionForm(forms.Form):
    """One question row. A row left blank (no question text, help or choices) is ignored."""

    kind = forms.ChoiceField(label=_("Type"), choices=QuestionKind.choices, initial=QuestionKind.NPS)
    text = forms.CharField(label=_("Question"), max_length=500, required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=500, required=False)
    required = forms.BooleanField(label=_("Answer required"), required=False, initial=True)
    choices = forms.CharField(
        label=_("Choices (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only for single and multiple choice questions."),
    )

    def question(self) -> dict[str, Any] | None:
        data = getattr(self, "cleaned_data", None) or {}
        if not (data.get("text") or data.get("help_text") or data.get("choices")):
            return None
        return {
            "kind": data.get("kind"),
            "text": data.get("text", ""),
            "help_text": data.get("help_text", ""),
            "required": bool(data.get("required")),
            "choices": (data.get("choices") or "").splitlines(),
        }


class BaseQuestionFormSet(forms.BaseFormSet):
    def initial_form_count(self) -> int:
        # Every submitted row may be left blank (then it is dropped), the pre-filled ones too.
        return 0 if self.is_bound else super().initial_form_count()

    def questions(self) -> list[dict[str, Any]]:
        return [question for form in self.forms if (question := form.question()) is not None]

    def clean(self) -> None:
        if any(self.errors):
            return
        try:
            self.cleaned_questions = clean_questions(self.questions())
        except ValidationError as error:
            raise ValidationError(error.message_dict["questions"]) from error

    def rows(self) -> list[dict[str, Any]]:
        """The submitted non-blank rows as initial data, to show them again with more blank rows."""
        rows = []
        for form in self.forms:
            values = {name: form[name].value() for name in form.fields}
            if any((values.get(name) or "").strip() for name in ("text", "help_text", "choices")):
                values["required"] = bool(values.get("required"))
                rows.append(values)
        return rows


QuestionFormSet = forms.formset_factory(
    QuestionForm,
    formset=BaseQuestionFormSet,
    extra=EXTRA_ROWS,
    max_num=MAX_QUESTIONS + EXTRA_ROWS,
    absolute_max=MAX_QUESTIONS + EXTRA_ROWS,
)


def question_rows(version: TemplateVersion) -> list[dict[str, Any]]:
    """A version's questions as formset initial data."""
    return [
        {
            "kind": question.kind,
            "text": question.text,
            "help_text": question.help_text,
            "required": question.required,
            "choices": "\n".join(question.choices),
        }
        for question in version.questions.order_by("position")
    ]


# Campaigns ----------------------------------------------------------------------------


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TemplateVersion) -> str:
        return _("%(name)s, version %(number)d") % {"name": obj.template.name, "number": obj.number}


class ContactChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        return f"{obj.display_name} ({obj.customer.name})"


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


def campaign_owners(*, include: int | None = None):
    """Active users who may run campaigns (quality managers and staff given the capability),
    plus the user `include` (a campaign's current owner, so editing never drops them)."""
    app_label, codename = MANAGE_PERMISSION.split(".")
    may_run = Q(groups__permissions__content_type__app_label=app_label, groups__permissions__codename=codename) | Q(
        user_permissions__content_type__app_label=app_label, user_permissions__codename=codename
    )
    chosen = Q(is_active=True) & may_run
    if include is not None:
        chosen |= Q(pk=include)
    return User.objects.filter(chosen).distinct().order_by("full_name", "id")


def parse_emails(text: str) -> list[str]:
    """The addresses in pasted text (one per line, or separated by commas, semicolons or
    spaces, as a spreadsheet column or an e-mail header gives them), repeats dropped."""
    seen: set[str] = set()
    emails = []
    for email in re.split(r"[\s,;]+", text or ""):
        if email and email.lower() not in seen:
            seen.add(email.lower())
            emails.append(email)
    return emails


class CampaignForm(forms.Form):
    """Create or edit a campaign. After the first wave the audience fields come disabled.

    Chosen contacts are never offered as a list of every contact (that would decrypt every
    name in the customer base): the contacts already chosen are listed to keep or untick,
    and more are added by pasting e-mail addresses, matched like a CSV upload."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    template_version = VersionChoiceField(label=_("Questionnaire"), queryset=TemplateVersion.objects.none())
    audience_kind = forms.ChoiceField(
        label=_("Audience"), choices=Campaign.AudienceKind.choices, widget=forms.RadioSelect
    )
    audience_segments = forms.MultipleChoiceField(
        label=_("Customer segments"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "For “Customers in segments”: contacts who agreed to surveys, of active customers in these segments."
        ),
    )
    audience_product = forms.ModelChoiceField(
        label=_("Product or service"),
        queryset=Product.objects.filter(is_active=True).order_by("name", "id"),
        required=False,
        help_text=_("For “Customers of a product”."),
    )
    audience_contacts = ContactChoiceField(
        label=_("Chosen contacts"),
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Untick a contact to take them out of the audience."),
    )
    audience_emails = forms.CharField(
        label=_("Add contacts by e-mail"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=format_lazy(
            _(
                "For “Chosen contacts”: e-mail addresses, one per line or separated by commas, at most {rows}. "
                "Each must belong to a contact who agreed to surveys and has not opted out. "
                "A CSV upload on the campaign's page adds more."
            ),
            rows=MAX_IMPORT_ROWS,
        ),
    )
    recurrence = forms.ChoiceField(label=_("Repeats"), choices=Campaign.Recurrence.choices)
    next_run_at = dates.DateTimeField(
        label=_("Next send"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
    )
    reminder_interval_days = forms.IntegerField(label=_("Days between reminders"), min_value=1, max_value=90, initial=7)
    max_reminders = forms.IntegerField(label=_("Reminders at most"), min_value=0, max_value=10, initial=2)
    close_after_days = forms.IntegerField(label=_("Closes after (days)"), min_value=1, max_value=365, initial=21)
    fatigue_days = forms.IntegerField(
        label=_("Skip contacts surveyed within (days)"),
        min_value=0,
        max_value=365,
        initial=30,
        help_text=_("Contacts invited by any campaign within this many days are not invited again."),
    )
    send_rate_per_minute = forms.IntegerField(
        label=_("E-mails per minute"), min_value=1, max_value=100_000, initial=600
    )
    owner = OwnerChoiceField(label=_("Owner"), queryset=User.objects.none())

    def __init__(self, *args, campaign: Campaign | None = None, time_zone: str = "", audience_locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        versions = TemplateVersion.objects.filter(template__is_active=True)
        if campaign is not None:
            versions = versions | TemplateVersion.objects.filter(pk=campaign.template_version_id)
        self.fields["template_version"].queryset = versions.select_related("template").order_by(
            "template__name", "-number"
        )
        segments = set(customer_segments()) | set(campaign.audience_segments if campaign else [])
        self.fields["audience_segments"].choices = [(segment, segment) for segment in sorted(segments)]
        # Only the campaign's own contacts are choices: their names are the only ones decrypted,
        # and a forged id of any other contact is refused.
        chosen = campaign.audience_contacts.all() if campaign is not None else Contact.objects.none()
        self.fields["audience_contacts"].queryset = chosen.select_related("customer").order_by("customer__name", "id")
        self.has_chosen_contacts = campaign is not None and chosen.exists()
        self.fields["owner"].queryset = campaign_owners(include=campaign.owner_id if campaign else None)
        if time_zone:
            self.fields["next_run_at"].help_text = _("In the organisation's time zone (%(tz)s).") % {"tz": time_zone}
        if audience_locked:
            for name in [*AUDIENCE_FIELDS, "audience_emails"]:
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed: the first wave was sent with it.")

    SECTIONS = (
        (_("Campaign"), ("name", "description", "template_version", "owner")),
        (
            _("Audience"),
            ("audience_kind", "audience_segments", "audience_product", "audience_contacts", "audience_emails"),
        ),
        (_("Schedule"), ("recurrence", "next_run_at", "close_after_days")),
        (
            _("Reminders and limits"),
            ("reminder_interval_days", "max_reminders", "fatigue_days", "send_rate_per_minute"),
        ),
    )

    def sections(self) -> list[tuple[str, list]]:
        """The fields grouped as the page shows them, each group a fieldset (the chosen
        contacts only when there are some)."""
        hidden = set() if self.has_chosen_contacts else {"audience_contacts"}
        return [(legend, [self[name] for name in names if name not in hidden]) for legend, names in self.SECTIONS]

    def clean_audience_emails(self) -> list[str]:
        emails = parse_emails(self.cleaned_data.get("audience_emails") or "")
        if len(emails) > MAX_IMPORT_ROWS:
            raise ValidationError(
                _("Paste at most %(max)d addresses; upload a CSV file for more.") % {"max": MAX_IMPORT_ROWS}
            )
        return emails

    def clean(self) -> dict[str, Any]:
        """Turns the pasted addresses into contacts (as the CSV upload matches them) added to
        the ones kept; `audience_contacts` is then the whole chosen list the service expects."""
        data = super().clean()
        emails = data.pop("audience_emails", None) or []
        if not emails:
            return data
        if data.get("audience_kind") != Campaign.AudienceKind.CONTACTS:
            self.add_error("audience_emails", _("Choose “Chosen contacts” as the audience to add contacts by e-mail."))
            return data
        matched, problems = match_emails(list(enumerate(emails, start=1)))
        if problems:
            self.add_error(
                "audience_emails",
                [
                    _("%(email)s: %(problem)s") % {"email": emails[problem.row - 1], "problem": problem.message}
                    for problem in problems
                ],
            )
            return data
        contacts = {contact.pk: contact for contact in data.get("audience_contacts") or []}
        for contact in matched.values():
            contacts.setdefault(contact.pk, contact)
        data["audience_contacts"] = list(contacts.values())
        return data


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class ContactImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        validators=[FileExtensionValidator(["csv"])],
        help_text=format_lazy(
            _("UTF-8, comma- or semicolon-separated, with an “email” column; at most 2 MB and {rows} rows."),
            rows=MAX_IMPORT_ROWS,
        ),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB; split it into several files."))
        return upload
