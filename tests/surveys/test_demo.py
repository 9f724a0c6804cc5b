"""The surveys demo: questionnaires, a year of a quarterly campaign with realistic answers, loaded once."""

import json
from datetime import timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from apps.accounts.roles import Role
from apps.audit.services import verify_chain
from apps.customers import demo as customers_demo
from apps.surveys import demo
from apps.surveys.models import (
    Answer,
    Campaign,
    Invitation,
    Response,
    SurveyTemplate,
    Wave,
    token_for_nonce,
    token_hash,
)
from apps.surveys.selectors.progress import campaign_progress, wave_progress


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
    assert all(wave_progress(wave.pk)["responded"] >= 30 for wave in waves[:2])
    progress = campaign_progress(relationship.pk)
    assert progress["failed"] > 0
    assert progress["skipped"] > 0
    assert progress["reminded"] > 0
    assert 0.4 <= progress["response_rate"] <= 0.7

    # Model rules the ORM writes must follow: the token hash, the denormalised answer fields.
    invitation = Invitation.objects.filter(campaign=relationship).first()
    assert invitation.token_hash == token_hash(token_for_nonce(invitation.nonce))
    assert not Answer.objects.exclude(campaign_id=F("response__campaign_id")).exists()
    assert not Answer.objects.exclude(submitted_at=F("response__submitted_at")).exists()
    assert not Invitation.objects.filter(response__isnull=False, responded_at__isnull=True).exists()
    assert verify_chain().ok
