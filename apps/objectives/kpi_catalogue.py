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


def channel_choices() -> list[tuple[str, str]]:
    """Complaint and feedback channels, each value once (the analytics channel filter takes either)."""
    from apps.complaints.models import Channel
    from apps.feedback.models import FeedbackChannel

    seen: dict[str, str] = {}
    for value, label in [*Channel.choices, *FeedbackChannel.choices]:
        seen.setdefault(value, label)
    return list(seen.items())


def segments() -> list[str]:
    """The customer segments in use: a segment filter naming none of them could never match."""
    from apps.customers.models import Customer

    return list(Customer.objects.exclude(segment="").order_by("segment").values_list("segment", flat=True).distinct())


def check_filter_values(objective) -> None:
    """The channel must be a known one and the segment one the customers use."""
    from django.utils.translation import gettext as _

    from apps.core.exceptions import BusinessRuleViolation

    if objective.filter_channel and objective.filter_channel not in dict(channel_choices()):
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
