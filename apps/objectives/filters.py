import django_filters
from django.utils.translation import gettext_lazy as _

from apps.actions.selectors import owner_candidates
from apps.objectives.models import ObjectiveStatus, Performance, QualityObjective

ALL = _("All")


class ObjectiveFilter(django_filters.FilterSet):
    """Filters shared by the list page and the API."""

    status = django_filters.ChoiceFilter(choices=ObjectiveStatus.choices, label=_("Status"), empty_label=ALL)
    performance = django_filters.ChoiceFilter(choices=Performance.choices, label=_("Performance"), empty_label=ALL)
    owner = django_filters.ModelChoiceFilter(queryset=owner_candidates(), label=_("Owner"), empty_label=ALL)

    class Meta:
        model = QualityObjective
        fields = ["status", "performance", "owner"]
