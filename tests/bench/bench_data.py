"""The bench data set: loaded once per session, with the distributions issue #9 asks for."""

import pytest
from django.db import connection

pytestmark = pytest.mark.timeout(900)


def test_data_set_loads_with_skewed_nps_and_a_third_of_responses_commented(dataset):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE score >= 9)::float / count(*), "
            "count(*) FILTER (WHERE score <= 6)::float / count(*) "
            "FROM surveys_answer WHERE kind = 'nps'"
        )
        promoters, detractors = cursor.fetchone()
        cursor.execute("SELECT count(*) FILTER (WHERE comments_ct <> '')::float / count(*) FROM surveys_response")
        (commented,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM surveys_answer WHERE campaign_id = %s", [dataset.main_campaign_id])
        (main_answers,) = cursor.fetchone()
    assert abs(promoters - 0.45) < 0.03
    assert abs(detractors - 0.20) < 0.03
    assert abs(commented - 1 / 3) < 0.03
    assert main_answers == dataset.answers
    assert len(dataset.checksum) == 64
