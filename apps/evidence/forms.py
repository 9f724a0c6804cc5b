from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core import clauses, dates
from apps.core.personal_data import can_see_personal_data
from apps.customers.models import Customer, Product

MAX_MONTHS = 36


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last twelve months, this one included: a typical surveillance-audit period."""
    today = today or timezone.localdate()
    start = date(today.year, 1, 1) if today.month == 12 else date(today.year - 1, today.month + 1, 1)
    return start, today


class PeriodForm(forms.Form):
    start = dates.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = dates.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

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


class PackForm(PeriodForm):
    """What an auditor asks for: clauses, a period and, optionally, customers and products."""

    clauses = forms.MultipleChoiceField(label=_("Clauses"), widget=forms.CheckboxSelectMultiple)
    customers = forms.CharField(
        label=_("Customers (optional)"),
        required=False,
        help_text=_("Customer numbers as shown on each customer's page, separated by commas."),
    )
    products = forms.ModelMultipleChoiceField(
        label=_("Products and services (optional)"), queryset=Product.objects.order_by("name"), required=False
    )
    include_personal_data = forms.BooleanField(
        label=_("Include personal data"),
        required=False,
        help_text=_("Names, e-mail addresses and free text in clear. Otherwise they are masked."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = user.clause_scope or list(clauses.CLAUSES)
        self.fields["clauses"].choices = [
            (clause, f"{clause} {title}") for clause, title in clauses.CLAUSES.items() if clause in allowed
        ]
        if not can_see_personal_data(user):
            del self.fields["include_personal_data"]

    def clean_customers(self) -> list[int]:
        raw = [part.strip() for part in self.cleaned_data["customers"].split(",") if part.strip()]
        if not all(part.isdigit() for part in raw):
            raise forms.ValidationError(_("Enter customer numbers separated by commas."))
        ids = sorted({int(part) for part in raw})
        found = set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise forms.ValidationError(
                _("No customer has the number(s) %(numbers)s.") % {"numbers": ", ".join(missing)}
            )
        return ids
