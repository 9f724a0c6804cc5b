from django import forms
from django.utils.translation import gettext_lazy as _

from apps.actions.models import CorrectiveAction
from apps.actions.selectors import owner_candidates
from apps.core import dates

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _model_field(name: str, **kwargs) -> forms.Field:
    """The form field of a model field, so labels, lengths and choices stay the model's."""
    return CorrectiveAction._meta.get_field(name).formfield(**kwargs)


class ActionRaiseForm(forms.Form):
    """A manual corrective action (an audit finding, an observation): no source record."""

    title = _model_field("title")
    nonconformity = _model_field("nonconformity", widget=forms.Textarea(attrs={"rows": 4}))
    containment = _model_field("containment", widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Owner"))


class ActionEditForm(forms.Form):
    title = _model_field("title")
    nonconformity = _model_field("nonconformity", widget=forms.Textarea(attrs={"rows": 4}))
    containment = _model_field("containment", widget=forms.Textarea(attrs={"rows": 3}))
    root_cause_method = _model_field("root_cause_method")
    root_cause = _model_field("root_cause", widget=forms.Textarea(attrs={"rows": 4}))
    owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Owner"))
    effectiveness_check_date = _model_field("effectiveness_check_date", form_class=dates.DateField, widget=DATE_WIDGET)
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail."),
    )

    def __init__(self, *args, may_reassign: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_reassign:
            del self.fields["owner"]

    @staticmethod
    def initial_for(action: CorrectiveAction) -> dict:
        names = ["title", "nonconformity", "containment", "root_cause_method", "root_cause", "owner"]
        return {
            **{name: getattr(action, name) for name in names},
            "effectiveness_check_date": action.effectiveness_check_date,
        }

    def service_data(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "reason"}


class PlanItemForm(forms.Form):
    description = forms.CharField(label=_("What will be done"), widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Owner"))
    due_date = dates.DateField(label=_("Due date"), widget=DATE_WIDGET)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the action is reopened"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ImplementForm(forms.Form):
    effectiveness_check_date = dates.DateField(
        label=_("Effectiveness check date"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("When the effect will be checked. Empty: the date already set, or the default period."),
    )
    reason = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class VerifyForm(forms.Form):
    effective = forms.TypedChoiceField(
        label=_("Outcome"),
        choices=[("yes", _("Effective: the nonconformity has not recurred")), ("no", _("Not effective"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    evidence = forms.CharField(label=_("Verification evidence"), widget=forms.Textarea(attrs={"rows": 4}))
