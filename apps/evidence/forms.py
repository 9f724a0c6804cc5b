from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_MONTHS = 36


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last twelve months, this one included: a typical surveillance-audit period."""
    today = today or timezone.localdate()
    start = date(today.year, 1, 1) if today.month == 12 else date(today.year - 1, today.month + 1, 1)
    return start, today


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period must end on or after its first day."))
            if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
                raise forms.ValidationError(
                    _("Choose at most %(months)s months.") % {"months": MAX_MONTHS}, code="too_long"
                )
        return cleaned

    def period(self) -> tuple[date, date]:
        """[start, end) of a valid form, or the default period."""
        start, end = (self.cleaned_data["start"], self.cleaned_data["end"]) if self.is_valid() else default_period()
        return start, end + timedelta(days=1)
