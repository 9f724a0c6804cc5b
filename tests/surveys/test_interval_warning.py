"""'Few responses' follows the width of the 95% interval, not a count of answers (#24).

WIDE_INTERVAL is a fifth of each scale: 40 NPS points, 20 CSAT points, 1.2 CES points. Each
figure is checked on both sides of its threshold, and a row with 65 agreeing answers is no
longer flagged because another figure of the row had few but consistent answers.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.surveys.models import Campaign
from apps.surveys.selectors import results as selectors
from apps.surveys.selectors.results import WIDE_INTERVAL, ces_figure, csat_figure, nps_figure
from tests.customers.factories import CustomerFactory
from tests.surveys.factories import CampaignFactory
from tests.surveys.test_responses import make_invitation, make_wave, submit


def _width(figure) -> float:
    return figure.ci.high - figure.ci.low


@pytest.mark.parametrize(("n", "flagged"), [(40, True), (80, False)])
def test_nps_is_flagged_when_its_interval_is_wider_than_40_points(n, flagged):
    # half promoters, a quarter detractors: NPS 25, var 0.6875 -> widths 51.4 (n 40) and 36.3 (n 80)
    nps = nps_figure(promoters=n // 2, detractors=n // 4, n=n)

    assert (_width(nps) > WIDE_INTERVAL["nps"]) is flagged
    assert nps.low_confidence is flagged


@pytest.mark.parametrize(("n", "flagged"), [(30, True), (100, False)])
def test_csat_is_flagged_when_its_interval_is_wider_than_20_points(n, flagged):
    csat = csat_figure(satisfied=n * 8 // 10, n=n)  # 80 % satisfied: widths 27.5 (n 30) and 15.5 (n 100)

    assert (_width(csat) > WIDE_INTERVAL["csat"]) is flagged
    assert csat.low_confidence is flagged


@pytest.mark.parametrize(("n", "flagged"), [(10, True), (50, False)])
def test_ces_is_flagged_when_its_interval_is_wider_than_1_2(n, flagged):
    ces = ces_figure(mean=5.0, sd=1.5, n=n)  # widths 1.86 (n 10) and 0.83 (n 50)

    assert (_width(ces) > WIDE_INTERVAL["ces"]) is flagged
    assert ces.low_confidence is flagged


def test_many_answers_that_scatter_are_flagged_and_few_that_agree_are_not():
    scattered = nps_figure(promoters=40, detractors=40, n=100)  # var 0.8, width 35 -> fine at 100 ...
    assert not scattered.low_confidence
    assert nps_figure(promoters=25, detractors=25, n=65).low_confidence  # ... 65 scattered: width 45
    assert not ces_figure(mean=6.6, sd=0.5, n=5).low_confidence  # 5 agreeing CES answers: width 0.88


def test_a_handful_of_identical_answers_is_not_read_as_certainty():
    three_promoters = nps_figure(promoters=3, detractors=0, n=3)
    one_effort_answer = ces_figure(mean=6.0, sd=None, n=1)

    assert _width(three_promoters) == 0
    assert three_promoters.low_confidence
    assert one_effort_answer.low_confidence


@pytest.fixture
def firm_row(db):
    """65 Enterprise responses that agree (NPS 9/10, CSAT 4/5), five of them with a consistent CES."""
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE, name="Pulse")
    wave = make_wave(campaign)
    enterprise = CustomerFactory(segment="Enterprise")
    for index in range(65):
        answers = {"nps": 10 if index % 3 else 9, "csat": 5 if index % 4 else 4}
        if index < 5:
            answers["ces"] = 7 if index % 2 else 6
        submit(make_invitation(wave, customer=enterprise), **answers)
    return campaign


def test_a_row_of_65_agreeing_answers_is_not_flagged(firm_row, clients, settings):
    settings.SURVEY_MIN_RESPONSES = 30  # the old count rule flagged the row for its five CES answers

    result = selectors.campaign_results(campaign_id=firm_row.pk)
    html = clients["quality_manager"].get(reverse("surveys:campaign_results", args=[firm_row.pk])).content.decode()

    assert result.scores.nps.n == 65
    assert not result.scores.low_confidence
    assert "Few responses" not in html
    assert 'data-testid="low-confidence"' not in html
