import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core import filters
from apps.customers.models import Customer, Product
from apps.feedback.models import Feedback, FeedbackCategory, FeedbackChannel, Sentiment
from apps.feedback.selectors import owner_candidates

ALL = _("All")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FeedbackFilter(django_filters.FilterSet):
    """Filters shared by the list page and the API."""

    q = django_filters.CharFilter(method="filter_search", label=_("Search"), help_text=_("Reference or customer."))
    status = django_filters.ChoiceFilter(choices=Feedback.Status.choices, label=_("Status"), empty_label=ALL)
    channel = django_filters.ChoiceFilter(choices=FeedbackChannel.choices, label=_("Channel"), empty_label=ALL)
    sentiment = django_filters.ChoiceFilter(choices=Sentiment.choices, label=_("Sentiment"), empty_label=ALL)
    category = django_filters.ModelChoiceFilter(
        queryset=FeedbackCategory.objects.order_by("name", "id"), label=_("Category"), empty_label=ALL
    )
    product = django_filters.ModelChoiceFilter(
        queryset=Product.objects.order_by("name", "id"), label=_("Product"), empty_label=ALL
    )
    owner = django_filters.ModelChoiceFilter(queryset=owner_candidates(), label=_("Owner"), empty_label=ALL)
    segment = django_filters.CharFilter(
        field_name="customer__segment", lookup_expr="exact", label=_("Customer segment")
    )
    # The customer page's "See all" link; hidden, the filter form keeps it without a select of every customer.
    customer = django_filters.ModelChoiceFilter(
        queryset=Customer.objects.all(), label=_("Customer"), widget=forms.HiddenInput
    )
    received_from = filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("Received from"), widget=DATE
    )
    received_to = filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Received until"), widget=DATE
    )

    class Meta:
        model = Feedback
        fields = [
            "q",
            "status",
            "channel",
            "sentiment",
            "category",
            "product",
            "segment",
            "customer",
            "owner",
            "received_from",
            "received_to",
        ]

    def filter_search(self, queryset, name, value):
        return queryset.search(value)
