import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_filters.fields import ModelChoiceField

from apps.accounts.models import User
from apps.customers.models import Customer, Product
from apps.customers.selectors import customer_countries, customer_segments


class StableOrderingFilter(django_filters.OrderingFilter):
    """Ordering with the id as last key, so pages never repeat or skip rows with equal values."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value:
            qs = qs.order_by(*qs.query.order_by, "id")
        return qs


class OwnerChoiceField(ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.display_name


class OwnerChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = OwnerChoiceField


def _segment_choices() -> list[tuple[str, str]]:
    return [(segment, segment) for segment in customer_segments()]


def _country_choices() -> list[tuple[str, str]]:
    return [(code, countries.name(code) or code) for code in customer_countries()]


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Name contains"))
    status = django_filters.ChoiceFilter(choices=Customer.Status.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices, label=_("Type"))
    segment = django_filters.ChoiceFilter(choices=_segment_choices, label=_("Segment"))
    country = django_filters.ChoiceFilter(choices=_country_choices, label=_("Country"))
    account_owner = OwnerChoiceFilter(
        queryset=User.objects.filter(owned_customers__isnull=False).distinct().order_by("full_name", "id"),
        label=_("Account owner"),
    )
    sort = StableOrderingFilter(
        fields=(("name", "name"), ("segment", "segment"), ("country", "country"), ("created_at", "created")),
        field_labels={"name": _("Name"), "segment": _("Segment"), "country": _("Country"), "created_at": _("Created")},
        label=_("Sort by"),
    )

    class Meta:
        model = Customer
        fields = ["q", "status", "kind", "segment", "country", "account_owner"]


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Name or code contains"))
    kind = django_filters.ChoiceFilter(choices=Product.Kind.choices, label=_("Kind"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Product
        fields = ["q", "kind", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))
