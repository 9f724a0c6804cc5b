"""Filters of the complaint list page."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy

from apps.accounts.models import User
from apps.complaints.models import Complaint, ComplaintCategory, Severity
from apps.customers.models import Product

Status = Complaint.Status


class ComplaintFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Reference"), method="search")
    status = django_filters.ChoiceFilter(label=gettext_lazy("Status"), choices=Status.choices)
    severity = django_filters.ChoiceFilter(label=gettext_lazy("Severity"), choices=Severity.choices)
    category = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Category"), queryset=ComplaintCategory.objects.all()
    )
    product = django_filters.ModelChoiceFilter(label=gettext_lazy("Product"), queryset=Product.objects.all())
    assignee = django_filters.ModelChoiceFilter(label=gettext_lazy("Assignee"), queryset=User.objects.all())
    overdue = django_filters.BooleanFilter(label=gettext_lazy("Overdue"), method="filter_overdue")

    class Meta:
        model = Complaint
        fields: list[str] = []

    def search(self, queryset, name, value):
        return queryset.filter(reference__icontains=value.strip()) if value.strip() else queryset

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Complaint.objects.overdue().values("pk")
        return queryset.filter(pk__in=overdue) if value else queryset.exclude(pk__in=overdue)
