"""Survey results (apps.surveys.selectors.results) against hand-computed numbers.

The main data set: one wave, 10 invitations sent (plus one never sent), 8 responses.
NPS answers 10 10 9 9 | 8 7 6 3: 4 promoters, 2 passives, 2 detractors, NPS = 100·(4-2)/8 = 25;
var = 6/8 - 0.25² = 0.6875, half-width = 1.96·sqrt(0.6875/8) = 0.5746 -> [-32.46, 82.46].
CSAT answers 5 5 4 4 | 4 3 2 1: 5 of 8 satisfied = 62.5 %, Wilson 95 % [30.57, 86.32].
CES answers 7 6 5 2 (four respondents): mean 5, s = sqrt(14/3) = 2.160, ± 1.96·2.160/2 -> [2.88, 7.12].
The first four responses come from Enterprise customers of one product, the last four from SMB
customers without a product: Enterprise NPS 100, SMB NPS (0-2)/4 = -50.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.surveys.models import Answer, Campaign, QuestionKind, Response, Wave
from apps.surveys.selectors import results as selectors
from apps.surveys.selectors.results import ResultFilters
from tests.customers.factories import ContactFactory, CustomerFactory, ProductFactory
from tests.surveys.factories import CampaignFactory
from tests.surveys.test_responses import make_invitation, make_wave, submit

NPS_SCORES = [10, 10, 9, 9, 8, 7, 6, 3]
CSAT_SCORES = [5, 5, 4, 4, 4, 3, 2, 1]
CES_SCORES = [7, 6, 5, 2, None, None, None, None]
TEXTS = ["Fast delivery", "", "", "", "", "", "", "Too slow"]


@pytest.fixture
def product(db):
    return ProductFactory(name="Pumps")


@pytest.fixture
def dataset(db, product):
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)
    wave = make_wave(campaign)
    enterprise, smb = CustomerFactory(segment="Enterprise"), CustomerFactory(segment="SMB")
    for index, (nps, csat, ces, text) in enumerate(zip(NPS_SCORES, CSAT_SCORES, CES_SCORES, TEXTS, strict=True)):
        first_half = index < 4
        invitation = make_invitation(
            wave, customer=enterprise if first_half else smb, product=product if first_half else None
        )
        kwargs = {"nps": nps, "csat": csat, "text": text}
        if ces is not None:
            kwargs["ces"] = ces
        if index == 0:
            kwargs.update(single="Phone", multiple=["Price", "Speed"])
        if index == 1:
            kwargs.update(single="Phone", multiple=["Speed"])
        if index == 2:
            kwargs.update(single="Portal")
        submit(invitation, **kwargs)
    make_invitation(wave)
    make_invitation(wave)
    make_invitation(wave, sent=False)
    return campaign


def test_nps_with_counts_and_confidence_interval(dataset):
    nps = selectors.campaign_results(campaign_id=dataset.pk).scores.nps
    assert (nps.n, nps.promoters, nps.passives, nps.detractors) == (8, 4, 2, 2)
    assert nps.score == pytest.approx(25.0)
    assert nps.ci.low == pytest.approx(-32.4565, abs=1e-3)
    assert nps.ci.high == pytest.approx(82.4565, abs=1e-3)
    assert (nps.promoters_pct, nps.passives_pct, nps.detractors_pct) == (50.0, 25.0, 25.0)


def test_csat_with_wilson_interval(dataset):
    csat = selectors.campaign_results(campaign_id=dataset.pk).scores.csat
    assert (csat.n, csat.satisfied, csat.percent) == (8, 5, 62.5)
    assert csat.ci.low == pytest.approx(30.5742, abs=1e-3)
    assert csat.ci.high == pytest.approx(86.3156, abs=1e-3)


def test_ces_mean_with_interval(dataset):
    ces = selectors.campaign_results(campaign_id=dataset.pk).scores.ces
    assert (ces.n, ces.mean) == (4, 5.0)
    assert ces.ci.low == pytest.approx(2.8830, abs=1e-3)
    assert ces.ci.high == pytest.approx(7.1170, abs=1e-3)


def test_response_rate_counts_sent_invitations_only(dataset):
    result = selectors.campaign_results(campaign_id=dataset.pk)
    assert (result.rate.sent, result.rate.responded, result.rate.rate) == (10, 8, 0.8)
    assert result.responses == 8


def test_figures_with_wide_intervals_are_flagged(dataset):
    # 8 answers: NPS -32..82 and CSAT 31..86 % are far wider than 40 and 20 points, CES 2.9..7.1 than 1.2
    flagged = selectors.campaign_results(campaign_id=dataset.pk).scores
    assert flagged.nps.low_confidence
    assert flagged.csat.low_confidence
    assert flagged.ces.low_confidence
    assert flagged.low_confidence


def test_distribution_lists_every_scale_value(dataset):
    by_kind = {d.kind: d for d in selectors.campaign_results(campaign_id=dataset.pk).distributions}
    nps = by_kind[QuestionKind.NPS]
    assert [b.value for b in nps.buckets] == list(range(11))
    assert [b.count for b in nps.buckets] == [0, 0, 0, 1, 0, 0, 1, 1, 1, 2, 2]
    assert nps.buckets[10].percent == 25.0
    assert [b.count for b in by_kind[QuestionKind.CSAT].buckets] == [1, 1, 1, 3, 2]
    assert [b.count for b in by_kind[QuestionKind.CES].buckets] == [0, 1, 0, 0, 1, 1, 1]


def test_counts_per_choice(dataset):
    choices = {c.kind: c for c in selectors.campaign_results(campaign_id=dataset.pk).choices}
    single = choices[QuestionKind.SINGLE_CHOICE]
    assert single.answered == 3
    assert [(c.choice, c.count) for c in single.counts] == [("Phone", 2), ("E-mail", 0), ("Portal", 1)]
    multiple = choices[QuestionKind.MULTIPLE_CHOICE]
    assert multiple.answered == 2
    assert [(c.choice, c.count, c.percent) for c in multiple.counts] == [
        ("Price", 1, 50.0),
        ("Speed", 2, 100.0),
        ("Quality", 0, 0.0),
    ]


def test_breakdown_by_segment_and_product(dataset, product):
    result = selectors.campaign_results(campaign_id=dataset.pk)
    segments = {g.key: g.scores for g in result.segments}
    assert segments["Enterprise"].nps.score == 100.0
    assert segments["SMB"].nps.score == -50.0
    assert (segments["Enterprise"].nps.n, segments["SMB"].csat.n) == (4, 4)
    # Groups come from score histograms: the CES interval must equal the database's own (all
    # four CES answers are Enterprise ones).
    assert segments["Enterprise"].ces.mean == 5.0
    assert segments["Enterprise"].ces.ci.low == pytest.approx(result.scores.ces.ci.low)
    assert segments["Enterprise"].ces.ci.high == pytest.approx(result.scores.ces.ci.high)
    assert segments["SMB"].csat.percent == 25.0
    products = {g.key: g for g in result.products}
    assert products[product.pk].label == "Pumps"
    assert products[product.pk].scores.nps.score == 100.0
    assert products[None].scores.nps.n == 4


@pytest.mark.parametrize(
    ("filters", "nps_n", "nps"),
    [
        pytest.param({"segment": "SMB"}, 4, -50.0, id="segment"),
        pytest.param({"product_id": "product"}, 4, 100.0, id="product"),
        pytest.param({"date_to": -1}, 0, None, id="period-before"),
        pytest.param({"date_from": 0, "date_to": 0}, 8, 25.0, id="period-today"),
    ],
)
def test_filters_narrow_every_figure(dataset, product, filters, nps_n, nps):
    today = timezone.localdate()
    resolved = {
        key: product.pk if value == "product" else today + timedelta(days=value) if key.startswith("date") else value
        for key, value in filters.items()
    }
    result = selectors.results(ResultFilters(campaign_id=dataset.pk, **resolved))
    assert (result.scores.nps.n, result.scores.nps.score) == (nps_n, nps)
    assert sum(d.n for d in result.distributions if d.kind == QuestionKind.NPS) == nps_n


def test_across_campaigns_includes_every_campaign(dataset):
    other = make_invitation(make_wave(CampaignFactory(status=Campaign.Status.ACTIVE)))
    submit(other, nps=0)
    across = selectors.results(ResultFilters())
    assert across.scores.nps.n == 9
    assert across.scores.nps.score == pytest.approx(100 * (4 - 3) / 9)
    assert across.waves == []
    assert across.choices == []


def test_trend_per_month(db):
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)
    wave = make_wave(campaign)
    old = submit(make_invitation(wave), nps=2)
    submit(make_invitation(wave), nps=10)
    submit(make_invitation(wave), nps=9)
    earlier = timezone.localtime().replace(day=1) - timedelta(days=20)
    Answer.objects.filter(response=old).update(submitted_at=earlier)
    trend = selectors.campaign_results(campaign_id=campaign.pk).trend
    assert [g.label for g in trend] == [earlier.strftime("%Y-%m"), timezone.localtime().strftime("%Y-%m")]
    assert [g.scores.nps.score for g in trend] == [-100.0, 100.0]


def test_wave_over_wave_change(db):
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE, recurrence=Campaign.Recurrence.QUARTERLY)
    first, second = make_wave(campaign, number=1), make_wave(campaign, number=2)
    for nps, csat in [(10, 5), (9, 4), (3, 2), (8, 5)]:  # NPS 25, CSAT 75
        submit(make_invitation(first), nps=nps, csat=csat)
    make_invitation(first)  # sent, never answered
    for nps, csat in [(10, 5), (0, 1)]:  # NPS 0, CSAT 50
        submit(make_invitation(second), nps=nps, csat=csat)

    waves = selectors.campaign_results(campaign_id=campaign.pk).waves

    assert [w.number for w in waves] == [1, 2]
    assert [w.scores.nps.score for w in waves] == [25.0, 0.0]
    assert (waves[0].nps_change, waves[1].nps_change) == (None, -25.0)
    assert waves[1].csat_change == -25.0
    assert (waves[0].rate.sent, waves[0].rate.responded, waves[1].rate.rate) == (5, 4, 1.0)
    only_second = selectors.wave_results(wave_id=second.pk)
    assert only_second.scores.nps.n == 2
    assert len(only_second.waves) == 2  # the comparison still shows every wave


def test_free_text_answers_are_decrypted_one_page_at_a_time(dataset):
    first = selectors.text_answers(ResultFilters(campaign_id=dataset.pk), page=1, per_page=1)
    second = selectors.text_answers(ResultFilters(campaign_id=dataset.pk), page=2, per_page=1)
    assert first.page.paginator.count == 2
    texts = [item.text for page in (first, second) for item in page.items]
    assert sorted(texts) == ["Fast delivery", "Too slow"]
    assert first.items[0].question == "Anything else you would like to tell us?"


def test_erased_responses_show_no_free_text(dataset):
    Response.objects.filter(campaign=dataset).update(erased_at=timezone.now(), data_key="")
    assert selectors.text_answers(ResultFilters(campaign_id=dataset.pk)).items == []


def test_empty_scope_has_no_figures(db):
    campaign = CampaignFactory()
    result = selectors.campaign_results(campaign_id=campaign.pk)
    assert (result.scores.nps.score, result.scores.nps.ci, result.scores.csat.percent, result.scores.ces.mean) == (
        None,
        None,
        None,
        None,
    )
    assert result.rate.rate is None
    assert not result.scores.low_confidence


def test_results_take_a_fixed_number_of_queries(dataset, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        selectors.campaign_results(campaign_id=dataset.pk)
    with django_assert_max_num_queries(9):
        selectors.results(ResultFilters())
    with django_assert_max_num_queries(3):
        selectors.text_answers(ResultFilters(campaign_id=dataset.pk))


def test_latest_scores_for_the_customer_360(db, quality_manager):
    from tests.factories import UserFactory

    customer = CustomerFactory()
    contact = ContactFactory(customer=customer, name="Carla Contact")
    wave = make_wave()
    submit(make_invitation(wave, contact=contact), nps=4, csat=3)
    submit(make_invitation(make_wave(CampaignFactory(status=Campaign.Status.ACTIVE))), nps=10)  # another customer

    scores = selectors.latest_scores_for_customer(customer, quality_manager)

    assert sorted((s.kind_label, s.score, s.scale_max) for s in scores) == [("CSAT", 3, 5), ("NPS", 4, 10)]
    assert {s.contact_name for s in scores} == {"Carla Contact"}
    assert {s.campaign_name for s in scores} == {wave.campaign.name}
    no_contacts = selectors.latest_scores_for_customer(customer, UserFactory())
    assert {s.contact_name for s in no_contacts} == {""}


def test_wave_status_is_reported(dataset):
    wave = Wave.objects.get(campaign=dataset)
    wave.status = Wave.Status.CLOSED
    wave.save(update_fields=["status"])
    assert [w.status for w in selectors.campaign_results(campaign_id=dataset.pk).waves] == [Wave.Status.CLOSED]
