"""The surveys demo: questionnaires, a year of a quarterly campaign with realistic answers, loaded once."""

import json
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from apps.accounts.roles import Role
from apps.audit.services import verify_chain
from apps.customers import demo as customers_demo
from apps.feedback.models import Feedback, FeedbackChannel
from apps.surveys import demo
from apps.surveys.models import (
    Answer,
    Campaign,
    Delivery,
    Invitation,
    Response,
    SurveyTemplate,
    Wave,
    token_for_nonce,
    token_hash,
)
from apps.surveys.selectors.progress import campaign_progress, waves_with_progress


def test_demo_surveys_are_realistic_consistent_and_load_once(personas, django_assert_max_num_queries):
    users = {
        Role.QUALITY_MANAGER: personas["quality_manager"],
        Role.STAFF: personas["staff"],
        Role.AUDITOR: personas["auditor"],
    }
    customers_demo.load(users)
    demo.load(users)
    counts = (Campaign.objects.count(), Invitation.objects.count(), Response.objects.count(), Answer.objects.count())
    with django_assert_max_num_queries(2):
        demo.load(users)
    assert (Campaign.objects.count(), Invitation.objects.count(), Response.objects.count(), Answer.objects.count()) == (
        counts
    )

    assert set(SurveyTemplate.objects.values_list("name", flat=True)) >= {
        "Relationship NPS",
        "Post-complaint satisfaction",
        "Product CSAT",
    }
    statuses = dict(Campaign.objects.values_list("name", "status"))
    assert statuses[demo.RELATIONSHIP] == Campaign.Status.ACTIVE
    assert sorted(statuses.values()) == ["active", "completed", "scheduled"]
    scheduled = Campaign.objects.get(status=Campaign.Status.SCHEDULED)
    assert scheduled.next_run_at > timezone.now()

    relationship = Campaign.objects.get(name=demo.RELATIONSHIP)
    waves = list(Wave.objects.filter(campaign=relationship).order_by("number"))
    assert [wave.number for wave in waves] == [1, 2, 3, 4]
    assert waves[0].scheduled_for < timezone.now() - timedelta(days=250)
    assert [wave.status for wave in waves] == ["closed", "closed", "closed", "open"]
    assert relationship.last_wave_number == 4
    assert relationship.next_run_at > timezone.now()
    assert relationship.template_version.locked_at is not None

    nps = Answer.objects.filter(campaign=relationship, kind="nps").aggregate(
        total=Count("id"), promoters=Count("id", filter=Q(score__gte=9)), detractors=Count("id", filter=Q(score__lte=6))
    )
    assert nps["total"] >= 120
    assert 0.35 <= nps["promoters"] / nps["total"] <= 0.55
    assert 0.12 <= nps["detractors"] / nps["total"] <= 0.28
    responses = list(Response.objects.filter(campaign=relationship))
    with_comment = [response for response in responses if response.comments_ct]
    assert 0.2 <= len(with_comment) / len(responses) <= 0.45
    comment = json.loads(with_comment[0].comments_json)
    assert comment
    assert all(text not in with_comment[0].comments_ct for text in comment.values())

    # Every closed wave rests on enough answers for the results not to carry a "too few" warning.
    responded = {wave.number: wave.responded for wave in waves_with_progress(relationship.pk)}
    assert all(responded[number] >= 30 for number in (1, 2))
    progress = campaign_progress(relationship.pk)
    assert progress["failed"] > 0
    assert progress["reminded"] > 0
    assert 0.4 <= progress["response_rate"] <= 0.7

    # Model rules the ORM writes must follow: the token hash, the denormalised answer fields.
    invitation = Invitation.objects.filter(campaign=relationship).first()
    assert invitation.token_hash == token_hash(token_for_nonce(invitation.nonce))
    assert not Answer.objects.exclude(campaign_id=F("response__campaign_id")).exists()
    assert not Answer.objects.exclude(submitted_at=F("response__submitted_at")).exists()
    assert not Invitation.objects.filter(response__isnull=False, responded_at__isnull=True).exists()
    assert verify_chain().ok


def test_demo_skips_nobody_for_fatigue_and_follows_up_every_low_score(personas):
    users = {
        Role.QUALITY_MANAGER: personas["quality_manager"],
        Role.STAFF: personas["staff"],
        Role.AUDITOR: personas["auditor"],
    }
    customers_demo.load(users)
    demo.load(users)

    # Dispatch skips for fatigue only when another campaign surveyed the contact; the demo has none.
    assert not Invitation.objects.filter(status=Invitation.Status.SKIPPED).exists()
    assert not Delivery.objects.filter(outcome=Delivery.Outcome.SKIPPED).exists()

    # What response_submit does: a low NPS or CSAT brings follow-up feedback to call back.
    lowest = Response.objects.annotate(
        nps=Min("answers__score", filter=Q(answers__kind="nps")),
        csat=Min("answers__score", filter=Q(answers__kind="csat")),
    )
    low = Q(nps__lte=settings.SURVEY_FOLLOW_UP_NPS_MAX) | Q(csat__lte=settings.SURVEY_FOLLOW_UP_CSAT_MAX)
    low_responses = list(lowest.filter(low).select_related("follow_up", "invitation"))
    assert len(low_responses) >= 20
    assert all(response.follow_up is not None for response in low_responses)
    assert not lowest.exclude(low).filter(follow_up__isnull=False).exists()
    follow_ups = Feedback.objects.filter(survey_response__isnull=False)
    assert follow_ups.count() == len(low_responses)
    assert set(follow_ups.values_list("channel", "call_back", "sentiment")) == {
        (FeedbackChannel.SURVEY, True, "negative")
    }
    sample = low_responses[0]
    assert sample.follow_up.customer_id == sample.customer_id
    assert sample.follow_up.contact_id == sample.invitation.contact_id
    assert sample.follow_up.owner_id == personas["quality_manager"].pk
    assert "Low score in survey campaign" in sample.follow_up.text
    assert sample.follow_up.created_at == sample.submitted_at
    assert verify_chain().ok
