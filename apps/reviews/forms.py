from django import forms
from django.utils.translation import gettext_lazy as _

from apps.actions.selectors import owner_candidates
from apps.core import dates
from apps.reviews.models import DecisionKind, ManagementReview, ReviewSchedule
from apps.reviews.services import SCHEDULE_FIELDS

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ADDRESSES_WIDGET = forms.Textarea(attrs={"rows": 3, "placeholder": "ceo@example.com"})


def _review_field(name: str, **kwargs) -> forms.Field:
    return ManagementReview._meta.get_field(name).formfield(**kwargs)


class ReviewForm(forms.Form):
    """The facts of a review; on an existing review before the meeting also the 9.3.2 texts."""

    title = _review_field("title")
    period_start = _review_field("period_start", form_class=dates.DateField, widget=DATE_WIDGET)
    period_end = _review_field("period_end", form_class=dates.DateField, widget=DATE_WIDGET)
    meeting_date = _review_field("meeting_date", form_class=dates.DateField, widget=DATE_WIDGET)
    chair = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Chair"))
    attendees = _review_field("attendees", widget=forms.Textarea(attrs={"rows": 3}))
    distribution = _review_field("distribution", widget=ADDRESSES_WIDGET)

    def __init__(self, *args, editing: ManagementReview | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing is not None:
            for name, item in ManagementReview.MANUAL_SECTIONS:
                self.fields[name] = _review_field(
                    name, widget=forms.Textarea(attrs={"rows": 4}), help_text=_("ISO 9001 %(item)s") % {"item": item}
                )
            if editing.schedule_id or editing.snapshots.exists():
                for name in ("period_start", "period_end"):
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _("Fixed: the period is scheduled or its inputs are compiled.")

    @classmethod
    def initial_for(cls, review: ManagementReview) -> dict:
        names = [*cls.base_fields, *(name for name, _item in ManagementReview.MANUAL_SECTIONS)]
        initial = {name: getattr(review, name) for name in names}
        initial["chair"] = review.chair_id
        return initial


class HoldForm(forms.Form):
    held_on = dates.DateField(label=_("Held on"), widget=DATE_WIDGET)
    attendees = forms.CharField(label=_("Attendees"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    minutes = forms.CharField(
        label=_("Minutes"), required=False, max_length=50000, widget=forms.Textarea(attrs={"rows": 4})
    )


class DecisionForm(forms.Form):
    """A 9.3.3 output, optionally with the action that carries it out."""

    kind = forms.ChoiceField(label=_("Kind"), choices=DecisionKind.choices)
    text = forms.CharField(label=_("Decision"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    action_title = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=200,
        help_text=_("Leave empty for a decision without an action."),
    )
    action_owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Action owner"), required=False)
    action_due = dates.DateField(label=_("Action due"), required=False, widget=DATE_WIDGET)


class ScheduleForm(forms.ModelForm):
    chair = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Chair"))

    class Meta:
        model = ReviewSchedule
        fields = list(SCHEDULE_FIELDS)
        widgets = {
            "next_period_start": DATE_WIDGET,
            "attendees": forms.Textarea(attrs={"rows": 3}),
            "distribution": ADDRESSES_WIDGET,
        }
        help_texts = {"next_period_start": _("The first day of a month.")}
        field_classes = {"next_period_start": dates.DateField}
