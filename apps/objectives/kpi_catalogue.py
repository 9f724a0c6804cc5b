"""The objectives' view of the analytics KPI catalogue (apps.analytics.kpis).

Kept in one place so forms, services and pages agree on which filters a KPI supports.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

FILTER_FIELDS = {
    "product": "filter_product",
    "segment": "filter_segment",
    "category": "filter_category",
    "channel": "filter_channel",
}


def definitions() -> dict:
    from apps.analytics import kpis

    return kpis.DEFINITIONS


def definition(key: str):
    return definitions().get(key)


def choices() -> list[tuple[str, str]]:
    return [(key, str(item.label)) for key, item in definitions().items()]


def supported_filters(key: str) -> frozenset[str]:
    item = definition(key)
    return frozenset(item.filters) if item else frozenset()


# The KPIs whose channel filter reads feedback; every other KPI filtered by channel counts
# complaints. The two sources name their channels differently ("web" and "web_form" are both
# "Web form"), so a channel only means something for the KPI's own source.
FEEDBACK_KPIS = frozenset({"negative_feedback_share"})


def _sources() -> list[tuple[str, type]]:
    from django.utils.translation import gettext_lazy as _

    from apps.complaints.models import Channel
    from apps.feedback.models import FeedbackChannel

    return [(_("Complaints"), Channel), (_("Feedback"), FeedbackChannel)]


def channel_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The channels by source, for a select with one group per source."""
    return [(label, list(choices.choices)) for label, choices in _sources()]


def channels_for(kpi: str) -> dict[str, str]:
    """The channels the KPI's source records, value to label."""
    complaints, feedback = (choices for _label, choices in _sources())
    return dict((feedback if kpi in FEEDBACK_KPIS else complaints).choices)


def channel_fits(kpi: str, channel: str) -> bool:
    return channel in channels_for(kpi)


def segments() -> list[str]:
    """The customer segments in use: a segment filter naming none of them could never match."""
    from apps.customers.models import Customer

    return list(Customer.objects.exclude(segment="").order_by("segment").values_list("segment", flat=True).distinct())


def check_filter_values(objective) -> None:
    """The channel must be one the KPI's source records and the segment one the customers use."""
    from django.utils.translation import gettext as _

    from apps.core.exceptions import BusinessRuleViolation

    if objective.filter_channel and not channel_fits(objective.kpi, objective.filter_channel):
        raise BusinessRuleViolation(_("Unknown channel: %(value)s.") % {"value": objective.filter_channel})
    if objective.filter_segment and objective.filter_segment not in segments():
        raise BusinessRuleViolation(_("No customer has the segment %(value)s.") % {"value": objective.filter_segment})


def compute(objective, *, start: date, end: date) -> Decimal | None:
    """The objective's KPI over [start, end] (both days included), None when there is no data."""
    from apps.analytics import kpis
    from apps.analytics.selectors import Filters

    supported = supported_filters(objective.kpi)
    filters = Filters(
        product_id=objective.filter_product_id if "product" in supported else None,
        segment=(objective.filter_segment or None) if "segment" in supported else None,
        category_id=objective.filter_category_id if "category" in supported else None,
        channel=(objective.filter_channel or None) if "channel" in supported else None,
    )
    # analytics periods are half-open [start, end)
    return kpis.compute(objective.kpi, start=start, end=end + timedelta(days=1), filters=filters)
