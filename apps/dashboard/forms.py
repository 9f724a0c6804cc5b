"""The dashboard's GET filters: period, product, segment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.customers.models import Product
from apps.customers.selectors import customer_segments

# Short labels: the select sits in a narrow filter column ("Period: 12 months" reads as the last 12).
PERIOD_CHOICES = [("3", _("3 months")), ("6", _("6 months")), ("12", _("12 months"))]
DEFAULT_MONTHS = 12


class DashboardFilterForm(forms.Form):
    """Bound to request.GET. An invalid form shows its errors and the page falls back to the defaults."""

    period = forms.TypedChoiceField(
        label=_("Period"),
        choices=PERIOD_CHOICES,
        coerce=int,
        required=False,
        empty_value=DEFAULT_MONTHS,
        initial=str(DEFAULT_MONTHS),
    )
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.order_by("name", "id"), required=False, empty_label=_("All")
    )
    segment = forms.ChoiceField(label=_("Segment"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", _("All")), *((segment, segment) for segment in customer_segments())]

    def values(self) -> tuple[int, Product | None, str]:
        """(months, product, segment) to compute with: the defaults unless the form is valid."""
        if not self.is_bound or not self.is_valid():
            return DEFAULT_MONTHS, None, ""
        return (
            self.cleaned_data.get("period") or DEFAULT_MONTHS,
            self.cleaned_data.get("product"),
            self.cleaned_data.get("segment") or "",
        )
