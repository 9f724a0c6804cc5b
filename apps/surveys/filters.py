"""Filters of the campaign list page."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from apps.surveys.models import Campaign


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices, label=_("Status"), empty_label=_("All"))

    class Meta:
        model = Campaign
        fields = ["status"]
