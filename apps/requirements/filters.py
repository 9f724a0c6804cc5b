import django_filters
from django.utils.translation import gettext_lazy as _

from apps.customers.models import Customer, Product
from apps.requirements.models import CustomerRequirement, RequirementPriority, RequirementType
from apps.requirements.selectors import owner_candidates

GENERAL_LABEL = _("General (all customers / market)")
ALL = _("All")


class RequirementFilter(django_filters.FilterSet):
    """Filters shared by the list page and the API."""

    q = django_filters.CharFilter(method="filter_search", label=_("Search"), help_text=_("Title or description."))
    customer = django_filters.ModelChoiceFilter(
        queryset=Customer.objects.order_by("name", "id"), label=_("Customer"), null_label=GENERAL_LABEL, empty_label=ALL
    )
    product = django_filters.ModelChoiceFilter(
        queryset=Product.objects.order_by("name", "id"), label=_("Product"), empty_label=ALL
    )
    segment = django_filters.CharFilter(
        field_name="customer__segment", lookup_expr="exact", label=_("Customer segment")
    )
    type = django_filters.ChoiceFilter(choices=RequirementType.choices, label=_("Type"), empty_label=ALL)
    status = django_filters.ChoiceFilter(choices=CustomerRequirement.Status.choices, label=_("Status"), empty_label=ALL)
    priority = django_filters.ChoiceFilter(choices=RequirementPriority.choices, label=_("Priority"), empty_label=ALL)
    owner = django_filters.ModelChoiceFilter(queryset=owner_candidates(), label=_("Owner"), empty_label=ALL)

    class Meta:
        model = CustomerRequirement
        fields = ["q", "customer", "product", "segment", "type", "status", "priority", "owner"]

    def filter_search(self, queryset, name, value):
        return queryset.search(value)


class RequirementListFilter(RequirementFilter):
    """The list page's filters plus sorting (the API sorts with DRF's `ordering`)."""

    sort = django_filters.OrderingFilter(
        fields=(
            ("created_at", "created"),
            ("title", "title"),
            ("priority_rank", "priority"),
            ("target_date", "target_date"),
            ("status", "status"),
            ("updated_at", "updated"),
        ),
        field_labels={
            "created_at": _("Created"),
            "title": _("Title"),
            "priority_rank": _("Priority"),
            "target_date": _("Target date"),
            "status": _("Status"),
            "updated_at": _("Last change"),
        },
        label=_("Sort by"),
        empty_label=_("Newest first"),
    )

    class Meta(RequirementFilter.Meta):
        fields = [*RequirementFilter.Meta.fields, "sort"]
