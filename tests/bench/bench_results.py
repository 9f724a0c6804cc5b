"""S1 (issue #5): the results page's NPS / CSAT / CES against a hand-written SQL aggregate
over the same answers. Same numbers (asserted), subject time <= 1.5x the reference's."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.surveys.selectors.results import ResultFilters, scores
from tests.bench import harness

pytestmark = pytest.mark.timeout(300)

REFERENCE_SQL = """
SELECT count(*) FILTER (WHERE kind = 'nps'),
       count(*) FILTER (WHERE kind = 'nps' AND score >= 9),
       count(*) FILTER (WHERE kind = 'nps' AND score <= 6),
       count(*) FILTER (WHERE kind = 'csat'),
       count(*) FILTER (WHERE kind = 'csat' AND score >= 4),
       count(*) FILTER (WHERE kind = 'ces'),
       avg(score) FILTER (WHERE kind = 'ces'),
       stddev_samp(score) FILTER (WHERE kind = 'ces')
FROM surveys_answer
WHERE campaign_id = %s
"""


def reference_scores(campaign_id: int) -> dict:
    """The essential work: one aggregate on a bare driver cursor, then the two divisions."""
    with connection.connection.cursor() as cursor:
        cursor.execute(REFERENCE_SQL, [campaign_id])
        nps_n, promoters, detractors, csat_n, satisfied, ces_n, ces_mean, ces_sd = cursor.fetchone()
    return {
        "nps_n": nps_n,
        "promoters": promoters,
        "detractors": detractors,
        "nps": 100 * ((promoters - detractors) / nps_n),
        "csat_n": csat_n,
        "satisfied": satisfied,
        "csat": 100 * (satisfied / csat_n),
        "ces_n": ces_n,
        "ces_mean": float(ces_mean),
        "ces_sd": float(ces_sd),
    }


def test_s1_results_scores_equal_the_sql_aggregate_and_cost_at_most_1_5x(dataset):
    connection.ensure_connection()
    campaign_id = dataset.main_campaign_id
    filters = ResultFilters(campaign_id=campaign_id)
    figures = scores(filters)
    expected = reference_scores(campaign_id)
    assert figures.nps.n == expected["nps_n"] > 0
    assert (figures.nps.promoters, figures.nps.detractors) == (expected["promoters"], expected["detractors"])
    assert figures.nps.score == expected["nps"]
    assert (figures.csat.n, figures.csat.satisfied) == (expected["csat_n"], expected["satisfied"])
    assert figures.csat.percent == expected["csat"]
    assert figures.ces.n == expected["ces_n"]
    assert figures.ces.mean == pytest.approx(expected["ces_mean"], rel=1e-12)

    outcome = harness.compare(
        "S1",
        lambda: scores(filters),
        lambda: reference_scores(campaign_id),
        notes=(
            f"campaign with {dataset.answers:,} answers; NPS {figures.nps.score:.1f}, CSAT {figures.csat.percent:.1f}%"
        ),
    )
    assert outcome.verdict != "fail", harness.table()
