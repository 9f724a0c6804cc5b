"""Forms for the public complaint pages and the staff complaint pages."""

from __future__ import annotations

from pathlib import PurePath

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.accounts.roles import GROUP_NAMES, Role
from apps.complaints.models import Complaint, ComplaintCategory, ComplaintMessage, Severity
from apps.core import dates
from apps.core.pdf_scan import scan_pdf
from apps.core.public import HoneypotFormMixin, SubmissionKeyMixin
from apps.customers.models import Customer, Product

MAX_ATTACHMENTS = 5


def allowed_types() -> list[str]:
    return list(settings.COMPLAINT_ATTACHMENT_TYPES)


def max_bytes() -> int:
    return settings.COMPLAINT_ATTACHMENT_MAX_BYTES


# The file name must say what the content is: a script or program renamed "photo.png" or
# "invoice.pdf" is refused, not stored under a name that invites opening it.
EXTENSIONS = {
    "application/pdf": {".pdf"},
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/gif": {".gif"},
    "text/plain": {".txt", ".log", ".csv"},
}


def sniff(head: bytes) -> str:
    """The content type the file's first bytes show, whatever the client claimed."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            # a multi-byte character cut at the end of the sample is still text
            if error.start < len(head) - 3:
                return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"


def validate_attachment(upload) -> None:
    """Refuse files over the size limit or whose content is not an allowed type; tags `sniffed_type`."""
    if upload.size > max_bytes():
        raise forms.ValidationError(
            _("%(name)s is larger than %(mb)s MB.") % {"name": upload.name, "mb": round(max_bytes() / 1024 / 1024, 1)}
        )
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    kind = sniff(head)
    if kind not in allowed_types():
        raise forms.ValidationError(
            _("%(name)s is not an allowed file type (PDF, PNG, JPEG, text).") % {"name": upload.name}
        )
    if PurePath(upload.name or "").suffix.lower() not in EXTENSIONS.get(kind, set()):
        raise forms.ValidationError(
            _("%(name)s does not contain what its name says; send it with its real file type.") % {"name": upload.name}
        )
    if kind == "application/pdf":
        _refuse_active_pdf(upload)
    upload.sniffed_type = kind


def _refuse_active_pdf(upload) -> None:
    """Refuse a PDF that would run something in the reader of whoever opens it (staff, most often)."""
    # Whole file in memory: the size limit above has already bounded it.
    upload.seek(0)
    scan = scan_pdf(upload.read())
    upload.seek(0)
    if scan.active:
        raise forms.ValidationError(
            _(
                "%(name)s contains content that runs when it is opened (%(what)s), so we cannot accept it. "
                "Print it to a new PDF, or send a picture of its pages."
            )
            % {"name": upload.name, "what": ", ".join(sorted(str(kind) for kind in scan.active))}
        )
    if scan.uncheckable:
        raise forms.ValidationError(
            _(
                "%(name)s cannot be checked for content that runs when it is opened (it is encrypted or "
                "compressed in an unusual way). Print it to a new PDF, or send a picture of its pages."
            )
            % {"name": upload.name}
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [super(AttachmentsField, self).clean(item, initial) for item in files if item]
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(_("At most %(n)s files.") % {"n": MAX_ATTACHMENTS})
        for upload in files:
            validate_attachment(upload)
        return files


class ComplaintForm(forms.Form):
    """ISO 10002 Annex: who complains, about what, what happened, what they want."""

    complainant_name = forms.CharField(label=_("Your name"), max_length=200)
    complainant_email = forms.EmailField(label=_("Your e-mail"), help_text=_("We send the tracking link here."))
    customer_name = forms.CharField(label=_("Organisation"), max_length=200, required=False)
    product = forms.ModelChoiceField(
        label=_("Product or service"),
        queryset=Product.objects.filter(is_active=True),
        required=False,
        empty_label=_("Not sure / not listed"),
    )
    order_reference = forms.CharField(label=_("Order or invoice number"), max_length=100, required=False)
    description = forms.CharField(label=_("What happened?"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10000)
    desired_outcome = forms.CharField(
        label=_("What would you like us to do?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
    )
    attachments = AttachmentsField(label=_("Attachments"), help_text=_("Up to 5 files: PDF, PNG, JPEG or plain text."))


class PublicComplaintForm(SubmissionKeyMixin, HoneypotFormMixin, ComplaintForm):
    """The form customers fill in themselves on the public page."""


class StaffComplaintForm(ComplaintForm):
    """A complaint received by phone, letter, e-mail or in person, recorded by staff on the customer's behalf."""

    channel = forms.ChoiceField(
        label=_("Received by"),
        choices=[
            (value, label)
            for value, label in Complaint.Channel.choices
            if value not in {Complaint.Channel.WEB, Complaint.Channel.FEEDBACK}
        ],
    )
    customer = forms.ModelChoiceField(
        label=_("Customer"), queryset=Customer.objects.active().order_by("name"), required=False
    )
    field_order = ["channel", "customer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["complainant_name"].label = _("Complainant's name")
        self.fields["complainant_email"].label = _("Complainant's e-mail")
        self.fields["complainant_email"].help_text = _("The acknowledgement with the tracking link goes here.")
        self.fields["description"].label = _("What happened?")
        self.fields["desired_outcome"].label = _("What does the complainant want?")


class AddInformationForm(forms.Form):
    body = forms.CharField(label=_("Add information"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)
    attachments = AttachmentsField(label=_("Attachments"))


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with how we handled your complaint?"),
        choices=[(i, str(i)) for i in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )


class TransitionForm(ReasonForm):
    to = forms.ChoiceField(choices=Complaint.Status.choices)
    resolution = forms.CharField(
        label=_("Resolution (the decision the customer is told)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=10000,
    )


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)
    visibility = forms.ChoiceField(
        label=_("Visibility"), choices=ComplaintMessage.Visibility.choices, initial=ComplaintMessage.Visibility.INTERNAL
    )


class AssessmentForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=ComplaintCategory.objects.filter(is_active=True), required=False
    )
    product = forms.ModelChoiceField(label=_("Product or service"), queryset=Product.objects.all(), required=False)
    root_cause = forms.CharField(label=_("Root cause"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    resolution = forms.CharField(label=_("Resolution"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    dispute_body = forms.CharField(label=_("External dispute resolution body (ISO 10003)"), required=False)
    dispute_date = dates.DateField(
        label=_("Referred on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    dispute_outcome = forms.CharField(
        label=_("Dispute outcome"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = (
            User.objects.active()
            .filter(groups__name__in=[GROUP_NAMES[Role.QUALITY_MANAGER], GROUP_NAMES[Role.STAFF]])
            .distinct()
            .order_by("full_name")
        )


class ActionRaiseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    nonconformity = forms.CharField(label=_("Nonconformity"), widget=forms.Textarea(attrs={"rows": 3}))
    containment = forms.CharField(label=_("Containment"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class SlaPolicyForm(forms.Form):
    """One severity's limits on the SLA policy page (one form per severity, prefixed by it)."""

    acknowledge_hours = forms.IntegerField(label=_("Acknowledge (working hours)"), min_value=1, max_value=1000)
    assess_hours = forms.IntegerField(label=_("Assess (working hours)"), min_value=1, max_value=1000)
    respond_days = forms.IntegerField(label=_("Respond (working days)"), min_value=1, max_value=1000)
    close_days = forms.IntegerField(label=_("Close (working days)"), min_value=1, max_value=1000)

    def clean(self):
        data = super().clean()
        if (
            data.get("assess_hours")
            and data.get("acknowledge_hours")
            and data["assess_hours"] < data["acknowledge_hours"]
        ):
            self.add_error("assess_hours", _("Assessment cannot be due before acknowledgement."))
        if data.get("close_days") and data.get("respond_days") and data["close_days"] < data["respond_days"]:
            self.add_error("close_days", _("Closure cannot be due before the response."))
        return data
