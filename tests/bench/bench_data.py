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


def test_complaints_have_long_tailed_handling_times_and_pareto_categories(dataset):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - received_at)), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - received_at)), "
            "count(*) FILTER (WHERE close_due_at IS NULL) "
            "FROM complaints_complaint WHERE responded_at IS NOT NULL"
        )
        responded, median, p90, without_due = cursor.fetchone()
        cursor.execute(
            "SELECT count(*)::float / sum(count(*)) OVER () FROM complaints_complaint "
            "WHERE category_id IS NOT NULL GROUP BY category_id ORDER BY 1 DESC LIMIT 1"
        )
        (top_share,) = cursor.fetchone()
        cursor.execute("SELECT count(*), count(DISTINCT status), count(DISTINCT channel) FROM complaints_complaint")
        complaints, statuses, channels = cursor.fetchone()
    assert complaints == dataset.complaints
    assert responded > complaints / 2
    assert p90 > 2.5 * median  # the long tail: the slowest tenth take weeks, not days
    assert without_due == 0
    assert 0.25 < top_share < 0.35
    assert statuses >= 6
    assert channels == 7


def test_feedback_has_every_channel_and_sentiment(dataset):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT channel), count(DISTINCT sentiment), count(DISTINCT status), "
            "count(*) FILTER (WHERE product_id IS NOT NULL)::float / count(*) FROM feedback_feedback"
        )
        feedback, channels, sentiments, statuses, with_product = cursor.fetchone()
    assert feedback == dataset.feedback
    assert channels == 6
    assert sentiments == 4  # positive, neutral, negative and '' (not triaged yet)
    assert statuses == 4
    assert abs(with_product - 0.75) < 0.03
