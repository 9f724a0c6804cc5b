"""Dashboard selectors against hand-computed figures on the fixed data set (conftest.dataset).

Months are local: c2/a2/f2 at 23:30 on 31 January belong to January, c3/a3/f3 at 00:30 on
1 February to February, although both instants are 31 January in UTC.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.analytics import selectors
from apps.analytics.selectors import ComplaintMonth, Filters, Scores

JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
D = Decimal
# The same records as JAN-APR, but not whole months: read from the daily roll-ups, where the
# whole months read the monthly ones (without a channel filter).
QUARTER_BY_DAYS = (date(2025, 12, 31), date(2026, 4, 2))


# --- surveys -----------------------------------------------------------------------------------


def test_survey_scores_over_the_quarter(dataset, django_assert_num_queries):
    # NPS 10 9 6 8 3: 2 promoters, 2 detractors of 5 -> 0; CSAT 5 4 2 3 5: 3 of 5 -> 60 %;
    # CES 6 7 3 5: 21 / 4 = 5.25
    with django_assert_num_queries(1):
        scores = selectors.survey_scores(start=JAN, end=APR)
    assert scores == Scores(nps=D("0.0"), nps_n=5, csat_pct=D("60.0"), csat_n=5, ces_mean=D("5.25"), ces_n=4)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # a1 a3 a5: NPS 10 6 3 -> (1 - 2) / 3 = -33.3; CSAT 5 2 5 -> 66.7; CES 6 3 5 -> 4.67
        (lambda d: Filters(product_id=d.pumps.pk), Scores(D("-33.3"), 3, D("66.7"), 3, D("4.67"), 3)),
        # a1 a2 a5: NPS 10 9 3 -> 33.3; CSAT all satisfied; CES 6 7 5 -> 6
        (lambda d: Filters(segment="Enterprise"), Scores(D("33.3"), 3, D("100.0"), 3, D("6.00"), 3)),
        # a3 a4: NPS 6 8 -> -50; CSAT 2 3 -> 0 %; CES 3 (one answer)
        (lambda d: Filters(segment="SMB"), Scores(D("-50.0"), 2, D("0.0"), 2, D("3.00"), 1)),
        # a3 only; category and channel do not apply to surveys
        (
            lambda d: Filters(product_id=d.pumps.pk, segment="SMB", category_id=d.late.pk, channel="web"),
            Scores(D("-100.0"), 1, D("0.0"), 1, D("3.00"), 1),
        ),
        (lambda d: Filters(segment="Government"), Scores(None, 0, None, 0, None, 0)),
    ],
)
def test_survey_scores_filtered(dataset, filters, expected):
    assert selectors.survey_scores(start=JAN, end=APR, filters=filters(dataset)) == expected


def test_survey_scores_of_an_empty_period_are_none(dataset):
    assert selectors.survey_scores(start=date(2025, 1, 1), end=date(2025, 12, 1)) == Scores(None, 0, None, 0, None, 0)


def test_survey_scores_by_local_month_with_empty_months(dataset, django_assert_num_queries):
    with django_assert_num_queries(1):
        months = selectors.survey_scores_by_month(start=date(2025, 12, 1), end=APR)
    assert months == [
        (date(2025, 12, 1), Scores(None, 0, None, 0, None, 0)),
        # a1, a2 (23:30 on 31 January): two promoters, both satisfied, CES 6 7
        (JAN, Scores(D("100.0"), 2, D("100.0"), 2, D("6.50"), 2)),
        # a3 (00:30 on 1 February), a4: a detractor and a passive
        (FEB, Scores(D("-50.0"), 2, D("0.0"), 2, D("3.00"), 1)),
        (MAR, Scores(D("-100.0"), 1, D("100.0"), 1, D("5.00"), 1)),
    ]


def test_a_partial_month_counts_only_its_days_in_the_period(dataset):
    months = selectors.survey_scores_by_month(start=date(2026, 1, 20), end=date(2026, 2, 5))
    assert [(month, scores.nps_n) for month, scores in months] == [(JAN, 1), (FEB, 1)]


# --- complaints --------------------------------------------------------------------------------


def test_complaints_by_local_month(dataset, django_assert_num_queries):
    with django_assert_num_queries(1):
        months = selectors.complaints_by_month(start=JAN, end=date(2026, 5, 1))
    assert months == [
        ComplaintMonth(JAN, received=2, closed=1, closed_within_sla=1),  # c1 c2; c1 closed
        ComplaintMonth(FEB, received=3, closed=1, closed_within_sla=1),  # c3 c4 c5; c4 closed
        ComplaintMonth(MAR, received=1, closed=2, closed_within_sla=1),  # c6; c3 (missed) and c6 closed
        ComplaintMonth(APR, received=0, closed=0, closed_within_sla=0),
    ]


def test_complaints_by_month_over_partial_months_reads_the_days(dataset, django_assert_num_queries):
    with django_assert_num_queries(1):
        months = selectors.complaints_by_month(start=date(2026, 1, 11), end=date(2026, 3, 6))
    assert months == [
        ComplaintMonth(JAN, received=1, closed=1, closed_within_sla=1),  # c2 from the 11th; c1 closed the 20th
        ComplaintMonth(FEB, received=3, closed=1, closed_within_sla=1),
        ComplaintMonth(MAR, received=1, closed=1, closed_within_sla=0),  # c6 the 5th; c3 (missed) closed the 3rd
    ]


def test_complaints_by_month_filtered(dataset):
    def received(**filters):
        return [m.received for m in selectors.complaints_by_month(start=JAN, end=APR, filters=Filters(**filters))]

    assert received(product_id=dataset.pumps.pk) == [2, 1, 0]
    assert received(segment="SMB") == [1, 0, 1]
    assert received(segment="") == [0, 1, 0]  # c4 has no customer
    assert received(category_id=dataset.damaged.pk) == [1, 2, 0]
    assert received(channel="web") == [1, 2, 1]
    assert received(product_id=dataset.valves.pk, segment="Enterprise", channel="web") == [0, 1, 0]


@pytest.mark.parametrize("period", [(JAN, APR), QUARTER_BY_DAYS])
def test_complaint_pareto(dataset, period, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = selectors.complaint_pareto(start=period[0], end=period[1])
    assert [(r.category_id, r.label, r.count, r.share_pct, r.cumulative_pct) for r in rows] == [
        (dataset.damaged.pk, "Damaged delivery", 3, D("50.0"), D("50.0")),
        (dataset.late.pk, "Late delivery", 1, D("16.7"), D("66.7")),
        (None, "Uncategorised", 1, D("16.7"), D("83.3")),
        (dataset.wrong.pk, "Wrong item", 1, D("16.7"), D("100.0")),
    ]


def test_complaint_pareto_filtered_ignores_the_category_filter(dataset):
    rows = selectors.complaint_pareto(
        start=JAN, end=APR, filters=Filters(segment="Enterprise", category_id=dataset.wrong.pk)
    )
    assert [(r.label, r.count, r.share_pct, r.cumulative_pct) for r in rows] == [
        ("Damaged delivery", 3, D("100.0"), D("100.0"))
    ]
    assert selectors.complaint_pareto(start=date(2025, 1, 1), end=date(2025, 2, 1)) == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, (4, 3, D("75.0"))),
        ({"product_id": "pumps"}, (1, 1, D("100.0"))),
        ({"segment": "Enterprise"}, (2, 1, D("50.0"))),  # c1 within, c3 missed
        ({"channel": "web"}, (3, 2, D("66.7"))),
        ({"category_id": "damaged"}, (2, 1, D("50.0"))),
        ({"segment": "Government"}, (0, 0, None)),
    ],
)
@pytest.mark.parametrize("period", [(JAN, APR), QUARTER_BY_DAYS])
def test_sla_compliance_of_complaints_closed_in_the_period(
    dataset, filters, expected, period, django_assert_num_queries
):
    filters = {k: getattr(dataset, v).pk if v in ("pumps", "damaged") else v for k, v in filters.items()}
    with django_assert_num_queries(1):
        result = selectors.sla_compliance(start=period[0], end=period[1], filters=Filters(**filters))
    assert (result.closed, result.within_sla, result.pct) == expected


def test_sla_compliance_of_an_empty_period(dataset):
    assert selectors.sla_compliance(start=APR, end=date(2026, 5, 1)) == selectors.SlaCompliance(0, 0, None)


def test_control_chart_over_two_active_customers(dataset, django_assert_num_queries):
    # exposure 2 customers: n_i = 0.02; rates 2/0.02 = 100, 150, 50; centre 6 / 0.06 = 100;
    # sigma sqrt(100 / 0.02) = 70.71: UCL 312.13, LCL max(0, -112.13) = 0. The first reading
    # records the closed months' exposure (count, insert, read back); later ones read it.
    with django_assert_num_queries(6):
        points = selectors.complaint_control_chart(start=JAN, end=APR)
    with django_assert_num_queries(3):
        assert selectors.complaint_control_chart(start=JAN, end=APR) == points
    assert [(p.month, p.count, p.exposure, p.rate) for p in points] == [
        (JAN, 2, 2, D("100.00")),
        (FEB, 3, 2, D("150.00")),
        (MAR, 1, 2, D("50.00")),
    ]
    assert {(p.centre, p.ucl, p.lcl, p.out_of_control) for p in points} == {
        (D("100.00"), D("312.13"), D("0.00"), False)
    }
    # ending on 31 March (the daily roll-ups) leaves out no complaint: the same chart
    assert selectors.complaint_control_chart(start=JAN, end=date(2026, 3, 31)) == points


def test_control_chart_without_customers_has_no_rates(dataset):
    points = selectors.complaint_control_chart(start=JAN, end=MAR, filters=Filters(segment="Government"))
    assert [(p.count, p.exposure, p.rate, p.centre, p.ucl, p.lcl, p.out_of_control) for p in points] == [
        (0, 0, None, None, None, None, False),
        (0, 0, None, None, None, None, False),
    ]


def test_control_chart_flags_a_month_above_its_upper_limit(db, quality_manager):
    from apps.analytics import services
    from apps.customers.models import Customer
    from tests.analytics.conftest import complaint, local

    retail = Customer.objects.bulk_create(Customer(name=f"C{i}", segment="Retail") for i in range(400))
    Customer.objects.bulk_create(Customer(name=f"I{i}", segment="Retail", status="inactive") for i in range(50))
    # the record of complaints starts in January (one without a customer), so Retail's empty
    # January and February are zeros, not months before the data
    complaint(quality_manager, local(2026, 1, 5))
    for hour in range(8):
        complaint(quality_manager, local(2026, 3, 10, 8 + hour), customer=retail[hour])
    services.refresh()
    # exposure: the 400 active customers, n_i = 4; counts 0 0 8: centre 8 / 12 = 0.667,
    # sigma sqrt(0.667 / 4) = 0.408, UCL 0.667 + 1.225 = 1.891 < March's 8 / 4 = 2.0; LCL 0
    points = selectors.complaint_control_chart(start=JAN, end=APR, filters=Filters(segment="Retail"))
    assert [(p.count, p.exposure, p.rate, p.out_of_control) for p in points] == [
        (0, 400, D("0.00"), False),
        (0, 400, D("0.00"), False),
        (8, 400, D("2.00"), True),
    ]
    assert (points[0].centre, points[0].ucl, points[0].lcl) == (D("0.67"), D("1.89"), D("0.00"))
    # another segment: no complaints, so a centre line of 0 and nothing out of control
    assert {
        (p.rate, p.ucl, p.out_of_control)
        for p in selectors.complaint_control_chart(start=JAN, end=APR, filters=Filters(segment=""))
    } == {(None, None, False)}


# --- feedback ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "filters", "expected"),
    [
        ((JAN, APR), {}, (1, 1, 2, 1, D("40.0"))),
        (QUARTER_BY_DAYS, {}, (1, 1, 2, 1, D("40.0"))),
        ((JAN, FEB), {}, (1, 0, 1, 0, D("50.0"))),  # f1, f2 (23:30 on 31 January)
        ((date(2026, 1, 6), FEB), {}, (0, 0, 1, 0, D("100.0"))),  # after f1 (5 January)
        ((date(2026, 1, 31), date(2026, 2, 2)), {}, (0, 1, 1, 0, D("50.0"))),  # f2, f3 either side of midnight
        ((FEB, MAR), {}, (0, 1, 0, 1, D("0.0"))),  # f3 (00:30 on 1 February), f4
        ((JAN, APR), {"channel": "email"}, (1, 1, 1, 0, D("33.3"))),
        ((JAN, APR), {"segment": "Enterprise"}, (1, 0, 1, 1, D("33.3"))),
        ((JAN, APR), {"segment": ""}, (0, 1, 0, 0, D("0.0"))),
        ((JAN, APR), {"product": "valves"}, (0, 1, 1, 0, D("50.0"))),
        ((JAN, APR), {"category_id": 999}, (1, 1, 2, 1, D("40.0"))),  # not a feedback filter
        ((APR, date(2026, 5, 1)), {}, (0, 0, 0, 0, None)),
    ],
)
def test_feedback_sentiment(dataset, period, filters, expected, django_assert_num_queries):
    if "product" in filters:
        filters = {"product_id": dataset.valves.pk}
    with django_assert_num_queries(1):
        result = selectors.feedback_sentiment(start=period[0], end=period[1], filters=Filters(**filters))
    assert (result["positive"], result["neutral"], result["negative"], result["unrated"], result["negative_pct"]) == (
        expected
    )


# --- current state -----------------------------------------------------------------------------


@pytest.fixture
def live(dataset, quality_manager, staff):
    """Adds two overdue actions and one that is not, requirements in review, triaged feedback."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.actions import services as actions
    from apps.feedback import services as feedback
    from apps.requirements.models import CustomerRequirement
    from tests.actions.factories import ActionFactory
    from tests.requirements.factories import RequirementFactory, advance

    today = timezone.localdate()
    for due in (today - timedelta(days=3), today - timedelta(days=1), today):
        action = ActionFactory(actor=quality_manager)
        actions.plan_item_add(
            action_id=action.pk, actor=quality_manager, description="Fix", owner=quality_manager, due_date=due
        )
    for customer, product in ((dataset.ent, dataset.pumps), (dataset.smb, None), (dataset.smb, dataset.pumps)):
        requirement = RequirementFactory(created_by=staff, customer=customer, product=product)
        advance(requirement, CustomerRequirement.Status.IN_REVIEW, author=staff, reviewer=quality_manager)
    RequirementFactory(created_by=staff, customer=dataset.ent)  # a draft
    feedback.feedback_triage(feedback_id=dataset.f5.pk, actor=quality_manager, category=None)
    return dataset


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # open: c2 (received), c5 (acknowledged); past SLA: c2 (acknowledge due 1 Feb 2026);
        # new feedback: f1-f4 and the follow-ups of the low NPS answers a3 (SMB) and a5 (E), both Pumps
        ({}, (2, 1, 2, 3, 6)),
        ({"product": True}, (2, 1, 2, 2, 4)),
        ({"segment": "SMB"}, (1, 1, 2, 2, 2)),
        ({"segment": ""}, (0, 0, 2, 0, 1)),
        ({"channel": "web"}, (1, 0, 2, 3, 0)),
        ({"channel": "email"}, (1, 1, 2, 3, 2)),
        ({"category": True}, (1, 1, 2, 3, 6)),
    ],
)
def test_live_counts(live, filters, expected, django_assert_num_queries):
    kwargs = {}
    if filters.pop("product", False):
        kwargs["product_id"] = live.pumps.pk
    if filters.pop("category", False):
        kwargs["category_id"] = live.late.pk
    kwargs.update(filters)
    with django_assert_num_queries(4):
        counts = selectors.live_counts(filters=Filters(**kwargs))
    assert (
        counts.open_complaints,
        counts.complaints_past_sla,
        counts.overdue_actions,
        counts.requirements_awaiting_review,
        counts.feedback_awaiting_triage,
    ) == expected


def test_refreshed_at(db, django_assert_num_queries):
    from django.utils import timezone

    from apps.analytics import services

    with django_assert_num_queries(1):
        assert selectors.refreshed_at() is None
    before = timezone.now()
    services.refresh()
    assert selectors.refreshed_at() >= before
    services.rebuild()
    assert selectors.refreshed_at() >= before
