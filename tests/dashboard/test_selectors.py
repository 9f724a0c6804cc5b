"""The dashboard's figures on the small fixed data set, computed by hand (see conftest.build_data)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.dashboard import selectors
from apps.dashboard.selectors import Period, Selection

pytestmark = pytest.mark.django_db


def _dashboard(user, **kwargs):
    return selectors.quality_dashboard(user=user, selection=Selection(period=Period.ending_this_month(12), **kwargs))


def test_complaints_by_month_pareto_and_control_chart(quality_manager, build_data):
    data = build_data()
    page = _dashboard(quality_manager)

    this_month = page["complaint_months"][-1]
    assert (this_month["received"], this_month["closed"]) == (4, 1)
    assert [row["received"] for row in page["complaint_months"][:-1]] == [0] * 11
    # Delivery 3 of 4 = 75 %, Quality 1 of 4 = 25 % (cumulative 100 %).
    assert [(row["label"], row["count"], row["cumulative_pct"]) for row in page["pareto_rows"]] == [
        ("Delivery", 3, Decimal("75.0")),
        ("Quality", 1, Decimal("100.0")),
    ]
    assert f"category={data.delivery.pk}" in page["pareto_rows"][0]["url"]
    # u-chart: the complaints start this month, so the eleven months before are not drawn, and
    # the running month is partial: no centre line or limits, so no signal (#24). Its exposure
    # is the elapsed share of the month, so 4 complaints over 2 customers are at least 200.
    assert page["control_signals"] == []
    assert [row[0] for row in page["control_chart"].rows] == [this_month["label"]]
    assert page["control_chart"].rows[-1][-1] == "partial month"
    assert Decimal(page["control_chart"].rows[-1][1]) >= Decimal("200.00")


def test_product_and_segment_filters_reach_every_figure(quality_manager, build_data):
    data = build_data()
    valve = _dashboard(quality_manager, product_id=data.valve.pk)
    enterprise = _dashboard(quality_manager, segment="Enterprise")

    assert [row["label"] for row in valve["pareto_rows"]] == ["Quality"]
    assert valve["complaint_months"][-1]["received"] == 1
    assert {tile.key: tile.value for tile in valve["count_tiles"]}["open_complaints"] == 1
    assert enterprise["complaint_months"][-1]["received"] == 3
    sla = {tile.key: tile for tile in enterprise["count_tiles"]}["sla_compliance"]
    assert [link["value"] for link in sla.extra_links] == [1, 1]


def test_survey_tiles_say_no_data_without_answers(quality_manager, build_data):
    build_data()
    page = _dashboard(quality_manager)
    nps, csat = page["survey_tiles"]
    assert (nps.value, nps.delta, csat.value, csat.delta) == (None, None, None, None)
    assert not nps.has_data
    assert page["survey_chart"].rows[-1][1:] == ["no data", "no data"]


def test_plain_number_drops_storage_padding():
    assert selectors.plain_number(Decimal("6.5000")) == "6.5"
    assert selectors.plain_number(Decimal("50.00")) == "50"
    assert selectors.plain_number(None) is None
