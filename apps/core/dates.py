"""Calendar arithmetic shared by the apps that report by month, and the one range of days a
user may type.

Every date and timestamp a person enters (pages, API bodies, query-string filters) goes
through `DateField` / `DateTimeField` here or their API twins in `apps.core.api.fields`, so it
lies between EARLIEST and LATEST. The range is not about plausibility: it keeps the
arithmetic behind the inputs inside Python's calendar (years 1 to 9999). A review period
starting in December 9999 ends in year 10000, a filter "until 9999-12-31" asks for the day
after it, a retention cut-off subtracts days from year 1; each was a 500. 1900 to 2200
leaves centuries of room for such steps on both sides, and more than any quality record
needs (tests/security/test_date_bounds.py finds every input and tries years 1 and 9999).
"""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before, when negative) the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def out_of_range_message() -> str:
    return gettext("Enter a date between %(earliest)s and %(latest)s.") % {
        "earliest": EARLIEST.isoformat(),
        "latest": LATEST.isoformat(),
    }


def validate_in_range(value: date | datetime) -> None:
    """A validator for form and serializer fields; a timestamp counts by its own calendar day."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(out_of_range_message(), code="date_out_of_range")


def is_bounded(field) -> bool:
    """Whether a form or serializer field refuses days outside the range (for the tests that scan)."""
    return validate_in_range in field.validators


class BoundedField:
    """Mixin for Django form fields: the range as a validator, and as min/max for the browser's picker."""

    default_validators = [validate_in_range]

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        kind = getattr(widget, "input_type", "")
        if kind == "date":
            attrs.update(min=EARLIEST.isoformat(), max=LATEST.isoformat())
        elif kind == "datetime-local":
            attrs.update(min=f"{EARLIEST.isoformat()}T00:00", max=f"{LATEST.isoformat()}T23:59")
        return attrs


class DateField(BoundedField, forms.DateField):
    pass


class DateTimeField(BoundedField, forms.DateTimeField):
    pass
