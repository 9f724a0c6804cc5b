"""django-filter filters for dates typed into a query string: the range of apps.core.dates."""

from __future__ import annotations

import django_filters
from django_filters.fields import IsoDateTimeField as _IsoDateTimeField

from apps.core import dates


class IsoDateTimeField(dates.BoundedField, _IsoDateTimeField):
    pass


class DateFilter(django_filters.DateFilter):
    field_class = dates.DateField


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = IsoDateTimeField
