"""'Send now' on a ready draft campaign, with a confirmation step (#24): no more Edit -> Schedule
-> Send now. POST only, for those who may change the campaign, and a double submit sends once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import user_set_capabilities
from apps.audit.models import AuditEntry
from apps.surveys.models import MANAGE_PERMISSION, Campaign
from tests.surveys.factories import CampaignFactory

Status = Campaign.Status


@pytest.fixture
def web(clients, other_staff, quality_manager):
    """The personas' clients plus staff holding the campaign capability (not the owner)."""
    user_set_capabilities(user_id=other_staff.pk, permissions={MANAGE_PERMISSION}, actor=quality_manager)
    client = Client()
    client.force_login(User.objects.get(pk=other_staff.pk))
    return {**clients, "campaign_staff": client}


@pytest.fixture
def draft(quality_manager):
    return CampaignFactory(status=Status.DRAFT, owner=quality_manager, next_run_at=None)


def _url(campaign) -> str:
    return reverse("surveys:campaign_send_draft", args=[campaign.pk])


def _sends(campaign) -> int:
    return AuditEntry.objects.for_object(campaign).filter(reason__icontains="send now").count()


def test_a_ready_draft_offers_send_now(web, draft):
    page = web["quality_manager"].get(reverse("surveys:campaign_detail", args=[draft.pk])).content.decode()

    assert _url(draft) in page


def test_a_draft_without_audience_does_not_offer_it(web, quality_manager):
    draft = CampaignFactory(
        status=Status.DRAFT, owner=quality_manager, audience_kind=Campaign.AudienceKind.CONTACTS, audience_segments=[]
    )

    page = web["quality_manager"].get(reverse("surveys:campaign_detail", args=[draft.pk])).content.decode()
    confirm = web["quality_manager"].get(_url(draft)).content.decode()

    assert _url(draft) not in page
    assert "Choose the audience before scheduling." in confirm


def test_the_confirmation_page_asks_and_changes_nothing(web, draft):
    response = web["quality_manager"].get(_url(draft))

    assert response.status_code == 200
    assert "Yes, send now" in response.content.decode()
    draft.refresh_from_db()
    assert (draft.status, draft.next_run_at) == (Status.DRAFT, None)


def test_confirming_sends_it_now_once_even_when_submitted_twice(
    web, draft, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks() as callbacks:
        first = web["quality_manager"].post(_url(draft))
    second = web["quality_manager"].post(_url(draft), follow=True)

    assert first.status_code == 302
    assert len(callbacks) == 1  # the tick that claims it
    draft.refresh_from_db()
    assert draft.status == Status.SCHEDULED
    assert draft.next_run_at <= timezone.now()
    assert _sends(draft) == 1
    assert "is already being sent" in second.content.decode()


def test_a_draft_that_is_not_ready_is_refused_with_the_reason(web, quality_manager):
    draft = CampaignFactory(
        status=Status.DRAFT, owner=quality_manager, audience_kind=Campaign.AudienceKind.CONTACTS, audience_segments=[]
    )

    response = web["quality_manager"].post(_url(draft), follow=True)

    assert "Choose the audience before scheduling." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_a_scheduled_campaign_is_not_sent_through_the_draft_button(web, quality_manager):
    later = timezone.now() + timedelta(days=2)
    scheduled = CampaignFactory(status=Status.SCHEDULED, owner=quality_manager, next_run_at=later)

    response = web["quality_manager"].post(_url(scheduled), follow=True)

    scheduled.refresh_from_db()
    assert scheduled.next_run_at == later
    assert _sends(scheduled) == 0
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("role", "expected"), [("staff", 403), ("campaign_staff", 403), ("auditor", 403), ("anonymous", 302)]
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_others_may_neither_see_nor_send(web, draft, role, expected, method):
    response = getattr(web[role], method)(_url(draft))

    assert response.status_code == expected
    if expected == 302:
        assert "/accounts/login/" in response["Location"]
    draft.refresh_from_db()
    assert (draft.status, draft.next_run_at) == (Status.DRAFT, None)
    assert _sends(draft) == 0
