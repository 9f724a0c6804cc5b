"""The complaint u-chart's exposure (#24): each month is divided by its own active customers,
recorded when the month closed, never by today's count; months before the first complaint are
left out, and the running month is marked partial and kept out of the centre line and limits.

Months are relative to today (the running month and the two before it), since "closed" and
"running" are what the chart decides from the clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.analytics import selectors, services
from apps.analytics.models import MonthlyExposure
from apps.analytics.selectors import Filters
from apps.customers.models import Customer
from tests.analytics.conftest import complaint, local

D = Decimal


def _months() -> tuple[date, date, date, date]:
    """(two months ago, last month, the running month, next month): first days, local."""
    running = timezone.localdate().replace(day=1)
    last = (running - timedelta(days=1)).replace(day=1)
    before = (last - timedelta(days=1)).replace(day=1)
    return before, last, running, services.next_month(running)


def _customers(n: int, segment: str = "Retail", status: str = "active") -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(name=f"{segment}{i}", segment=segment, status=status) for i in range(n)
    )


def _complaints(qm, month: date, n: int, day: int = 2) -> None:
    for hour in range(n):
        complaint(qm, local(month.year, month.month, day, 8 + hour))
    services.refresh()


@pytest.fixture
def history(db, quality_manager):
    """Three active customers; 2 complaints two months ago, 3 last month, 1 this month (on the 1st)."""
    before, last, running, _next = _months()
    _customers(3)
    _complaints(quality_manager, before, 2)
    _complaints(quality_manager, last, 3)
    _complaints(quality_manager, running, 1, day=1)
    return before, last, running


def test_adding_customers_today_does_not_rewrite_a_closed_month(history):
    before, last, running = history
    # last month: 3 complaints over 3 customers -> 100 per 100 customers
    first = selectors.complaint_control_chart(start=before, end=running)
    assert [(p.month, p.exposure, p.rate) for p in first] == [(before, 3, D("66.67")), (last, 3, D("100.00"))]
    _customers(2, segment="Wholesale")
    again = selectors.complaint_control_chart(start=before, end=running)
    assert [(p.month, p.exposure, p.rate) for p in again] == [(before, 3, D("66.67")), (last, 3, D("100.00"))]
    assert again == first


def test_each_closed_month_keeps_its_own_exposure(history, quality_manager):
    before, _last, running = history
    # two months ago was recorded at 5 customers when it closed; last month is read now, at 3
    MonthlyExposure.objects.create(
        month=before, active_customers=5, by_segment={"Retail": 4, "": 1}, recorded_at=timezone.now()
    )
    points = selectors.complaint_control_chart(start=before, end=running)
    # 2 / 0.05 = 40, 3 / 0.03 = 100; centre 5 / 0.08 = 62.5; limits 62.5 ± 3·sqrt(62.5 / n_i)
    assert [(p.exposure, p.rate, p.centre, p.ucl) for p in points] == [
        (5, D("40.00"), D("62.50"), D("168.57")),
        (3, D("100.00"), D("62.50"), D("199.43")),
    ]
    retail = selectors.complaint_control_chart(start=before, end=running, filters=Filters(segment="Retail"))
    assert [p.exposure for p in retail] == [4, 3]


def test_months_before_the_first_complaint_are_left_out(history):
    before, last, running = history
    earlier = date(before.year - 1, before.month, 1)
    points = selectors.complaint_control_chart(start=earlier, end=running)
    assert [p.month for p in points] == [before, last]


def test_no_complaint_at_all_is_an_empty_chart(db):
    _customers(3)
    before, _last, running, _next = _months()
    assert selectors.complaint_control_chart(start=before, end=running) == []


def test_the_running_month_is_partial_and_outside_the_limits(history, quality_manager):
    before, last, running = history
    closed_only = selectors.complaint_control_chart(start=before, end=running)
    _next = services.next_month(running)
    points = selectors.complaint_control_chart(start=before, end=services.next_month(_next))
    # months after the running one are not drawn at all
    assert [(p.month, p.partial) for p in points] == [(before, False), (last, False), (running, True)]
    assert points[:2] == closed_only
    partial = points[2]
    assert (partial.count, partial.exposure, partial.ucl, partial.lcl, partial.out_of_control) == (
        1,
        3,
        None,
        None,
        False,
    )
    assert partial.centre == closed_only[0].centre
    # its exposure is the elapsed share of the month: the rate is at least a full month's
    assert partial.rate >= D("33.33")
    # a burst this month moves neither the centre line nor the closed months' limits
    _complaints(quality_manager, running, 9, day=1)
    burst = selectors.complaint_control_chart(start=before, end=services.next_month(running))
    assert burst[:2] == closed_only
    assert burst[2].out_of_control is False


def test_query_count_once_the_months_are_recorded(history, django_assert_num_queries):
    before, _last, running = history
    selectors.complaint_control_chart(start=before, end=running)
    with django_assert_num_queries(3):
        selectors.complaint_control_chart(start=before, end=running)
    with django_assert_num_queries(4):
        selectors.complaint_control_chart(start=before, end=services.next_month(running))


def test_the_nightly_task_records_the_month_that_ended_once(db, settings):
    from apps.analytics.tasks import record_monthly_exposure_task

    _before, last, _running, _next = _months()
    _customers(4)
    _customers(2, status="inactive")
    assert record_monthly_exposure_task() == last.isoformat()
    row = MonthlyExposure.objects.get()
    assert (row.month, row.active_customers, row.by_segment) == (last, 4, {"Retail": 4})
    _customers(6, segment="Wholesale")
    record_monthly_exposure_task()
    assert MonthlyExposure.objects.get().active_customers == 4
    entry = settings.CELERY_BEAT_SCHEDULE["analytics.record_monthly_exposure"]
    assert entry["task"] == "analytics.record_monthly_exposure"
    assert entry["options"]["expires"] < 24 * 60 * 60


def test_the_running_month_has_no_recorded_exposure(db):
    _before, _last, running, _next = _months()
    with pytest.raises(ValueError, match="closed months"):
        services.monthly_exposure_record(months=[running])
