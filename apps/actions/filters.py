import django_filters
from django.utils.translation import gettext_lazy as _

from apps.actions.models import CorrectiveAction
from apps.actions.selectors import owner_candidates

ALL = _("All")


class ActionFilter(django_filters.FilterSet):
    """Filters shared by the list page and the API."""

    q = django_filters.CharFilter(method="filter_search", label=_("Search"), help_text=_("Reference, title, source."))
    status = django_filters.ChoiceFilter(choices=CorrectiveAction.Status.choices, label=_("Status"), empty_label=ALL)
    owner = django_filters.ModelChoiceFilter(queryset=owner_candidates(), label=_("Owner"), empty_label=ALL)
    open = django_filters.BooleanFilter(method="filter_open", label=_("Open"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue plan items"))

    class Meta:
        model = CorrectiveAction
        fields = ["q", "status", "owner", "open", "overdue"]

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.open() if value else queryset.filter(status=CorrectiveAction.Status.VERIFIED_EFFECTIVE)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = queryset.overdue().filter(status__in=CorrectiveAction.PLANNING_STATUSES)
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))
