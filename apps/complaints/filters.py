"""Filters of the complaint list page and API.

The dashboard links each of its complaint figures here with the same parameters
(open, overdue, within_sla, segment, received/closed date ranges), and each one filters
with the same QuerySet method as the figure, so a number and its list always agree.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field

from apps.accounts.models import User
from apps.complaints.models import Channel, Complaint, ComplaintCategory, Severity
from apps.core import filters
from apps.customers.models import Customer, Product

Status = Complaint.Status
UNCATEGORISED = "none"
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class LocalDayFilter(filters.DateFilter):
    """A local date bound on a timestamp column, as a range on the column itself so the
    index on it stays usable (`received_at >= local midnight`, inclusive both ends)."""

    def __init__(self, *args, bound: str, **kwargs):
        self.bound = bound
        kwargs.setdefault("widget", DATE)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if self.bound == "from":
            return qs.filter(**{f"{self.field_name}__gte": local_midnight(value)})
        return qs.filter(**{f"{self.field_name}__lt": local_midnight(value + datetime.timedelta(days=1))})


@extend_schema_field({"type": "string", "description": 'A category id, or "none" for complaints without one.'})
class CategoryFilter(django_filters.ModelChoiceFilter):
    """A category id, or `none` for the complaints without a category (ids are documented as strings)."""


class ComplaintFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Reference"), method="search")
    status = django_filters.ChoiceFilter(label=gettext_lazy("Status"), choices=Status.choices)
    severity = django_filters.ChoiceFilter(label=gettext_lazy("Severity"), choices=Severity.choices)
    channel = django_filters.ChoiceFilter(label=gettext_lazy("Channel"), choices=Channel.choices)
    # `category=none` lists the complaints without a category (the dashboard's "Uncategorised" bar).
    category = CategoryFilter(
        label=gettext_lazy("Category"),
        queryset=ComplaintCategory.objects.all(),
        null_label=gettext_lazy("Uncategorised"),
        null_value=UNCATEGORISED,
    )
    product = django_filters.ModelChoiceFilter(label=gettext_lazy("Product"), queryset=Product.objects.all())
    segment = django_filters.CharFilter(
        label=gettext_lazy("Customer segment"), field_name="customer__segment", lookup_expr="exact"
    )
    # The customer page's "See all" link; hidden, the filter form keeps it without a select of every customer.
    customer = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Customer"), queryset=Customer.objects.all(), widget=forms.HiddenInput
    )
    assignee = django_filters.ModelChoiceFilter(label=gettext_lazy("Assignee"), queryset=User.objects.all())
    open = django_filters.BooleanFilter(label=gettext_lazy("Open"), method="filter_open")
    overdue = django_filters.BooleanFilter(label=gettext_lazy("Overdue"), method="filter_overdue")
    within_sla = django_filters.BooleanFilter(label=gettext_lazy("Closed within SLA"), method="filter_within_sla")
    received_from = LocalDayFilter(label=gettext_lazy("Received from"), field_name="received_at", bound="from")
    received_to = LocalDayFilter(label=gettext_lazy("Received until"), field_name="received_at", bound="to")
    closed_from = LocalDayFilter(label=gettext_lazy("Closed from"), field_name="closed_at", bound="from")
    closed_to = LocalDayFilter(label=gettext_lazy("Closed until"), field_name="closed_at", bound="to")

    class Meta:
        model = Complaint
        fields: list[str] = []

    def search(self, queryset, name, value):
        return queryset.filter(reference__icontains=value.strip()) if value.strip() else queryset

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.open() if value else queryset.filter(status__in=Complaint.FINAL_STATUSES)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.overdue()
        return queryset.exclude(pk__in=Complaint.objects.overdue().values("pk"))

    def filter_within_sla(self, queryset, name, value):
        """true: closed and met the SLA; false: closed and missed it (open ones are neither)."""
        if value is None:
            return queryset
        if value:
            return queryset.closed_within_sla()
        met = Complaint.objects.closed_within_sla().values("pk")
        return queryset.filter(status=Status.CLOSED).exclude(pk__in=met)
