"""Who a wave invites: audience kind, consent, erasure, opt-out and survey fatigue, in one query."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.customers import services as customers
from apps.customers.models import Customer
from apps.surveys.models import Invitation, SurveyOptOut, Wave
from apps.surveys.services.dispatch import campaign_audience
from tests.customers.factories import CustomerFactory, ProductFactory
from tests.surveys.conftest import make_contact
from tests.surveys.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def _ids(campaign, **kwargs) -> set[int]:
    return set(campaign_audience(campaign, **kwargs).values_list("pk", flat=True))


def _invite(contact, *, days_ago: float, campaign=None, status=Invitation.Status.SENT) -> Invitation:
    campaign = campaign or CampaignFactory()
    number = campaign.waves.count() + 1
    wave = Wave.objects.create(
        campaign=campaign,
        number=number,
        scheduled_for=timezone.now() - timedelta(days=days_ago, minutes=number),
        closes_at=timezone.now() + timedelta(days=10),
    )
    invitation = Invitation(wave=wave, campaign=campaign, contact=contact, customer=contact.customer, status=status)
    invitation.save()
    Invitation.objects.filter(pk=invitation.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return invitation


def test_segment_audience_is_the_consenting_contacts_of_customers_in_the_segments():
    enterprise, retail, other = (CustomerFactory(segment=s) for s in ("Enterprise", "Retail", "Public sector"))
    chosen = {make_contact(enterprise).pk, make_contact(retail).pk}
    make_contact(other)
    campaign = CampaignFactory(audience_segments=["Enterprise", "Retail"])
    assert _ids(campaign) == chosen


def test_product_audience_is_the_contacts_of_customers_using_the_product():
    campaign = CampaignFactory(for_product=True)
    user, non_user = CustomerFactory(), CustomerFactory()
    user.products.add(campaign.audience_product, ProductFactory())
    non_user.products.add(ProductFactory())
    contact = make_contact(user)
    make_contact(non_user)
    assert _ids(campaign) == {contact.pk}


def test_contact_list_audience_is_exactly_the_chosen_contacts():
    customer = CustomerFactory(segment="Retail")
    chosen, _other = make_contact(customer), make_contact(customer)
    campaign = CampaignFactory(audience_kind="contacts", audience_segments=[])
    campaign.audience_contacts.add(chosen)
    assert _ids(campaign) == {chosen.pk}


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(
            lambda c: customers.contact_update(contact_id=c.pk, actor=None, survey_consent=False), id="no-consent"
        ),
        pytest.param(lambda c: customers.contact_erase(contact_id=c.pk, actor=None, reason="asked"), id="erased"),
        pytest.param(lambda c: customers.contact_update(contact_id=c.pk, actor=None, is_active=False), id="left"),
        pytest.param(
            lambda c: Customer.objects.filter(pk=c.customer_id).unaudited_update(status=Customer.Status.INACTIVE),
            id="customer-inactive",
        ),
        pytest.param(lambda c: SurveyOptOut.objects.create(contact=c), id="opted-out"),
    ],
)
def test_contacts_who_may_not_be_surveyed_are_left_out(spoil, enterprise):
    keep, spoilt = make_contact(enterprise), make_contact(CustomerFactory())
    spoil(spoilt)
    campaign = CampaignFactory()
    assert _ids(campaign) == {keep.pk}


def test_contacts_without_consent_are_never_in_the_audience(enterprise):
    make_contact(enterprise, consent=False)
    assert _ids(CampaignFactory()) == set()


@pytest.mark.parametrize(
    ("days_ago", "status", "fatigue_days", "included"),
    [
        (10, Invitation.Status.SENT, 30, False),
        (10, Invitation.Status.PENDING, 30, False),
        (31, Invitation.Status.SENT, 30, True),
        (10, Invitation.Status.SENT, 0, True),
        (10, Invitation.Status.SKIPPED, 30, True),
        (10, Invitation.Status.FAILED, 30, True),
    ],
)
def test_survey_fatigue_skips_contacts_invited_by_any_campaign_recently(
    enterprise, days_ago, status, fatigue_days, included
):
    contact = make_contact(enterprise)
    _invite(contact, days_ago=days_ago, status=status)
    campaign = CampaignFactory(fatigue_days=fatigue_days)
    assert _ids(campaign) == ({contact.pk} if included else set())


def test_the_waves_own_invitations_do_not_count_as_fatigue(enterprise):
    contact = make_contact(enterprise)
    campaign = CampaignFactory()
    invitation = _invite(contact, days_ago=0, campaign=campaign)
    assert _ids(campaign) == set()
    assert _ids(campaign, wave_id=invitation.wave_id) == {contact.pk}


def test_audience_is_one_query_however_many_contacts(enterprise, django_assert_num_queries):
    for _ in range(5):
        make_contact(enterprise)
    SurveyOptOut.objects.create(contact=make_contact(enterprise))
    campaign = CampaignFactory()
    with django_assert_num_queries(1):
        assert len(list(campaign_audience(campaign))) == 5
