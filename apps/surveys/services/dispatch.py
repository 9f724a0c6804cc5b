"""Campaign dispatch: claiming due campaigns into waves, preparing invitations, sending
invitations and reminders in rate-limited batches inside the daytime window, closing waves.

The pipeline, driven by the `surveys.tick` beat task (apps/surveys/tasks.py) every minute:

1. `campaign_claim` turns a due campaign into a Wave in one transaction (campaign row
   locked with SKIP LOCKED, `next_run_at` advanced, the wave unique per campaign and number),
   so two ticks at once make one wave. A campaign late by several runs gets one wave and
   its next run skips to the first future time.
2. `wave_prepare` freezes the audience into Invitation rows in bulk (unique per wave and
   contact, so running it twice creates nothing new), then the wave is SENDING.
3. `wave_plan_sends` enqueues the next minute of batches at the campaign's rate (one task
   per batch of recipients, countdowns spread over the minute); the tick calls it for every
   wave with work left, so a lost message or a killed worker delays work, never loses it.
4. `wave_send_invitations` / `wave_send_reminders` claim rows with SELECT ... FOR UPDATE SKIP
   LOCKED (status SENDING or `claimed_at`, a lease of CLAIM_LEASE), send over one e-mail
   connection and commit each outcome (a Delivery row and the invitation) right after its
   message, so a worker killed mid-batch leaves only unsent claims behind, taken over when
   their lease runs out. The partial unique constraint on Delivery makes "sent once" a
   database fact. The one gap no database can close (killed after the mail server accepted
   a message, before the commit) resends that single message, with the same Message-ID so
   mail clients can recognise it as the same message.
5. `wave_close` closes waves past `closes_at`, skipping whatever was still waiting to be
   sent (nothing goes out after closing); a one-off campaign is then COMPLETED.

Campaign, wave and template-version changes are audited (actor "system" unless given);
invitations and deliveries are the delivery log itself and are not audited row by row.
"""

from __future__ import annotations

import calendar
import logging
import math
import smtplib
import time as monotonic_time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.exceptions import InvalidTransition
from apps.core.links import absolute_url
from apps.core.queue import enqueue_on_commit
from apps.core.services import in_language
from apps.customers.models import Contact, Customer
from apps.surveys.models import (
    MANAGE_PERMISSION,
    AudienceKind,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryDetail,
    Invitation,
    InvitationStatus,
    Recurrence,
    SurveyOptOut,
    TemplateVersion,
    Wave,
    WaveStatus,
)
from apps.surveys.services.permissions import require_campaign_change, require_perm

logger = logging.getLogger(__name__)

# A claimed row is another worker's for this long. Longer than the batch tasks' hard time
# limit (apps/surveys/tasks.py), so a live batch never loses its rows to a second worker.
CLAIM_LEASE = timedelta(minutes=10)
BATCH_TIME_LIMIT = 5 * 60
# A wave still PREPARING after this long lost its message or its worker: prepare it again.
PREPARE_STALE_AFTER = timedelta(minutes=5)
# Transient SMTP failures of one invitation before it is given up as FAILED.
MAX_SEND_ATTEMPTS = 5
# Batch caps of one tick (STYLE rule 16): the rest waits for the next minute.
TICK_CAMPAIGN_CAP = 50
TICK_WAVE_CAP = 200
INSERT_CHUNK = 2000
# pg_advisory_xact_lock key serialising wave preparation ("surveys" in ASCII), so that two
# campaigns preparing at once each see the other's invitations for the fatigue rule.
PREPARE_LOCK_KEY = 0x73757276657973

RECURRENCE_MONTHS = {Recurrence.MONTHLY: 1, Recurrence.QUARTERLY: 3, Recurrence.YEARLY: 12}
INVITATION = "invitation"
REMINDER = "reminder"


def audit_reason(message, **params) -> str:
    """An audit reason in the portal's language (settings.LANGUAGE_CODE), whoever or whatever
    triggered the change, so the trail reads the same for everyone; mark `message` with
    gettext_lazy."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(message) % params if params else str(message)


# Daytime window -----------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def in_send_window(moment: datetime) -> bool:
    """True when `moment` lies inside settings.SURVEY_SEND_WINDOW (start <= hour < end, local time)."""
    start, end = settings.SURVEY_SEND_WINDOW
    return start <= moment.astimezone(_zone()).hour < end


def next_send_time(moment: datetime) -> datetime:
    """`moment` itself inside the window, otherwise the next window start (UTC).

    Computed on the local calendar with zoneinfo, so the start is 08:00 local on both
    sides of a daylight-saving change (a different UTC hour in summer and winter).
    """
    if in_send_window(moment):
        return moment
    start, _end = settings.SURVEY_SEND_WINDOW
    local = moment.astimezone(_zone())
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    return datetime.combine(day, time(start), tzinfo=_zone()).astimezone(UTC)


# Schedule -----------------------------------------------------------------------------


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def next_run_after(
    recurrence: str, previous: datetime, now: datetime, *, anchor: datetime | None = None
) -> datetime | None:
    """The first run of the recurrence after both `previous` and `now`; None for one-off campaigns.

    Steps are counted on the local calendar (09:00 stays 09:00 across daylight saving) from
    `anchor`, the series' first run, when `previous` belongs to that series: a run on the
    31st falls on the last day of shorter months and comes back to the 31st afterwards.
    After a moved schedule ("send now", an edit) the series restarts from `previous`.
    Runs missed while nothing ticked are skipped rather than sent in a burst.
    """
    months = RECURRENCE_MONTHS.get(recurrence)
    if months is None:
        return None
    base, step = previous.astimezone(_zone()), 1
    if anchor is not None and anchor < previous:
        local_anchor = anchor.astimezone(_zone())
        elapsed = (base.year - local_anchor.year) * 12 + base.month - local_anchor.month
        if elapsed % months == 0 and _add_months(local_anchor, elapsed) == base:
            base, step = local_anchor, elapsed // months + 1
    while True:
        candidate = _add_months(base, months * step).astimezone(UTC)
        if candidate > now:
            return candidate
        step += 1


# Links --------------------------------------------------------------------------------


def _public_url(name: str, token: str, fallback: str) -> str:
    try:
        path = reverse(name, args=[token])
    except NoReverseMatch:
        path = fallback
    return absolute_url(path)


def answer_url(token: str) -> str:
    """Absolute link to the public answer page of an invitation token."""
    return _public_url("surveys_public:answer", token, f"/s/{token}/")


def opt_out_url(token: str) -> str:
    """Absolute link to the opt-out page of an invitation token."""
    return _public_url("surveys_public:opt_out", token, f"/s/{token}/opt-out/")


# Audience -----------------------------------------------------------------------------


def campaign_audience(campaign: Campaign, *, at: datetime | None = None, wave_id: int | None = None) -> QuerySet:
    """The contacts a wave of `campaign` scheduled for `at` (default now) invites, as one SQL query.

    Surveyable contacts (consent, not erased, active customer), active and with an e-mail,
    chosen by the campaign's audience kind; minus contacts who opted out; minus contacts
    invited by any campaign, this one included, within `fatigue_days` before `at`
    (invitations skipped or failed do not count, they never reached the person; the
    invitations of wave `wave_id` do not count either, so preparing a wave again finds the
    same audience). Invitations are dated by their wave's `scheduled_for`, like `at`, so a
    wave prepared late never moves a contact into or out of the next wave's window; and
    fatigue stays below the recurrence's shortest gap (Campaign.effective_fatigue_days), so
    a campaign's own previous wave never keeps its contacts out.
    """
    at = at or timezone.now()
    contacts = Contact.objects.surveyable().filter(is_active=True).exclude(email_index="")
    if campaign.audience_kind == AudienceKind.SEGMENTS:
        contacts = contacts.filter(customer__segment__in=campaign.audience_segments or [])
    elif campaign.audience_kind == AudienceKind.PRODUCT:
        uses = Customer.products.through.objects.filter(
            customer_id=OuterRef("customer_id"), product_id=campaign.audience_product_id
        )
        contacts = contacts.filter(Exists(uses))
    else:
        chosen = Campaign.audience_contacts.through.objects.filter(campaign_id=campaign.pk, contact_id=OuterRef("pk"))
        contacts = contacts.filter(Exists(chosen))
    contacts = contacts.filter(~Exists(SurveyOptOut.objects.filter(contact_id=OuterRef("pk"))))
    fatigue_days = campaign.effective_fatigue_days
    if fatigue_days:
        recent = Invitation.objects.filter(
            contact_id=OuterRef("pk"), wave__scheduled_for__gt=at - timedelta(days=fatigue_days)
        ).exclude(status__in=[InvitationStatus.SKIPPED, InvitationStatus.FAILED])
        if wave_id is not None:
            recent = recent.exclude(wave_id=wave_id)
        contacts = contacts.filter(~Exists(recent))
    return contacts.order_by("pk")


# Send now -----------------------------------------------------------------------------


@transaction.atomic
def campaign_send_now(*, campaign_id: int, actor) -> Campaign:
    """The "send now" button: the campaign's next run becomes now and a tick is queued after commit.

    Allowed for a scheduled campaign and for an active recurring one (Campaign.can_send_now;
    the recurrence then continues from now), to users who may change the campaign
    (PermissionDenied). Locks the campaign row; audit entry with the old and new time.
    Raises InvalidTransition for drafts, completed, cancelled and active one-off campaigns.
    """
    from apps.surveys.tasks import tick_task

    require_perm(actor, MANAGE_PERMISSION)
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    require_campaign_change(actor, campaign)
    if not campaign.can_send_now:
        raise InvalidTransition(
            _("This campaign cannot be sent now (status: %(status)s).") % {"status": campaign.get_status_display()}
        )
    before = campaign.next_run_at
    campaign.next_run_at = timezone.now()
    campaign.save(update_fields=["next_run_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=campaign,
        changes={"next_run_at": [before, campaign.next_run_at]},
        reason=audit_reason(gettext_lazy("send now")),
    )
    enqueue_on_commit(tick_task)
    return campaign


# Claiming -----------------------------------------------------------------------------


@transaction.atomic
def campaign_claim(*, campaign_id: int, now: datetime | None = None, actor=None) -> Wave | None:
    """Claim one due campaign: create its next Wave, or return None when it is not due (any more).

    The campaign row is locked with SKIP LOCKED and must still be due under the lock, so of
    two ticks at once exactly one creates the wave. The wave is scheduled for the claimed
    `next_run_at` and closes `close_after_days` after it starts (a late claim does not
    shorten the time customers have to answer). `next_run_at` advances by the recurrence
    (None for one-off campaigns), a scheduled campaign becomes ACTIVE, the questionnaire
    version is locked on first send. Audit entries for all three; the wave's preparation is
    queued after commit.
    """
    from apps.surveys.tasks import prepare_wave_task

    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update(skip_locked=True).due(now).filter(pk=campaign_id).first()
    if campaign is None:
        return None
    scheduled_for = campaign.next_run_at
    wave = Wave.objects.create(
        campaign=campaign,
        number=campaign.last_wave_number + 1,
        scheduled_for=scheduled_for,
        closes_at=max(scheduled_for, now) + timedelta(days=campaign.close_after_days),
    )
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=wave,
        changes={
            "campaign": [None, campaign.pk],
            "number": [None, wave.number],
            "scheduled_for": [None, scheduled_for],
            "closes_at": [None, wave.closes_at],
            "status": [None, wave.status],
        },
    )
    before = audit.snapshot(campaign, ["status", "next_run_at", "last_wave_number"])
    if campaign.status == CampaignStatus.SCHEDULED:
        campaign.check_transition(CampaignStatus.ACTIVE)
        campaign.status = CampaignStatus.ACTIVE
    campaign.last_wave_number = wave.number
    first_run = campaign.waves.order_by("number").values_list("scheduled_for", flat=True).first()
    campaign.next_run_at = next_run_after(campaign.recurrence, scheduled_for, now, anchor=first_run)
    campaign.save(update_fields=["status", "next_run_at", "last_wave_number", "updated_at"])
    after = audit.snapshot(campaign, ["status", "next_run_at", "last_wave_number"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION if before["status"] != after["status"] else AuditEntry.Action.UPDATE,
        obj=campaign,
        changes=audit.diff(before, after),
        reason=audit_reason(gettext_lazy("wave %(number)d"), number=wave.number),
    )
    version = TemplateVersion.objects.select_for_update().get(pk=campaign.template_version_id)
    if version.locked_at is None:
        version.locked_at = now
        version.save(update_fields=["locked_at", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=version,
            changes={"locked_at": [None, now]},
            reason=audit_reason(gettext_lazy("first sent by campaign #%(id)d"), id=campaign.pk),
        )
    wave_id = wave.pk
    enqueue_on_commit(prepare_wave_task, wave_id)
    return wave


def campaigns_claim_due(*, now: datetime | None = None, limit: int = TICK_CAMPAIGN_CAP) -> list[int]:
    """Claim up to `limit` due campaigns (oldest run first); returns the new waves' ids."""
    now = now or timezone.now()
    ids = list(Campaign.objects.due(now).order_by("next_run_at", "pk").values_list("pk", flat=True)[:limit])
    waves = [campaign_claim(campaign_id=campaign_id, now=now) for campaign_id in ids]
    return [wave.pk for wave in waves if wave is not None]


# Preparing ----------------------------------------------------------------------------


def _new_invitations(wave: Wave, rows, product_id: int | None):
    for contact_id, customer_id in rows:
        yield Invitation.new(
            wave_id=wave.pk,
            campaign_id=wave.campaign_id,
            contact_id=contact_id,
            customer_id=customer_id,
            product_id=product_id,
        )


@transaction.atomic
def wave_prepare(*, wave_id: int, now: datetime | None = None, actor=None) -> int:
    """Freeze the wave's audience into invitations; returns how many the wave has.

    Preparations take turns (a transaction-level advisory lock): each reads the audience
    after the previous one committed its invitations, so two campaigns preparing at once
    cannot both invite a contact the fatigue rule should have kept out of one of them.
    Runs only on a PREPARING wave, locked with SKIP LOCKED (a second run at the same time,
    or after the first committed, returns quietly). All invitations are inserted in bulk in
    this one transaction with ignore_conflicts on (wave, contact), so a rerun after a crash
    creates exactly the same set. The wave becomes SENDING (audited) and the first minute
    of batches is planned after commit.
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PREPARE_LOCK_KEY])
    wave = (
        Wave.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("campaign")
        .filter(pk=wave_id, status=WaveStatus.PREPARING)
        .first()
    )
    if wave is None:
        return 0
    campaign = wave.campaign
    product_id = campaign.audience_product_id if campaign.audience_kind == AudienceKind.PRODUCT else None
    rows = campaign_audience(campaign, at=wave.scheduled_for, wave_id=wave.pk).values_list("pk", "customer_id")
    invitations = _new_invitations(wave, rows.iterator(chunk_size=INSERT_CHUNK), product_id)
    while chunk := list(islice(invitations, INSERT_CHUNK)):
        Invitation.objects.bulk_create(chunk, ignore_conflicts=True)
    count = Invitation.objects.filter(wave_id=wave.pk).count()
    wave.check_transition(WaveStatus.SENDING)
    wave.status = WaveStatus.SENDING
    wave.invitations_created_at = now
    wave.save(update_fields=["status", "invitations_created_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=wave,
        changes={"status": [WaveStatus.PREPARING, WaveStatus.SENDING], "invitations": [0, count]},
    )
    transaction.on_commit(lambda: wave_plan_sends(wave_id=wave_id))
    return count


def waves_restart_preparing(*, now: datetime | None = None, limit: int = TICK_WAVE_CAP) -> list[int]:
    """Queue preparation again for waves left PREPARING too long (lost message, killed worker)."""
    from apps.surveys.tasks import prepare_wave_task

    now = now or timezone.now()
    ids = list(
        Wave.objects.filter(status=WaveStatus.PREPARING, created_at__lt=now - PREPARE_STALE_AFTER)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for wave_id in ids:
        prepare_wave_task.delay(wave_id)
    return ids


# Planning -----------------------------------------------------------------------------


def _claimable_invitations(wave_id: int, now: datetime) -> QuerySet:
    lease_expired = Q(status=InvitationStatus.SENDING, claimed_at__lt=now - CLAIM_LEASE)
    return Invitation.objects.filter(Q(status=InvitationStatus.PENDING) | lease_expired, wave_id=wave_id)


def _due_reminders(wave: Wave, now: datetime) -> QuerySet:
    if (
        wave.status not in (WaveStatus.SENDING, WaveStatus.OPEN)
        or wave.closes_at <= now
        or wave.campaign.status == CampaignStatus.CANCELLED
    ):
        return Invitation.objects.none()
    return Invitation.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE),
        wave_id=wave.pk,
        status=InvitationStatus.SENT,
        responded_at__isnull=True,
        next_reminder_at__lte=now,
        reminders_sent__lt=wave.campaign.max_reminders,
    )


@dataclass(frozen=True)
class Plan:
    invitation_batches: int = 0
    reminder_batches: int = 0


def wave_plan_sends(*, wave_id: int, now: datetime | None = None) -> Plan:
    """Queue the coming minute of send batches for one wave, at most `send_rate_per_minute`
    e-mails (invitations first, then reminders), each batch at most SURVEY_DISPATCH_BATCH_SIZE,
    started at countdowns spaced by the rate. Outside the daytime window nothing is queued
    (the first tick of the next window starts again). A SENDING wave with nothing left to
    send becomes OPEN. Each task expires a minute after its start time, so batches that
    could not run in their minute are dropped and planned again, never piled up.
    """
    from apps.surveys.tasks import send_invitations_task, send_reminders_task

    now = now or timezone.now()
    wave = Wave.objects.select_related("campaign").filter(pk=wave_id).first()
    if wave is None or wave.closes_at <= now:
        # A closed wave (or one about to be) sends nothing more: wave_close skips what is left.
        return Plan()
    pending = 0
    if wave.status == WaveStatus.SENDING:
        pending = _claimable_invitations(wave.pk, now).count()
        if pending == 0:
            wave_mark_sent(wave_id=wave.pk, now=now)
    if not in_send_window(now):
        return Plan()
    rate = wave.campaign.send_rate_per_minute
    per_batch = max(1, min(settings.SURVEY_DISPATCH_BATCH_SIZE, rate))
    invitations = min(pending, rate)
    reminders = min(_due_reminders(wave, now).count(), rate - invitations) if rate > invitations else 0
    plan = Plan(math.ceil(invitations / per_batch), math.ceil(reminders / per_batch))
    for index in range(plan.invitation_batches + plan.reminder_batches):
        task = send_invitations_task if index < plan.invitation_batches else send_reminders_task
        countdown = index * per_batch * 60 / rate
        task.apply_async((wave.pk, per_batch), countdown=countdown, expires=countdown + 60)
    return plan


# Sending ------------------------------------------------------------------------------


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0


class _TransientError(Exception):
    pass


def _is_permanent(error: Exception) -> bool:
    """A refusal that retrying will not change (bad address, 5xx); the rest is retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, ValueError | UnicodeError)


def _error_detail(error: Exception) -> str:
    # The type and SMTP code only: a server's message often repeats the address (personal data).
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def _skip_reason(invitation: Invitation, moment: datetime) -> str:
    contact = invitation.contact
    if invitation.campaign.status == CampaignStatus.CANCELLED:
        return DeliveryDetail.CAMPAIGN_CANCELLED
    if invitation.wave.closes_at <= moment:
        # Claimed before the wave closed, sent after: the link would open a closed survey.
        return DeliveryDetail.WAVE_CLOSED
    if invitation.responded_at is not None:
        # Answered between the reminder's claim and its turn in the batch.
        return DeliveryDetail.ALREADY_ANSWERED
    if contact.erased_at is not None:
        return DeliveryDetail.CONTACT_ERASED
    if invitation.opted_out:
        return DeliveryDetail.OPTED_OUT
    if not contact.survey_consent:
        return DeliveryDetail.NO_CONSENT
    if not contact.is_active or contact.customer.status != Customer.Status.ACTIVE:
        return DeliveryDetail.INACTIVE
    if not contact.email_ct:
        return DeliveryDetail.NO_EMAIL
    return ""


def _message(invitation: Invitation, kind: str, sequence: int) -> EmailMultiAlternatives:
    contact = invitation.contact
    version = invitation.campaign.template_version
    token = invitation.token
    name = contact.name
    with in_language(contact.preferred_language):
        context = {
            "greeting": _("Dear %(name)s,") % {"name": name} if name else _("Dear customer,"),
            "title": version.title,
            "introduction": version.introduction,
            "link": answer_url(token),
            "opt_out_link": opt_out_url(token),
            "closes_at": invitation.wave.closes_at,
        }
        if kind == INVITATION:
            subject = _("%(title)s: a two-minute survey") % {"title": version.title}
        else:
            subject = _("Reminder: %(title)s") % {"title": version.title}
        body = render_to_string(f"emails/surveys/{kind}.txt", context)
        html = render_to_string(f"emails/surveys/{kind}.html", context)
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "qms.invalid"
    message = EmailMultiAlternatives(
        subject=subject.replace("\n", " "),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[contact.email],
        headers={
            # Stable per e-mail, so the rare resend after a worker died mid-delivery is the same message.
            "Message-ID": f"<survey-{invitation.pk}-{sequence}@{domain}>",
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": f"<{context['opt_out_link']}>",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _claim_invitations(wave_id: int, limit: int, now: datetime) -> list[int]:
    with transaction.atomic():
        # Past its closing time a wave sends nothing more; wave_close skips what is left.
        if not Wave.objects.filter(pk=wave_id, status=WaveStatus.SENDING, closes_at__gt=now).exists():
            return []
        ids = list(
            _claimable_invitations(wave_id, now)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Invitation.objects.filter(pk__in=ids).update(status=InvitationStatus.SENDING, claimed_at=now)
    return ids


def _claim_reminders(wave_id: int, limit: int, now: datetime) -> list[int]:
    with transaction.atomic():
        wave = Wave.objects.select_related("campaign").filter(pk=wave_id).first()
        if wave is None:
            return []
        ids = list(
            _due_reminders(wave, now)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Invitation.objects.filter(pk__in=ids).update(claimed_at=now)
    return ids


def _next_reminder(campaign: Campaign, wave: Wave, reminders_sent: int, moment: datetime) -> datetime | None:
    if reminders_sent >= campaign.max_reminders:
        return None
    due = moment + timedelta(days=campaign.reminder_interval_days)
    return due if due < wave.closes_at else None


def _record(
    invitation: Invitation, kind: str, outcome: str, now: datetime, detail: str = "", *, retry: bool = False
) -> None:
    """Write one outcome: the Delivery row and the invitation's state, in one short transaction.

    `retry` (a transient failure) gives the row back for a later batch instead of failing it,
    up to MAX_SEND_ATTEMPTS for invitations. The update is conditional on our claim
    (`claimed_at`), so an outcome never overwrites the work of a worker that took the row
    over after our lease ran out.
    """
    campaign, wave = invitation.campaign, invitation.wave
    mine = Invitation.objects.filter(pk=invitation.pk, claimed_at=invitation.claimed_at)
    sequence = 0 if kind == INVITATION else invitation.reminders_sent + 1
    with transaction.atomic():
        Delivery.objects.create(invitation=invitation, sequence=sequence, outcome=outcome, detail=detail[:300], at=now)
        if kind == INVITATION:
            if outcome == Delivery.Outcome.SENT:
                mine.update(
                    status=InvitationStatus.SENT,
                    sent_at=now,
                    claimed_at=None,
                    attempts=invitation.attempts + 1,
                    next_reminder_at=_next_reminder(campaign, wave, 0, now),
                )
            elif outcome == Delivery.Outcome.SKIPPED:
                mine.update(status=InvitationStatus.SKIPPED, claimed_at=None)
            elif retry and invitation.attempts + 1 < MAX_SEND_ATTEMPTS:
                mine.update(status=InvitationStatus.PENDING, claimed_at=None, attempts=invitation.attempts + 1)
            else:
                mine.update(status=InvitationStatus.FAILED, claimed_at=None, attempts=invitation.attempts + 1)
        elif outcome == Delivery.Outcome.SENT:
            mine.update(
                reminders_sent=sequence,
                last_reminded_at=now,
                claimed_at=None,
                next_reminder_at=_next_reminder(campaign, wave, sequence, now),
            )
        elif retry:
            mine.update(claimed_at=None)
        else:
            mine.update(claimed_at=None, next_reminder_at=None)


def _send_claimed(ids: list[int], kind: str, now: datetime) -> BatchResult:
    started = monotonic_time.monotonic()
    result = BatchResult(claimed=len(ids))
    invitations = (
        Invitation.objects.filter(pk__in=ids)
        .select_related("contact__customer", "campaign__template_version", "wave")
        .annotate(opted_out=Exists(SurveyOptOut.objects.filter(contact_id=OuterRef("contact_id"))))
        .order_by("pk")
    )
    connection = get_connection(fail_silently=False)
    remaining = deque(invitations)
    try:
        connection.open()
        while remaining:
            invitation = remaining.popleft()
            # The batch's clock moved on by the time spent sending (`now` may be a test's fixed time).
            stamp = now + timedelta(seconds=monotonic_time.monotonic() - started)
            reason = _skip_reason(invitation, stamp)
            if reason:
                _record(invitation, kind, Delivery.Outcome.SKIPPED, stamp, reason)
                result.skipped += 1
                continue
            sequence = 0 if kind == INVITATION else invitation.reminders_sent + 1
            try:
                connection.send_messages([_message(invitation, kind, sequence)])
            except Exception as error:
                if _is_permanent(error):
                    _record(invitation, kind, Delivery.Outcome.FAILED, stamp, _error_detail(error))
                    result.failed += 1
                    continue
                # The connection is likely gone: give this and the rest back, the next tick retries.
                _record(invitation, kind, Delivery.Outcome.FAILED, stamp, _error_detail(error), retry=True)
                result.failed += 1
                raise _TransientError from error
            _record(invitation, kind, Delivery.Outcome.SENT, stamp)
            result.sent += 1
    except _TransientError as error:
        logger.warning("survey batch stopped", extra={"kind": kind, "error": _error_detail(error.__cause__)})
    finally:
        connection.close()
        if remaining:
            result.released = _release(remaining, kind)
    return result


def _release(invitations: list[Invitation], kind: str) -> int:
    """Give claimed rows back at once (instead of waiting for their lease)."""
    released = 0
    for invitation in invitations:
        mine = Invitation.objects.filter(pk=invitation.pk, claimed_at=invitation.claimed_at)
        if kind == INVITATION:
            released += mine.update(status=InvitationStatus.PENDING, claimed_at=None)
        else:
            released += mine.update(claimed_at=None)
    return released


def wave_send_invitations(*, wave_id: int, limit: int, now: datetime | None = None) -> BatchResult:
    """Send one batch of at most `limit` invitations of a SENDING wave; the wave becomes OPEN when none are left.

    Claims PENDING rows and rows whose lease ran out (FOR UPDATE SKIP LOCKED, committed at
    once), renders each e-mail in the contact's language, sends over one connection and
    commits each outcome right after its message. A contact erased, opted out or without
    consent since preparing, or of a campaign cancelled or a wave closed since, is SKIPPED
    with a Delivery row. A wave past `closes_at` sends nothing (wave_close skips its
    remaining rows). Outside the daytime window it does nothing.
    """
    now = now or timezone.now()
    if not in_send_window(now):
        return BatchResult()
    started = monotonic_time.monotonic()
    ids = _claim_invitations(wave_id, limit, now)
    result = _send_claimed(ids, INVITATION, now) if ids else BatchResult()
    # Whichever batch finishes last opens the wave (the others still see rows being sent).
    wave_mark_sent(wave_id=wave_id, now=now)
    logger.info(
        "survey invitations batch",
        extra={"wave_id": wave_id, "sent": result.sent, "seconds": round(monotonic_time.monotonic() - started, 3)},
    )
    return result


def wave_send_reminders(*, wave_id: int, limit: int, now: datetime | None = None) -> BatchResult:
    """Send one batch of due reminders of a wave (Delivery sequence 1..max_reminders), claimed
    and committed like invitations. Due: sent, not answered, `next_reminder_at` passed, fewer
    than `max_reminders` sent, the wave still open, the campaign not cancelled; a reminder
    whose invitation was answered (or whose wave closed) after the claim is SKIPPED with a
    Delivery row. Outside the daytime window it does nothing.
    """
    now = now or timezone.now()
    if not in_send_window(now):
        return BatchResult()
    ids = _claim_reminders(wave_id, limit, now)
    return _send_claimed(ids, REMINDER, now) if ids else BatchResult()


@transaction.atomic
def wave_mark_sent(*, wave_id: int, now: datetime | None = None, actor=None) -> bool:
    """A SENDING wave with no invitation left to send (or being sent) becomes OPEN; audited."""
    wave = Wave.objects.select_for_update().filter(pk=wave_id, status=WaveStatus.SENDING).first()
    if wave is None:
        return False
    unfinished = [InvitationStatus.PENDING, InvitationStatus.SENDING]
    if Invitation.objects.filter(wave_id=wave_id, status__in=unfinished).exists():
        return False
    wave.check_transition(WaveStatus.OPEN)
    wave.status = WaveStatus.OPEN
    wave.sent_at = now or timezone.now()
    wave.save(update_fields=["status", "sent_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=wave,
        changes={"status": [WaveStatus.SENDING, WaveStatus.OPEN], "sent_at": [None, wave.sent_at]},
    )
    return True


# Closing ------------------------------------------------------------------------------


def _skip_unsent(wave: Wave, now: datetime) -> int:
    """Skip the invitations of a closing wave still waiting to be sent (or whose batch died),
    each with a "wave closed" Delivery row; returns how many. Rows a live batch holds are
    left to it (it skips them itself: the wave has closed)."""
    ids = list(
        _claimable_invitations(wave.pk, now).select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), INSERT_CHUNK):
        chunk = ids[start : start + INSERT_CHUNK]
        Delivery.objects.bulk_create(
            Delivery(
                invitation_id=pk,
                sequence=0,
                outcome=Delivery.Outcome.SKIPPED,
                detail=DeliveryDetail.WAVE_CLOSED,
                at=now,
            )
            for pk in chunk
        )
        Invitation.objects.filter(pk__in=chunk).update(status=InvitationStatus.SKIPPED, claimed_at=None)
    return len(ids)


@transaction.atomic
def wave_close(*, wave_id: int, now: datetime | None = None, actor=None) -> Wave | None:
    """Close a SENDING or OPEN wave past `closes_at`: invitations not sent yet are SKIPPED
    ("wave closed" in the delivery log), pending reminders dropped, `closed_at` set; a
    one-off campaign whose waves are all closed becomes COMPLETED. A wave some live batch
    is still sending from waits for the next tick. Locks the campaign, then the wave (the
    order campaign_claim uses), then the rows it skips; audit entries for the wave and the
    campaign. None when there is nothing to do (yet).
    """
    now = now or timezone.now()
    campaign_id = Wave.objects.filter(pk=wave_id).values_list("campaign_id", flat=True).first()
    if campaign_id is None:
        return None
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    wave = Wave.objects.select_for_update().get(pk=wave_id)
    if wave.status not in (WaveStatus.SENDING, WaveStatus.OPEN) or wave.closes_at > now:
        return None
    before = wave.status
    changes: dict = {"status": [before, WaveStatus.CLOSED], "closed_at": [None, now]}
    if before == WaveStatus.SENDING:
        skipped = _skip_unsent(wave, now)
        if skipped:
            changes["invitations_skipped"] = [0, skipped]
        if Invitation.objects.filter(wave_id=wave_id, status=InvitationStatus.SENDING).exists():
            return None
    wave.check_transition(WaveStatus.CLOSED)
    wave.status = WaveStatus.CLOSED
    wave.closed_at = now
    wave.save(update_fields=["status", "closed_at", "updated_at"])
    audit.record(actor=actor, action=AuditEntry.Action.TRANSITION, obj=wave, changes=changes)
    Invitation.objects.filter(wave_id=wave_id, next_reminder_at__isnull=False).update(next_reminder_at=None)
    still_running = campaign.waves.exclude(status=WaveStatus.CLOSED).exists()
    if (
        campaign.recurrence == Recurrence.ONCE
        and campaign.status == CampaignStatus.ACTIVE
        and campaign.next_run_at is None
        and not still_running
    ):
        campaign.check_transition(CampaignStatus.COMPLETED)
        campaign.status = CampaignStatus.COMPLETED
        campaign.save(update_fields=["status", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.TRANSITION,
            obj=campaign,
            changes={"status": [CampaignStatus.ACTIVE, CampaignStatus.COMPLETED]},
            reason=audit_reason(gettext_lazy("wave %(number)d closed"), number=wave.number),
        )
    return wave


def waves_close_due(*, now: datetime | None = None, limit: int = TICK_WAVE_CAP) -> list[int]:
    """Close up to `limit` sending or open waves past their closing time; returns the ids closed."""
    now = now or timezone.now()
    ids = list(
        Wave.objects.filter(status__in=[WaveStatus.SENDING, WaveStatus.OPEN], closes_at__lte=now)
        .order_by("closes_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return [wave_id for wave_id in ids if wave_close(wave_id=wave_id, now=now) is not None]


# The tick -----------------------------------------------------------------------------


def dispatch_tick(*, now: datetime | None = None) -> dict:
    """Everything the minute's beat tick does, each step batch-capped: claim due campaigns,
    restart stuck preparations, plan send batches for waves with work left, close waves."""
    now = now or timezone.now()
    claimed = campaigns_claim_due(now=now)
    restarted = waves_restart_preparing(now=now)
    reminder_due = Invitation.objects.filter(
        wave_id=OuterRef("pk"),
        status=InvitationStatus.SENT,
        responded_at__isnull=True,
        next_reminder_at__lte=now,
    )
    busy = (
        Wave.objects.filter(Q(status=WaveStatus.SENDING) | Q(Exists(reminder_due), status=WaveStatus.OPEN))
        .order_by("pk")
        .values_list("pk", flat=True)[:TICK_WAVE_CAP]
    )
    planned = {wave_id: wave_plan_sends(wave_id=wave_id, now=now) for wave_id in list(busy)}
    closed = waves_close_due(now=now)
    return {
        "claimed": claimed,
        "restarted": restarted,
        "batches": sum(p.invitation_batches + p.reminder_batches for p in planned.values()),
        "closed": closed,
    }
