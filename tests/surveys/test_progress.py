"""Send and answer counts of campaigns and waves."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from apps.surveys.models import Invitation, Wave
from apps.surveys.selectors.progress import campaign_progress, format_rate, rate_of, response_rate, waves_with_progress
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.surveys.factories import CampaignFactory

Status = Invitation.Status


def wave(campaign, number):
    now = timezone.now()
    return Wave.objects.create(
        campaign=campaign,
        number=number,
        scheduled_for=now - timedelta(days=number),
        closes_at=now + timedelta(days=20),
    )


def invite(wave_, contact, status, *, reminders=0, responded=False):
    return Invitation.objects.create(
        wave=wave_,
        campaign=wave_.campaign,
        contact=contact,
        customer=contact.customer,
        status=status,
        reminders_sent=reminders,
        responded_at=timezone.now() if responded else None,
    )


def test_counts_every_state_and_the_response_rate_over_sent(db, django_assert_num_queries):
    customer = CustomerFactory()
    contacts = [ContactFactory(customer=customer) for _ in range(7)]
    campaign = CampaignFactory()
    first, second = wave(campaign, 1), wave(campaign, 2)
    invite(first, contacts[0], Status.SENT, responded=True)
    invite(first, contacts[1], Status.SENT, reminders=2)
    invite(first, contacts[2], Status.FAILED)
    invite(first, contacts[3], Status.SKIPPED)
    invite(second, contacts[0], Status.SENT, reminders=1, responded=True)
    invite(second, contacts[4], Status.PENDING)
    invite(second, contacts[5], Status.SENT)
    other = CampaignFactory()
    invite(wave(other, 1), contacts[6], Status.SENT, responded=True)

    with django_assert_num_queries(1):
        progress = campaign_progress(campaign.pk)
    assert progress == {
        "invited": 7,
        "sent": 4,
        "failed": 1,
        "skipped": 1,
        "reminded": 2,
        "responded": 2,
        "response_rate": 0.5,
    }
    with django_assert_num_queries(1):
        rows = list(waves_with_progress(campaign.pk))
    assert [
        (row.number, row.invited, row.sent, row.failed, row.skipped, row.reminded, row.responded, rate_of(row))
        for row in rows
    ] == [
        (2, 3, 2, 0, 0, 1, 1, 0.5),
        (1, 4, 2, 1, 1, 1, 1, 0.5),
    ]


def test_rate_is_none_until_something_was_sent(db):
    campaign = CampaignFactory()
    assert campaign_progress(campaign.pk)["response_rate"] is None
    first = wave(campaign, 1)
    invite(first, ContactFactory(), Status.PENDING)
    progress = campaign_progress(campaign.pk)
    assert (progress["invited"], progress["sent"], progress["response_rate"]) == (1, 0, None)
    assert rate_of(next(iter(waves_with_progress(campaign.pk)))) is None


@pytest.mark.parametrize(
    ("responded", "sent", "expected"),
    [(0, 0, None), (0, 4, 0.0), (1, 4, 0.25), (3, 3, 1.0)],
)
def test_response_rate_is_responded_over_sent_and_none_before_anything_was_sent(responded, sent, expected):
    assert response_rate(responded, sent) == expected


@pytest.mark.parametrize(
    ("language", "rate", "shown"),
    [("en", 0.5, "50.0 %"), ("de", 0.5, "50,0 %"), ("en", 1 / 3, "33.3 %"), ("de", 0.0, "0,0 %"), ("de", None, "—")],
)
def test_rate_is_shown_in_the_languages_number_format(language, rate, shown):
    with translation.override(language):
        assert format_rate(rate) == shown
