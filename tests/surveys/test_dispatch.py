"""The dispatch engine in-process: send now, claiming, preparing, sending, window, reminders, closing."""

import contextlib
import re
import smtplib
import threading
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.urls import resolve
from django.utils import timezone
from django.utils.functional import Promise

from apps.accounts.models import User
from apps.accounts.services import user_set_capabilities
from apps.audit.models import AuditEntry
from apps.core.exceptions import InvalidTransition
from apps.customers import services as customers
from apps.surveys.models import (
    MANAGE_PERMISSION,
    Campaign,
    Delivery,
    DeliveryDetail,
    Invitation,
    SurveyOptOut,
    Wave,
    token_hash,
)
from apps.surveys.services import dispatch
from tests.customers.factories import CustomerFactory
from tests.surveys.conftest import make_contact
from tests.surveys.factories import CampaignFactory

pytestmark = pytest.mark.django_db
Status = Campaign.Status
BERLIN_WINTER_NOON = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)


@pytest.fixture
def campaign_staff(other_staff, quality_manager):
    """A staff member given the "run survey campaigns" capability on the People page."""
    user_set_capabilities(user_id=other_staff.pk, permissions={MANAGE_PERMISSION}, actor=quality_manager)
    return User.objects.get(pk=other_staff.pk)


def _entries(obj, action=None):
    entries = AuditEntry.objects.filter(object_id=str(obj.pk), object_label=obj.audit_label())
    return entries.filter(action=action) if action else entries


def _due_campaign(**kwargs) -> Campaign:
    return CampaignFactory(next_run_at=timezone.now() - timedelta(minutes=1), **kwargs)


def _prepared_wave(contacts: int = 3, **campaign_kwargs) -> Wave:
    customer = CustomerFactory(segment="Enterprise")
    for _ in range(contacts):
        make_contact(customer)
    wave = dispatch.campaign_claim(campaign_id=_due_campaign(**campaign_kwargs).pk)
    dispatch.wave_prepare(wave_id=wave.pk)
    wave.refresh_from_db()
    return wave


# Send now -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "recurrence"),
    [(Status.SCHEDULED, "once"), (Status.SCHEDULED, "monthly"), (Status.ACTIVE, "quarterly")],
)
def test_send_now_makes_the_campaign_due_and_queues_a_tick_after_commit(
    quality_manager, django_capture_on_commit_callbacks, status, recurrence
):
    campaign = CampaignFactory(status=status, recurrence=recurrence)
    before = campaign.next_run_at
    with (
        mock.patch("apps.surveys.tasks.tick_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        dispatch.campaign_send_now(campaign_id=campaign.pk, actor=quality_manager)
        assert delay.call_count == 0  # not before the commit
    campaign.refresh_from_db()
    assert campaign.next_run_at <= timezone.now()
    assert Campaign.objects.due(timezone.now()).filter(pk=campaign.pk).exists()
    delay.assert_called_once_with()
    entry = _entries(campaign, AuditEntry.Action.UPDATE).get()
    assert entry.reason == "send now"
    assert entry.actor_id == quality_manager.pk
    assert entry.changes["next_run_at"][0][:16] == before.isoformat()[:16]


@pytest.mark.parametrize(
    ("status", "recurrence"),
    [
        (Status.DRAFT, "once"),
        (Status.COMPLETED, "once"),
        (Status.CANCELLED, "monthly"),
        (Status.ACTIVE, "once"),
    ],
)
def test_send_now_is_refused_for_campaigns_that_cannot_run(quality_manager, status, recurrence):
    campaign = CampaignFactory(status=status, recurrence=recurrence)
    with pytest.raises(InvalidTransition):
        dispatch.campaign_send_now(campaign_id=campaign.pk, actor=quality_manager)
    assert not _entries(campaign).exists()


@pytest.mark.parametrize("persona", ["staff", "auditor", "anonymous"])
def test_send_now_needs_the_manage_permission(request, persona):
    actor = request.getfixturevalue(persona)
    campaign = CampaignFactory()
    with pytest.raises(PermissionDenied):
        dispatch.campaign_send_now(campaign_id=campaign.pk, actor=actor)


@pytest.mark.parametrize(
    ("owner", "actor", "allowed"),
    [
        ("campaign_staff", "campaign_staff", True),
        ("quality_manager", "campaign_staff", False),
        ("campaign_staff", "quality_manager", True),
    ],
)
def test_send_now_is_for_the_owner_and_quality_managers(request, owner, actor, allowed):
    campaign = CampaignFactory(owner=request.getfixturevalue(owner))
    user = request.getfixturevalue(actor)
    with mock.patch("apps.surveys.tasks.tick_task.delay"):
        if allowed:
            dispatch.campaign_send_now(campaign_id=campaign.pk, actor=user)
        else:
            with pytest.raises(PermissionDenied):
                dispatch.campaign_send_now(campaign_id=campaign.pk, actor=user)
    campaign.refresh_from_db()
    assert (campaign.next_run_at <= timezone.now()) is allowed
    assert _entries(campaign).exists() is allowed


# Claiming -----------------------------------------------------------------------------


def test_claiming_a_due_one_off_campaign_creates_its_wave_and_activates_it():
    campaign = _due_campaign(close_after_days=21)
    scheduled = campaign.next_run_at
    with mock.patch("apps.surveys.tasks.prepare_wave_task.delay"):
        wave = dispatch.campaign_claim(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert (wave.number, wave.scheduled_for, wave.status) == (1, scheduled, Wave.Status.PREPARING)
    assert timedelta(days=21) <= wave.closes_at - scheduled <= timedelta(days=21, minutes=2)
    assert (campaign.status, campaign.next_run_at, campaign.last_wave_number) == (Status.ACTIVE, None, 1)
    assert campaign.template_version.locked_at is not None
    assert _entries(wave, AuditEntry.Action.CREATE).exists()
    assert _entries(campaign, AuditEntry.Action.TRANSITION).get().changes["status"] == ["scheduled", "active"]
    assert _entries(campaign.template_version, AuditEntry.Action.UPDATE).exists()


def test_claiming_again_creates_nothing():
    campaign = _due_campaign()
    assert dispatch.campaign_claim(campaign_id=campaign.pk) is not None
    assert dispatch.campaign_claim(campaign_id=campaign.pk) is None
    assert dispatch.campaigns_claim_due() == []
    assert campaign.waves.count() == 1


def test_a_campaign_not_due_yet_is_not_claimed():
    campaign = CampaignFactory(next_run_at=timezone.now() + timedelta(minutes=5))
    assert dispatch.campaign_claim(campaign_id=campaign.pk) is None
    assert not campaign.waves.exists()


@pytest.mark.django_db(transaction=True)
def test_two_ticks_claiming_at_the_same_moment_create_one_wave():
    campaign = _due_campaign(recurrence="monthly")
    barrier = threading.Barrier(2)
    results = []

    def tick():
        try:
            barrier.wait(timeout=10)
            results.append(dispatch.campaigns_claim_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(len(r) for r in results) == [0, 1]
    assert list(campaign.waves.values_list("number", flat=True)) == [1]


@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_a_campaign_another_claim_holds_instead_of_waiting():
    from django.db import transaction

    campaign = _due_campaign()
    results = []

    def other_tick():
        try:
            results.append(dispatch.campaign_claim(campaign_id=campaign.pk))
        finally:
            connection.close()

    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        thread = threading.Thread(target=other_tick)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert results == [None]
    assert not campaign.waves.exists()


def test_recurring_campaign_advances_by_its_recurrence_keeping_the_local_time():
    # 09:00 in Berlin in winter (08:00 UTC); a month later it is summer time (07:00 UTC).
    first = datetime(2026, 3, 15, 8, 0, tzinfo=UTC)
    campaign = CampaignFactory(recurrence="monthly", next_run_at=first)
    wave = dispatch.campaign_claim(campaign_id=campaign.pk, now=first + timedelta(minutes=1))
    campaign.refresh_from_db()
    assert wave.scheduled_for == first
    assert campaign.next_run_at == datetime(2026, 4, 15, 7, 0, tzinfo=UTC)
    assert campaign.status == Status.ACTIVE
    second = dispatch.campaign_claim(campaign_id=campaign.pk, now=campaign.next_run_at)
    assert second.number == 2


@pytest.mark.parametrize(
    ("recurrence", "previous", "expected"),
    [
        ("monthly", datetime(2026, 1, 31, 8, 0, tzinfo=UTC), datetime(2026, 2, 28, 8, 0, tzinfo=UTC)),
        ("quarterly", datetime(2026, 1, 10, 8, 0, tzinfo=UTC), datetime(2026, 4, 10, 7, 0, tzinfo=UTC)),
        ("yearly", datetime(2028, 2, 29, 8, 0, tzinfo=UTC), datetime(2029, 2, 28, 8, 0, tzinfo=UTC)),
        ("once", datetime(2026, 1, 10, 8, 0, tzinfo=UTC), None),
    ],
)
def test_next_run_follows_the_local_calendar(recurrence, previous, expected):
    assert dispatch.next_run_after(recurrence, previous, previous) == expected


def test_month_end_runs_do_not_drift_when_catching_up():
    previous = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    # Beat was down through February: the next run is March 31st, not March 28th.
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert dispatch.next_run_after("monthly", previous, now) == datetime(2026, 3, 31, 7, 0, tzinfo=UTC)


def test_a_month_end_series_returns_to_the_31st_after_a_short_month():
    first = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    campaign = CampaignFactory(recurrence="monthly", next_run_at=first)
    runs = []
    for _ in range(3):
        runs.append(campaign.next_run_at)
        dispatch.campaign_claim(campaign_id=campaign.pk, now=campaign.next_run_at)
        campaign.refresh_from_db()
    runs.append(campaign.next_run_at)
    local = [run.astimezone(ZoneInfo("Europe/Berlin")) for run in runs]
    assert [(d.month, d.day, d.hour) for d in local] == [(1, 31, 9), (2, 28, 9), (3, 31, 9), (4, 30, 9)]


def test_after_send_now_the_series_continues_from_the_new_time():
    anchor = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    moved = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
    assert dispatch.next_run_after("monthly", moved, moved, anchor=anchor) == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_catch_up_after_beat_was_down_makes_one_wave_and_skips_to_the_next_future_run():
    missed = timezone.now() - timedelta(days=100)
    campaign = CampaignFactory(recurrence="monthly", next_run_at=missed)
    wave_ids = dispatch.campaigns_claim_due()
    campaign.refresh_from_db()
    assert len(wave_ids) == 1
    assert Wave.objects.get(pk=wave_ids[0]).scheduled_for == missed
    assert timezone.now() < campaign.next_run_at < timezone.now() + timedelta(days=32)
    # The wave still has its full answering time, counted from now.
    assert Wave.objects.get(pk=wave_ids[0]).closes_at > timezone.now() + timedelta(days=20)
    assert dispatch.campaigns_claim_due() == []


# Preparing ----------------------------------------------------------------------------


def test_preparing_creates_one_invitation_per_audience_contact_with_a_working_token(enterprise):
    contacts = [make_contact(enterprise) for _ in range(3)]
    wave = dispatch.campaign_claim(campaign_id=_due_campaign().pk)
    with mock.patch.object(dispatch, "wave_plan_sends"):
        assert dispatch.wave_prepare(wave_id=wave.pk) == 3
    wave.refresh_from_db()
    assert wave.status == Wave.Status.SENDING
    assert wave.invitations_created_at is not None
    invitations = list(wave.invitations.all())
    assert {i.contact_id for i in invitations} == {c.pk for c in contacts}
    for invitation in invitations:
        assert invitation.customer_id == enterprise.pk
        assert invitation.status == Invitation.Status.PENDING
        assert invitation.token_hash == token_hash(invitation.token)
        assert len(invitation.token) >= 64
    assert len({i.nonce for i in invitations}) == 3
    transition = _entries(wave, AuditEntry.Action.TRANSITION).get()
    assert transition.changes["status"] == ["preparing", "sending"]


def test_a_new_invitation_carries_the_hash_of_its_own_token():
    first, second = Invitation.new(), Invitation.new()
    assert first.nonce != second.nonce
    assert first.token_hash == token_hash(first.token)
    assert first.token != second.token


def test_product_campaign_invitations_carry_the_product():
    campaign = _due_campaign(for_product=True)
    customer = CustomerFactory()
    customer.products.add(campaign.audience_product)
    make_contact(customer)
    wave = dispatch.campaign_claim(campaign_id=campaign.pk)
    dispatch.wave_prepare(wave_id=wave.pk)
    assert list(wave.invitations.values_list("product_id", flat=True)) == [campaign.audience_product_id]


def test_preparing_twice_gives_the_same_invitations(enterprise):
    for _ in range(4):
        make_contact(enterprise)
    wave = dispatch.campaign_claim(campaign_id=_due_campaign().pk)
    dispatch.wave_prepare(wave_id=wave.pk)
    first = set(wave.invitations.values_list("pk", "contact_id", "nonce"))
    assert dispatch.wave_prepare(wave_id=wave.pk) == 0  # already SENDING: nothing to do
    # A rerun of a preparation that died after inserting finds the same audience and adds nothing.
    Wave.objects.filter(pk=wave.pk).unaudited_update(status=Wave.Status.PREPARING)
    assert dispatch.wave_prepare(wave_id=wave.pk) == 4
    assert set(wave.invitations.values_list("pk", "contact_id", "nonce")) == first


def test_stuck_preparations_are_queued_again():
    wave = dispatch.campaign_claim(campaign_id=_due_campaign().pk)
    Wave.objects.filter(pk=wave.pk).unaudited_update(created_at=timezone.now() - timedelta(minutes=10))
    fresh = dispatch.campaign_claim(campaign_id=_due_campaign().pk)
    with mock.patch("apps.surveys.tasks.prepare_wave_task.delay") as delay:
        assert dispatch.waves_restart_preparing() == [wave.pk]
    delay.assert_called_once_with(wave.pk)
    assert fresh.pk != wave.pk


def _local(*args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


def _run_wave(campaign: Campaign, now: datetime) -> Wave:
    """Claim and prepare the campaign's due wave at `now`, its invitations then counted as sent."""
    with mock.patch("apps.surveys.tasks.prepare_wave_task.delay"):
        wave = dispatch.campaign_claim(campaign_id=campaign.pk, now=now)
    dispatch.wave_prepare(wave_id=wave.pk, now=now)
    Invitation.objects.filter(wave=wave).update(status=Invitation.Status.SENT, sent_at=now)
    return wave


@pytest.mark.parametrize("late_by", [timedelta(minutes=1), timedelta(days=2)], ids=["on-time", "claimed-late"])
def test_a_monthly_campaign_with_the_default_fatigue_invites_its_contacts_every_month(settings, late_by):
    # February 15 to March 15 is 28 days, less than the default fatigue of 30 days: the
    # campaign's own February wave must not keep its contacts out of March, even when the
    # February wave was claimed and prepared two days late.
    settings.TIME_ZONE = "Europe/Berlin"
    contact = make_contact(CustomerFactory(segment="Enterprise"))
    february = _local(2026, 2, 15, 9, 0)
    campaign = CampaignFactory(recurrence="monthly", next_run_at=february)
    assert campaign.fatigue_days == 30
    first = _run_wave(campaign, february + late_by)
    campaign.refresh_from_db()
    assert campaign.next_run_at == _local(2026, 3, 15, 9, 0)
    second = _run_wave(campaign, campaign.next_run_at + timedelta(minutes=1))
    assert list(first.invitations.values_list("contact_id", flat=True)) == [contact.pk]
    assert list(second.invitations.values_list("contact_id", flat=True)) == [contact.pk]


def test_fatigue_is_measured_back_from_the_waves_scheduled_time(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    recent, earlier = (make_contact(CustomerFactory(segment="Enterprise")) for _ in range(2))
    other = CampaignFactory(audience_kind="contacts", audience_segments=[], next_run_at=_local(2026, 3, 1, 9, 0))
    other.audience_contacts.add(recent)
    _run_wave(other, _local(2026, 3, 1, 9, 1))
    older = CampaignFactory(audience_kind="contacts", audience_segments=[], next_run_at=_local(2026, 2, 1, 9, 0))
    older.audience_contacts.add(earlier)
    _run_wave(older, _local(2026, 2, 1, 9, 1))
    campaign = CampaignFactory(fatigue_days=20, next_run_at=_local(2026, 3, 10, 9, 0))
    # Prepared long after its scheduled time: the window still ends on March 10.
    wave = _run_wave(campaign, _local(2026, 4, 2, 9, 0))
    assert set(wave.invitations.values_list("contact_id", flat=True)) == {earlier.pk}


@pytest.mark.django_db(transaction=True)
def test_two_campaigns_preparing_at_once_do_not_both_invite_a_contact_within_fatigue():
    contact = make_contact(CustomerFactory(segment="Enterprise"))
    waves = []
    for _ in range(2):
        with mock.patch("apps.surveys.tasks.prepare_wave_task.delay"):
            waves.append(dispatch.campaign_claim(campaign_id=_due_campaign(fatigue_days=30).pk))
    barrier = threading.Barrier(2)
    real_new_invitations = dispatch._new_invitations

    def new_invitations_after_the_other_read(wave, rows, product_id):
        # Both transactions have read their audience before either inserts, unless they take turns.
        made = list(real_new_invitations(wave, rows, product_id))
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=3)
        yield from made

    def prepare(wave_id):
        try:
            dispatch.wave_prepare(wave_id=wave_id)
        finally:
            connection.close()

    with (
        mock.patch.object(dispatch, "_new_invitations", new_invitations_after_the_other_read),
        mock.patch.object(dispatch, "wave_plan_sends"),
    ):
        threads = [threading.Thread(target=prepare, args=(wave.pk,)) for wave in waves]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert Invitation.objects.filter(contact=contact).count() == 1
    assert Wave.objects.filter(status=Wave.Status.SENDING).count() == 2


# Sending ------------------------------------------------------------------------------


@pytest.mark.usefixtures("open_window")
def test_each_invitation_is_e_mailed_once_with_its_personal_links():
    wave = _prepared_wave(3)
    result = dispatch.wave_send_invitations(wave_id=wave.pk, limit=10)
    assert (result.sent, result.failed, result.skipped) == (3, 0, 0)
    assert len(mail.outbox) == 3
    for invitation in wave.invitations.select_related("contact"):
        (message,) = [m for m in mail.outbox if m.to == [invitation.contact.email]]
        links = re.findall(r"^https?://\S+$", message.body, flags=re.MULTILINE)
        assert [resolve(urlsplit(link).path).view_name for link in links] == [
            "surveys_public:answer",
            "surveys_public:opt_out",
        ]
        assert {resolve(urlsplit(link).path).kwargs["token"] for link in links} == {invitation.token}
        html = message.alternatives[0][0]
        assert f"/s/{invitation.token}/" in html
        assert message.extra_headers["Message-ID"].startswith(f"<survey-{invitation.pk}-0@")
        assert invitation.status == Invitation.Status.SENT
        assert invitation.sent_at is not None
        assert invitation.next_reminder_at == invitation.sent_at + timedelta(days=7)
        assert invitation.claimed_at is None
        assert list(invitation.deliveries.values_list("sequence", "outcome")) == [(0, "sent")]
    wave.refresh_from_db()
    assert wave.status == Wave.Status.OPEN
    assert wave.sent_at is not None
    assert _entries(wave, AuditEntry.Action.TRANSITION).filter(changes__status=["sending", "open"]).exists()


@pytest.mark.usefixtures("open_window")
def test_a_batch_sends_at_most_its_limit_and_a_rerun_sends_nothing_twice():
    wave = _prepared_wave(5)
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=2).sent == 2
    wave.refresh_from_db()
    assert wave.status == Wave.Status.SENDING
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=10).sent == 3
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=10).sent == 0
    assert len(mail.outbox) == 5
    assert Delivery.objects.filter(outcome="sent").count() == 5


@pytest.mark.usefixtures("open_window")
def test_rows_claimed_by_a_live_batch_are_left_alone_until_their_lease_runs_out():
    wave = _prepared_wave(2)
    now = timezone.now()
    Invitation.objects.filter(wave=wave).update(status=Invitation.Status.SENDING, claimed_at=now)
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=10, now=now + timedelta(minutes=1)).claimed == 0
    later = now + dispatch.CLAIM_LEASE + timedelta(seconds=1)
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=10, now=later).sent == 2


@pytest.mark.usefixtures("open_window")
def test_a_refused_recipient_is_recorded_failed_and_the_others_still_go_out():
    wave = _prepared_wave(3)
    refused = wave.invitations.select_related("contact").first()
    real_send = EmailBackend.send_messages

    def send(self, messages):
        if messages[0].to == [refused.contact.email]:
            raise smtplib.SMTPRecipientsRefused({refused.contact.email: (550, b"no such user")})
        return real_send(self, messages)

    with mock.patch.object(EmailBackend, "send_messages", send):
        result = dispatch.wave_send_invitations(wave_id=wave.pk, limit=10)
    assert (result.sent, result.failed) == (2, 1)
    refused.refresh_from_db()
    assert refused.status == Invitation.Status.FAILED
    delivery = refused.deliveries.get()
    assert (delivery.outcome, delivery.detail) == ("failed", "SMTPRecipientsRefused")
    assert refused.contact.email not in delivery.detail
    assert wave.invitations.filter(status="sent").count() == 2
    wave.refresh_from_db()
    assert wave.status == Wave.Status.OPEN


@pytest.mark.usefixtures("open_window")
def test_a_lost_connection_gives_the_rest_of_the_batch_back_for_the_next_try():
    wave = _prepared_wave(4)
    real_send = EmailBackend.send_messages
    calls = {"n": 0}

    def send(self, messages):
        calls["n"] += 1
        if calls["n"] == 2:
            raise smtplib.SMTPServerDisconnected("gone")
        return real_send(self, messages)

    with mock.patch.object(EmailBackend, "send_messages", send):
        result = dispatch.wave_send_invitations(wave_id=wave.pk, limit=10)
    assert (result.sent, result.failed, result.released) == (1, 1, 2)
    statuses = list(wave.invitations.order_by("pk").values_list("status", "attempts", "claimed_at"))
    assert statuses == [("sent", 1, None), ("pending", 1, None), ("pending", 0, None), ("pending", 0, None)]
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=10).sent == 3
    assert len(mail.outbox) == 4


@pytest.mark.usefixtures("open_window")
def test_an_invitation_failing_every_attempt_is_given_up():
    wave = _prepared_wave(1)
    with mock.patch.object(EmailBackend, "send_messages", side_effect=ConnectionResetError("reset")):
        for _ in range(dispatch.MAX_SEND_ATTEMPTS):
            dispatch.wave_send_invitations(wave_id=wave.pk, limit=10)
    invitation = wave.invitations.get()
    assert (invitation.status, invitation.attempts) == ("failed", dispatch.MAX_SEND_ATTEMPTS)
    assert invitation.deliveries.filter(outcome="failed").count() == dispatch.MAX_SEND_ATTEMPTS
    wave.refresh_from_db()
    assert wave.status == Wave.Status.OPEN


@pytest.mark.usefixtures("open_window")
@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda c: customers.contact_erase(contact_id=c.pk, actor=None, reason="asked"), "contact erased"),
        (lambda c: SurveyOptOut.objects.create(contact=c), "opted out"),
        (lambda c: customers.contact_update(contact_id=c.pk, actor=None, survey_consent=False), "no survey consent"),
    ],
)
def test_a_contact_erased_or_opted_out_after_preparing_is_skipped(spoil, reason):
    wave = _prepared_wave(2)
    spoilt = wave.invitations.first()
    spoil(spoilt.contact)
    result = dispatch.wave_send_invitations(wave_id=wave.pk, limit=10)
    assert (result.sent, result.skipped) == (1, 1)
    spoilt.refresh_from_db()
    assert spoilt.status == Invitation.Status.SKIPPED
    assert list(spoilt.deliveries.values_list("outcome", "detail")) == [("skipped", reason)]
    assert len(mail.outbox) == 1


@pytest.mark.usefixtures("open_window")
def test_a_cancelled_campaign_sends_no_more_invitations_or_reminders():
    wave = _prepared_wave(3)
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=1).sent == 1
    Campaign.objects.filter(pk=wave.campaign_id).unaudited_update(status=Status.CANCELLED)
    result = dispatch.wave_send_invitations(wave_id=wave.pk, limit=10)
    assert (result.sent, result.skipped) == (0, 2)
    assert set(Delivery.objects.filter(outcome="skipped").values_list("detail", flat=True)) == {"campaign cancelled"}
    later = timezone.now() + timedelta(days=8)
    assert dispatch.wave_send_reminders(wave_id=wave.pk, limit=10, now=later).claimed == 0
    assert len(mail.outbox) == 1


def test_the_sent_once_rule_is_a_database_constraint():
    from django.db import IntegrityError, transaction

    wave = _prepared_wave(1)
    invitation = wave.invitations.get()
    Delivery.objects.create(invitation=invitation, sequence=0, outcome="sent", at=timezone.now())
    Delivery.objects.create(invitation=invitation, sequence=0, outcome="failed", at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(invitation=invitation, sequence=0, outcome="sent", at=timezone.now())


def test_each_message_costs_only_its_outcome_write(open_window):
    from django.test.utils import CaptureQueriesContext

    def queries(contacts: int) -> int:
        wave = _prepared_wave(contacts)
        with CaptureQueriesContext(connection) as context:
            assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=50).sent == contacts
        return len(context)

    small, large = queries(2), queries(6)
    # Savepoint, Delivery insert, invitation update, release: nothing loaded per recipient.
    assert large - small == 4 * 4
    assert small <= 16 + 4 * 2


# Planning and rate --------------------------------------------------------------------


@pytest.mark.usefixtures("open_window")
@pytest.mark.parametrize(
    ("pending", "rate", "batch_size", "countdowns"),
    [
        (50, 30, 10, [0, 20, 40]),
        (45, 100, 20, [0, 12, 24]),
        (5, 600, 200, [0]),
        (10, 2, 200, [0]),
    ],
)
def test_batches_are_planned_at_the_campaign_rate(settings, pending, rate, batch_size, countdowns):
    settings.SURVEY_DISPATCH_BATCH_SIZE = batch_size
    wave = _prepared_wave(0, send_rate_per_minute=rate)
    customer = CustomerFactory()
    Invitation.objects.bulk_create(
        Invitation(
            wave=wave, campaign=wave.campaign, contact=make_contact(customer), customer=customer, token_hash=f"h{n}"
        )
        for n in range(pending)
    )
    Wave.objects.filter(pk=wave.pk).unaudited_update(status=Wave.Status.SENDING)
    with mock.patch("apps.surveys.tasks.send_invitations_task.apply_async") as apply_async:
        plan = dispatch.wave_plan_sends(wave_id=wave.pk)
    assert plan.invitation_batches == len(countdowns)
    assert [c.kwargs["countdown"] for c in apply_async.call_args_list] == countdowns
    per_batch = min(batch_size, rate)
    for call in apply_async.call_args_list:
        assert call.args[0] == (wave.pk, per_batch)
        assert call.kwargs["expires"] == call.kwargs["countdown"] + 60


def test_nothing_is_planned_or_sent_outside_the_daytime_window(settings):
    settings.SURVEY_SEND_WINDOW = (8, 20)
    settings.TIME_ZONE = "Europe/Berlin"
    wave = _prepared_wave(2)
    night = datetime(2026, 1, 15, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    with mock.patch("apps.surveys.tasks.send_invitations_task.apply_async") as apply_async:
        assert dispatch.wave_plan_sends(wave_id=wave.pk, now=night) == dispatch.Plan()
    apply_async.assert_not_called()
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=10, now=night).claimed == 0
    assert mail.outbox == []
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=10, now=BERLIN_WINTER_NOON).sent == 2


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2026, 1, 15, 6, 59, tzinfo=UTC), False),  # 07:59 CET
        (datetime(2026, 1, 15, 7, 0, tzinfo=UTC), True),  # 08:00 CET
        (datetime(2026, 1, 15, 18, 59, tzinfo=UTC), True),  # 19:59 CET
        (datetime(2026, 1, 15, 19, 0, tzinfo=UTC), False),  # 20:00 CET
        (datetime(2026, 7, 15, 6, 0, tzinfo=UTC), True),  # 08:00 CEST
        (datetime(2026, 7, 15, 18, 0, tzinfo=UTC), False),  # 20:00 CEST
    ],
)
def test_send_window_is_in_local_hours(settings, moment, inside):
    settings.SURVEY_SEND_WINDOW = (8, 20)
    settings.TIME_ZONE = "Europe/Berlin"
    assert dispatch.in_send_window(moment) is inside


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Night before the spring change: 08:00 on 29 March is already summer time.
        (datetime(2026, 3, 28, 21, 0, tzinfo=UTC), datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
        # Night before the autumn change: 08:00 on 25 October is winter time again.
        (datetime(2026, 10, 24, 20, 0, tzinfo=UTC), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        # Early morning waits for the same day's start.
        (datetime(2026, 1, 15, 3, 0, tzinfo=UTC), datetime(2026, 1, 15, 7, 0, tzinfo=UTC)),
        # Inside the window: now.
        (BERLIN_WINTER_NOON, BERLIN_WINTER_NOON),
    ],
)
def test_work_outside_the_window_waits_for_the_next_window_start(settings, moment, expected):
    settings.SURVEY_SEND_WINDOW = (8, 20)
    settings.TIME_ZONE = "Europe/Berlin"
    assert dispatch.next_send_time(moment) == expected


# Reminders ----------------------------------------------------------------------------


def _sent_wave(contacts: int = 2, **campaign_kwargs) -> tuple[Wave, datetime]:
    wave = _prepared_wave(contacts, **campaign_kwargs)
    sent_at = timezone.now()
    dispatch.wave_send_invitations(wave_id=wave.pk, limit=100, now=sent_at)
    mail.outbox.clear()
    return wave, sent_at


@pytest.mark.usefixtures("open_window")
def test_reminders_go_to_those_who_did_not_answer_at_most_max_and_interval_apart():
    wave, sent_at = _sent_wave(2, reminder_interval_days=7, max_reminders=2, close_after_days=30)
    answered = wave.invitations.first()
    Invitation.objects.filter(pk=answered.pk).update(responded_at=sent_at + timedelta(days=1))

    def remind(days: float) -> int:
        return dispatch.wave_send_reminders(wave_id=wave.pk, limit=100, now=sent_at + timedelta(days=days)).sent

    assert remind(6.9) == 0
    assert remind(7.1) == 1
    assert remind(7.2) == 0  # the next one is a full interval after this reminder
    assert remind(14.0) == 0
    assert remind(14.2) == 1
    assert remind(21.5) == 0  # max_reminders reached
    silent = wave.invitations.exclude(pk=answered.pk).get()
    assert silent.reminders_sent == 2
    assert silent.next_reminder_at is None
    assert list(silent.deliveries.values_list("sequence", "outcome")) == [(0, "sent"), (1, "sent"), (2, "sent")]
    assert [m.to for m in mail.outbox] == [[silent.contact.email]] * 2
    assert all(m.subject.startswith("Reminder:") for m in mail.outbox)
    assert not answered.deliveries.exclude(sequence=0).exists()


@pytest.mark.usefixtures("open_window")
def test_a_reminder_whose_invitation_is_answered_after_the_claim_is_skipped():
    wave, sent_at = _sent_wave(1)
    invitation = wave.invitations.get()
    real_claim = dispatch._claim_reminders

    def claim_then_answer(wave_id, limit, now):
        ids = real_claim(wave_id, limit, now)
        Invitation.objects.filter(pk__in=ids).update(responded_at=now)
        return ids

    with mock.patch.object(dispatch, "_claim_reminders", claim_then_answer):
        result = dispatch.wave_send_reminders(wave_id=wave.pk, limit=10, now=sent_at + timedelta(days=7.1))
    assert (result.claimed, result.sent, result.skipped) == (1, 0, 1)
    assert mail.outbox == []
    assert list(invitation.deliveries.values_list("sequence", "outcome", "detail")) == [
        (0, "sent", ""),
        (1, "skipped", "already answered"),
    ]
    invitation.refresh_from_db()
    assert (invitation.reminders_sent, invitation.next_reminder_at, invitation.claimed_at) == (0, None, None)


@pytest.mark.usefixtures("open_window")
def test_no_reminder_is_due_after_the_wave_closes():
    wave, sent_at = _sent_wave(1, reminder_interval_days=7, max_reminders=3, close_after_days=10)
    invitation = wave.invitations.get()
    # The second reminder would fall after closing, so it is never scheduled.
    assert dispatch.wave_send_reminders(wave_id=wave.pk, limit=10, now=sent_at + timedelta(days=7.1)).sent == 1
    invitation.refresh_from_db()
    assert invitation.next_reminder_at is None
    assert dispatch.wave_send_reminders(wave_id=wave.pk, limit=10, now=sent_at + timedelta(days=9.5)).sent == 0


def test_reminders_wait_for_the_daytime_window(settings):
    settings.SURVEY_SEND_WINDOW = (0, 24)
    wave, sent_at = _sent_wave(1)
    settings.SURVEY_SEND_WINDOW = (8, 20)
    settings.TIME_ZONE = "Europe/Berlin"
    due = (sent_at + timedelta(days=7)).astimezone(ZoneInfo("Europe/Berlin"))
    night = (due + timedelta(days=1)).replace(hour=2)  # 02:00 local the next night: due, but dark
    assert not dispatch.in_send_window(night)
    assert dispatch.wave_send_reminders(wave_id=wave.pk, limit=10, now=night).claimed == 0
    morning = dispatch.next_send_time(night)
    assert dispatch.wave_send_reminders(wave_id=wave.pk, limit=10, now=morning).sent == 1


@pytest.mark.usefixtures("open_window")
def test_reminder_planning_shares_the_rate_with_invitations(settings):
    settings.SURVEY_DISPATCH_BATCH_SIZE = 10
    wave, sent_at = _sent_wave(3, send_rate_per_minute=20)
    later = sent_at + timedelta(days=8)
    with (
        mock.patch("apps.surveys.tasks.send_reminders_task.apply_async") as reminders,
        mock.patch("apps.surveys.tasks.send_invitations_task.apply_async") as invitations,
    ):
        plan = dispatch.wave_plan_sends(wave_id=wave.pk, now=later)
    assert plan == dispatch.Plan(invitation_batches=0, reminder_batches=1)
    invitations.assert_not_called()
    reminders.assert_called_once()


# Closing ------------------------------------------------------------------------------


@pytest.mark.usefixtures("open_window")
def test_a_wave_past_its_closing_time_closes_and_a_one_off_campaign_completes():
    wave, _ = _sent_wave(1)
    campaign = wave.campaign
    assert dispatch.waves_close_due(now=wave.closes_at - timedelta(seconds=1)) == []
    assert dispatch.waves_close_due(now=wave.closes_at) == [wave.pk]
    wave.refresh_from_db()
    campaign.refresh_from_db()
    assert (wave.status, wave.closed_at) == (Wave.Status.CLOSED, wave.closes_at)
    assert campaign.status == Status.COMPLETED
    assert wave.invitations.get().next_reminder_at is None
    assert _entries(wave, AuditEntry.Action.TRANSITION).filter(changes__status=["open", "closed"]).exists()
    assert _entries(campaign, AuditEntry.Action.TRANSITION).filter(changes__status=["active", "completed"]).exists()
    assert dispatch.waves_close_due(now=wave.closes_at + timedelta(days=1)) == []


@pytest.mark.usefixtures("open_window")
def test_closing_a_wave_of_a_recurring_campaign_keeps_the_campaign_active():
    wave, _ = _sent_wave(1, recurrence="quarterly")
    dispatch.waves_close_due(now=wave.closes_at)
    wave.campaign.refresh_from_db()
    assert wave.campaign.status == Status.ACTIVE


@pytest.mark.usefixtures("open_window")
def test_a_wave_past_its_closing_time_sends_nothing_more_and_closes_skipping_the_unsent():
    wave = _prepared_wave(3)
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=1).sent == 1
    closed = wave.closes_at
    with mock.patch("apps.surveys.tasks.send_invitations_task.apply_async") as apply_async:
        assert dispatch.wave_plan_sends(wave_id=wave.pk, now=closed) == dispatch.Plan()
    apply_async.assert_not_called()
    assert dispatch.wave_send_invitations(wave_id=wave.pk, limit=10, now=closed).claimed == 0
    assert dispatch.waves_close_due(now=closed) == [wave.pk]
    wave.refresh_from_db()
    assert (wave.status, wave.closed_at) == (Wave.Status.CLOSED, closed)
    unsent = wave.invitations.exclude(status=Invitation.Status.SENT)
    assert list(unsent.values_list("status", flat=True)) == ["skipped", "skipped"]
    assert set(Delivery.objects.filter(invitation__in=unsent).values_list("sequence", "outcome", "detail")) == {
        (0, "skipped", "wave closed")
    }
    entry = _entries(wave, AuditEntry.Action.TRANSITION).get(changes__status=["sending", "closed"])
    assert entry.changes["invitations_skipped"] == [0, 2]
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("detail", "label"),
    [
        ("wave closed", "The wave closed before it was sent"),
        ("opted out", "Opted out of surveys"),
        ("SMTPRecipientsRefused 550", "SMTPRecipientsRefused 550"),
    ],
)
def test_the_delivery_log_shows_skip_reasons_as_translatable_labels(detail, label):
    delivery = Delivery(detail=detail)
    assert delivery.detail_label == label
    if detail in DeliveryDetail.values:
        assert isinstance(DeliveryDetail(detail).label, Promise)  # translated when shown, not when stored


@pytest.mark.usefixtures("open_window")
def test_rows_a_live_batch_holds_at_closing_time_are_skipped_by_that_batch_then_the_wave_closes():
    wave = _prepared_wave(2)
    closed = wave.closes_at
    ids = dispatch._claim_invitations(wave.pk, 10, closed - timedelta(minutes=1))
    assert len(ids) == 2
    assert dispatch.waves_close_due(now=closed) == []  # still being sent: wait for the batch
    result = dispatch._send_claimed(ids, dispatch.INVITATION, closed)
    assert (result.sent, result.skipped) == (0, 2)
    assert mail.outbox == []
    assert set(Delivery.objects.filter(invitation__wave=wave).values_list("detail", flat=True)) == {"wave closed"}
    assert dispatch.waves_close_due(now=closed + timedelta(minutes=1)) == [wave.pk]
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.CLOSED


@pytest.mark.parametrize(
    ("status", "to", "allowed"),
    [
        (Wave.Status.PREPARING, Wave.Status.SENDING, True),
        (Wave.Status.PREPARING, Wave.Status.OPEN, False),
        (Wave.Status.SENDING, Wave.Status.OPEN, True),
        (Wave.Status.SENDING, Wave.Status.CLOSED, True),
        (Wave.Status.OPEN, Wave.Status.CLOSED, True),
        (Wave.Status.OPEN, Wave.Status.SENDING, False),
        (Wave.Status.CLOSED, Wave.Status.OPEN, False),
    ],
)
def test_waves_move_only_along_their_transitions(status, to, allowed):
    wave = Wave(number=1, status=status)
    if allowed:
        wave.check_transition(to)
    else:
        with pytest.raises(InvalidTransition):
            wave.check_transition(to)


# Tick ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("open_window")
def test_the_tick_claims_plans_and_closes(django_capture_on_commit_callbacks):
    customer = CustomerFactory(segment="Enterprise")
    make_contact(customer)
    campaign = _due_campaign()
    with (
        mock.patch("apps.surveys.tasks.prepare_wave_task.delay") as prepare,
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = dispatch.dispatch_tick()
    wave = campaign.waves.get()
    assert result["claimed"] == [wave.pk]
    prepare.assert_called_once_with(wave.pk)
    with mock.patch("apps.surveys.tasks.send_invitations_task.apply_async") as apply_async:
        dispatch.wave_prepare(wave_id=wave.pk)
        assert dispatch.dispatch_tick()["batches"] == 1
    apply_async.assert_called_once()


@pytest.mark.usefixtures("open_window")
def test_invitation_links_are_on_site_url(settings):
    settings.SITE_URL = "http://127.0.0.1:8100"
    wave = _prepared_wave(1)
    dispatch.wave_send_invitations(wave_id=wave.pk, limit=10)
    (message,) = mail.outbox
    links = re.findall(r"https?://[^\s\"'<>]+", message.body + message.alternatives[0][0])
    assert links
    assert all(link.startswith("http://127.0.0.1:8100/s/") for link in links), links
