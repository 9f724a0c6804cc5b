"""The KPI catalogue against hand-computed values on the fixed data set (conftest.dataset)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.analytics import kpis
from apps.analytics.kpis import DEFINITIONS, Kpi, compute
from apps.analytics.selectors import Filters
from tests.analytics.conftest import local

JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
D = Decimal


def test_every_kpi_has_a_definition_and_a_computation():
    assert set(DEFINITIONS) == set(Kpi.values) == set(kpis.COMPUTE)
    for key, definition in DEFINITIONS.items():
        assert definition.key == key
        assert str(definition.label)
        assert str(definition.description)
        assert definition.filters <= {"product", "segment", "category", "channel"}


def test_unknown_kpi_is_a_key_error(db):
    with pytest.raises(KeyError):
        compute("bogus", start=JAN, end=APR)


# (kpi, filters as a function of the data set, expected over the quarter)
QUARTER = [
    (Kpi.NPS, lambda d: Filters(), D("0.0")),
    (Kpi.NPS, lambda d: Filters(product_id=d.pumps.pk), D("-33.3")),
    (Kpi.NPS, lambda d: Filters(segment="Enterprise", channel="phone"), D("33.3")),  # channel ignored
    (Kpi.CSAT, lambda d: Filters(), D("60.0")),
    (Kpi.CSAT, lambda d: Filters(segment="SMB"), D("0.0")),
    (Kpi.CES, lambda d: Filters(), D("5.25")),
    (Kpi.CES, lambda d: Filters(product_id=d.pumps.pk), D("4.67")),
    # invitations sent in the quarter: 7 (5 answered, 2 not) -> 71.4 %
    (Kpi.SURVEY_RESPONSE_RATE, lambda d: Filters(), D("71.4")),
    (Kpi.SURVEY_RESPONSE_RATE, lambda d: Filters(product_id=d.pumps.pk), D("75.0")),  # a1 a3 a5 + 20 Jan
    (Kpi.SURVEY_RESPONSE_RATE, lambda d: Filters(segment="SMB"), D("66.7")),  # a3 a4 + 20 Feb
    (Kpi.COMPLAINTS, lambda d: Filters(), D(6)),
    (Kpi.COMPLAINTS, lambda d: Filters(product_id=d.valves.pk), D(2)),
    (Kpi.COMPLAINTS, lambda d: Filters(category_id=d.damaged.pk), D(3)),
    (Kpi.COMPLAINTS, lambda d: Filters(channel="web"), D(4)),
    (Kpi.COMPLAINTS, lambda d: Filters(segment=""), D(1)),
    (Kpi.COMPLAINTS, lambda d: Filters(segment="SMB", channel="email", category_id=d.late.pk), D(1)),
    (Kpi.COMPLAINTS_PER_100_CUSTOMERS, lambda d: Filters(), D("300.00")),  # 6 per 2 active customers
    (Kpi.COMPLAINTS_PER_100_CUSTOMERS, lambda d: Filters(segment="SMB"), D("200.00")),
    (Kpi.COMPLAINTS_PER_100_CUSTOMERS, lambda d: Filters(segment="Government"), None),
    # acknowledged in: c1 2 h, c3 4 h, c4 1 h, c5 10 h, c6 3 h -> median 3, p90 4 + 0.6 * 6 = 7.6
    (Kpi.ACK_MEDIAN_HOURS, lambda d: Filters(), D("3.00")),
    (Kpi.ACK_P90_HOURS, lambda d: Filters(), D("7.60")),
    # Pumps: c1 2 h, c5 10 h (c2 not acknowledged) -> median 6, p90 2 + 0.9 * 8 = 9.2
    (Kpi.ACK_MEDIAN_HOURS, lambda d: Filters(product_id=d.pumps.pk), D("6.00")),
    (Kpi.ACK_P90_HOURS, lambda d: Filters(product_id=d.pumps.pk), D("9.20")),
    (Kpi.ACK_MEDIAN_HOURS, lambda d: Filters(channel="email"), None),  # c2 only, not acknowledged
    # responses: c1 2 d, c3 5 d, c4 1 d, c6 0.5 d -> median 1.5, p90 2 + 0.7 * 3 = 4.1
    (Kpi.RESPOND_MEDIAN_DAYS, lambda d: Filters(), D("1.50")),
    (Kpi.RESPOND_P90_DAYS, lambda d: Filters(), D("4.10")),
    (Kpi.RESPOND_MEDIAN_DAYS, lambda d: Filters(segment="Enterprise", category_id=d.damaged.pk), D("3.50")),
    (Kpi.SLA_COMPLIANCE, lambda d: Filters(), D("75.0")),
    (Kpi.SLA_COMPLIANCE, lambda d: Filters(channel="web"), D("66.7")),
    (Kpi.SLA_COMPLIANCE, lambda d: Filters(segment="Government"), None),
    (Kpi.NEGATIVE_FEEDBACK_SHARE, lambda d: Filters(), D("40.0")),
    (Kpi.NEGATIVE_FEEDBACK_SHARE, lambda d: Filters(channel="email"), D("33.3")),
    (Kpi.NEGATIVE_FEEDBACK_SHARE, lambda d: Filters(product_id=d.valves.pk, category_id=1), D("50.0")),
]


@pytest.mark.parametrize(("kpi", "filters", "expected"), QUARTER)
def test_kpi_over_the_quarter(dataset, kpi, filters, expected):
    assert compute(kpi, start=JAN, end=APR, filters=filters(dataset)) == expected


def test_kpis_of_single_months(dataset):
    assert compute(Kpi.SURVEY_RESPONSE_RATE, start=JAN, end=FEB) == D("75.0")  # a1 a2 a3 (sent 30 Jan) + 20 Jan
    assert compute(Kpi.SURVEY_RESPONSE_RATE, start=FEB, end=MAR) == D("50.0")  # a4 + 20 Feb
    assert compute(Kpi.COMPLAINTS, start=JAN, end=FEB) == D(2)  # c2 at 23:30 on 31 January
    assert compute(Kpi.ACK_MEDIAN_HOURS, start=FEB, end=MAR) == D("4.00")  # c3 4 h, c4 1 h, c5 10 h
    assert compute(Kpi.SLA_COMPLIANCE, start=MAR, end=APR) == D("50.0")  # c3 missed, c6 within


@pytest.mark.parametrize("kpi", list(Kpi))
def test_an_empty_period_has_no_value_except_for_counts(dataset, kpi):
    """Zero complaints (and so 0 per 100 customers) and zero overdue actions are results."""
    value = compute(kpi, start=date(2025, 1, 1), end=date(2025, 7, 1))
    zero = {Kpi.COMPLAINTS: D(0), Kpi.OVERDUE_ACTIONS: D(0), Kpi.COMPLAINTS_PER_100_CUSTOMERS: D("0.00")}
    assert value == zero.get(kpi)


def test_a_reversed_period_has_no_value(dataset):
    assert compute(Kpi.COMPLAINTS, start=APR, end=JAN) is None


# --- overdue corrective actions ------------------------------------------------------------------


@pytest.fixture
def action_history(db, quality_manager):
    """A1 (in progress): item due 10 Feb, done 20 Feb. A2 (open): item due 1 Mar, not done.
    A3: item due 5 Feb, done and verified effective 14 Feb. All raised on 1 January 2026."""
    from apps.accounts.roles import Role
    from apps.actions import services
    from apps.actions.models import ActionPlanItem, CorrectiveAction
    from tests.actions.factories import ActionFactory, advance
    from tests.factories import UserFactory

    qm = quality_manager
    verifier = UserFactory(role=Role.QUALITY_MANAGER)

    def raised(action, due, done=None, verified=None):
        item = action.plan_items.get()
        ActionPlanItem.objects.filter(pk=item.pk).unaudited_update(due_date=due, done_at=done)
        CorrectiveAction.objects.filter(pk=action.pk).unaudited_update(
            created_at=local(2026, 1, 1), verified_at=verified
        )

    a1 = ActionFactory(actor=qm)
    services.action_start(action_id=a1.pk, actor=qm)
    services.plan_item_add(action_id=a1.pk, actor=qm, description="Buffer", owner=qm, due_date=date(2026, 2, 10))
    raised(a1, date(2026, 2, 10), local(2026, 2, 20))
    a2 = ActionFactory(actor=qm)
    services.plan_item_add(action_id=a2.pk, actor=qm, description="Train", owner=qm, due_date=date(2026, 3, 1))
    raised(a2, date(2026, 3, 1))
    a3 = advance(ActionFactory(actor=qm), CorrectiveAction.Status.VERIFIED_EFFECTIVE, worker=qm, verifier=verifier)
    raised(a3, date(2026, 2, 5), local(2026, 2, 14), verified=local(2026, 2, 14))


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (date(2026, 2, 1), 0),  # nothing due yet
        (date(2026, 2, 10), 1),  # A3's item (due 5 Feb) not done until 14 Feb
        (date(2026, 2, 15), 1),  # A1's item (due 10 Feb) not done until 20 Feb; A3 done
        (date(2026, 2, 21), 0),
        (date(2026, 3, 15), 1),  # A2's item (due 1 Mar) never done
        (date(2099, 1, 1), 1),  # the future is cut at today
    ],
)
def test_overdue_actions_at_the_end_of_the_period(action_history, end, expected):
    assert compute(Kpi.OVERDUE_ACTIONS, start=JAN, end=end, filters=Filters(segment="SMB")) == D(expected)


def test_overdue_actions_ignore_actions_raised_after_the_cut_off(action_history, quality_manager):
    from apps.actions import services
    from tests.actions.factories import ActionFactory

    late = ActionFactory(actor=quality_manager)
    services.plan_item_add(
        action_id=late.pk, actor=quality_manager, description="x", owner=quality_manager, due_date=date(2026, 1, 2)
    )
    assert compute(Kpi.OVERDUE_ACTIONS, start=JAN, end=date(2026, 2, 1)) == D(0)
    today = timezone.localdate()
    assert compute(Kpi.OVERDUE_ACTIONS, start=JAN, end=today + timedelta(days=1)) == D(2)


# --- requirement review lead time ----------------------------------------------------------------


@pytest.fixture
def reviews(dataset, quality_manager, staff):
    """R1 (Enterprise, Pumps) submitted 10 Jan 12:00, reviewed 13 Jan 00:00: 2.5 days.
    R2 (SMB) submitted 1 Feb 12:00, reviewed 2 Feb 12:00: 1 day. R3 in review, not reviewed.
    R4's review of 5 Jan predates its resubmission on 20 Jan, so it is left out."""
    from apps.requirements.models import CustomerRequirement, RequirementReview
    from tests.requirements.factories import RequirementFactory, advance

    def submitted(customer, product, at):
        requirement = RequirementFactory(created_by=staff, customer=customer, product=product)
        requirement = advance(requirement, CustomerRequirement.Status.IN_REVIEW, author=staff, reviewer=quality_manager)
        CustomerRequirement.objects.filter(pk=requirement.pk).unaudited_update(submitted_at=at)
        return requirement

    def review(requirement, at):
        RequirementReview.objects.create(
            requirement=requirement,
            version=requirement.versions.get(),
            reviewer=quality_manager,
            reviewed_at=at,
            decision="accept",
            can_meet=True,
        )

    review(submitted(dataset.ent, dataset.pumps, local(2026, 1, 10, 12)), local(2026, 1, 13, 0))
    review(submitted(dataset.smb, None, local(2026, 2, 1, 12)), local(2026, 2, 2, 12))
    submitted(dataset.smb, dataset.pumps, local(2026, 2, 3))
    review(submitted(dataset.ent, None, local(2026, 1, 20)), local(2026, 1, 5))
    return dataset


@pytest.mark.parametrize(
    ("period", "filters", "expected"),
    [
        ((JAN, APR), lambda d: Filters(), D("1.75")),
        ((JAN, FEB), lambda d: Filters(), D("2.50")),
        ((JAN, APR), lambda d: Filters(product_id=d.pumps.pk), D("2.50")),
        ((JAN, APR), lambda d: Filters(segment="SMB", channel="web"), D("1.00")),
        ((MAR, APR), lambda d: Filters(), None),
    ],
)
def test_requirement_review_lead_days(reviews, period, filters, expected):
    value = compute(Kpi.REQUIREMENT_REVIEW_LEAD_DAYS, start=period[0], end=period[1], filters=filters(reviews))
    assert value == expected


def test_each_kpi_is_a_fixed_number_of_queries(dataset, django_assert_max_num_queries):
    for kpi in Kpi:
        with django_assert_max_num_queries(2):
            compute(kpi, start=JAN, end=APR, filters=Filters(product_id=dataset.pumps.pk, segment="SMB"))
