"""Every write on complaints: creation, transitions, assessment, messages, rating,
SLA escalations and recurrence alerts. Each locks its row, writes the audit entry
in the same transaction and queues e-mails through the outbox (apps.core.services).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.roles import Role
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.complaints import sla
from apps.complaints.models import (
    ASSIGN_PERMISSION,
    SLA_POLICY_FIELDS,
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintEscalation,
    ComplaintMessage,
    RecurrenceAlert,
    SlaPolicy,
    SlaStage,
    token_hash,
)
from apps.core.crypto import blind_index
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.core.links import absolute_url
from apps.core.public import earlier_submission
from apps.core.queue import enqueue_on_commit
from apps.core.sequences import NextReference
from apps.core.services import email_enqueue, greeting, in_language, outbox_erase

Status = Complaint.Status
PUBLIC = "public"
# A customer takes a complaint to an external dispute body (ISO 10003) once our handling
# has ended, so these stay open after closure; everything else needs a reopen first.
FIELDS_OPEN_AFTER_HANDLING = {"dispute_body", "dispute_date", "dispute_outcome"}
TEXT = "emails/notification.txt"
HTML = "emails/notification.html"
CUSTOMER_TEXT = "emails/complaint_update.txt"
CUSTOMER_HTML = "emails/complaint_update.html"


def reopen_days() -> int:
    return settings.COMPLAINT_REOPEN_DAYS


def _quality_manager_emails() -> list[str]:
    from apps.accounts.models import User

    return sorted(set(User.objects.active().with_role(Role.QUALITY_MANAGER).values_list("email", flat=True)))


def _notify_quality_managers(*, key: str, subject: str, paragraphs: list[str], link: str = "") -> None:
    for address in _quality_manager_emails():
        email_enqueue(
            to=address,
            subject=subject,
            template=TEXT,
            html_template=HTML,
            context={"paragraphs": paragraphs, "link": link},
            idempotency_key=f"{key}:{address}"[:200],
        )


def recompute_due(
    complaint: Complaint, *, only_stages_not_started: bool = False, missed_before: Any = None
) -> list[str]:
    """Set the due dates of unfinished stages from the severity policy; the pause time shifts them.

    A finished stage keeps its due date: it is the yardstick its completion was measured
    against, and moving it afterwards would turn a missed deadline into a met one (or the
    reverse) in every report. With `only_stages_not_started` (a severity change) a running
    stage keeps its due date too, so that nobody's deadline moves while they work to it.
    A due date before `missed_before` (the moment the clock last ran: now, or the start of
    the pause) was missed; it stays, so neither a pause nor a policy or severity change turns
    the miss into a met deadline. Only a reopening, a new cycle, passes None. Returns the
    changed fields.
    """
    budgets = sla.stage_budgets(complaint.severity)
    changed = []
    previous_done = True  # the first stage runs from receipt
    for stage, (due_field, done_field) in Complaint.STAGE_FIELDS.items():
        finished, started = getattr(complaint, done_field) is not None, previous_done
        previous_done = finished
        if finished or (only_stages_not_started and started):
            continue
        current = getattr(complaint, due_field)
        if missed_before is not None and current is not None and current < missed_before:
            continue
        base = complaint.received_at
        if complaint.reopened_at and stage in (SlaStage.RESPOND, SlaStage.CLOSE):
            base = complaint.reopened_at
        due = sla.add_working_seconds(base, budgets[stage] + complaint.paused_seconds)
        if getattr(complaint, due_field) != due:
            setattr(complaint, due_field, due)
            changed.append(due_field)
    return changed


def tracking_url(token: str) -> str:
    return absolute_url(reverse("complaints:track", args=[token]))


@transaction.atomic
def complaint_create(
    *,
    actor,
    channel: str,
    complainant_name: str,
    complainant_email: str,
    description: str,
    customer=None,
    customer_name: str = "",
    contact=None,
    product=None,
    order_reference: str = "",
    desired_outcome: str = "",
    attachments: Iterable[Any] = (),
    language: str = "",
    submission_key: str = "",
) -> Complaint:
    """Record a complaint: reference CMP-YYYY-NNNNN, SLA clocks started, acknowledgement e-mail queued.

    A `submission_key` already recorded returns that complaint (with `duplicate` set and no
    tracking token): the same form sent twice, or in parallel, is one complaint.

    `actor` is a user or "public" (the web form). `attachments` are uploaded files
    already validated by the caller (apps.complaints.forms.validate_attachment).
    The tracking token is returned once as `complaint.tracking_token`; only its hash is stored.
    """
    if actor != PUBLIC and not getattr(actor, "has_perm", lambda _p: False)("complaints.add_complaint"):
        raise PermissionDenied(_("You may not record complaints."))
    if channel not in Complaint.Channel.values:
        raise BusinessRuleViolation(_("Unknown channel."))
    description = (description or "").strip()
    if not description:
        raise BusinessRuleViolation(_("A complaint needs a description."))
    earlier = earlier_submission(Complaint, submission_key)
    if earlier is not None:
        earlier.duplicate = True
        return earlier
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    complaint = Complaint(
        submission_key=submission_key or None,
        token_hash=token_hash(token),
        customer=customer,
        customer_name=(customer_name or "").strip(),
        contact=contact,
        product=product,
        order_reference=(order_reference or "").strip(),
        description=description,
        desired_outcome=(desired_outcome or "").strip(),
        channel=channel,
        # Staff recording for a known contact write to them in the contact's language.
        language=language or (contact.preferred_language if contact else ""),
        received_at=now,
    )
    complaint.complainant_name = (complainant_name or "").strip()
    complaint.complainant_email = (complainant_email or "").strip()
    complaint.stored_token = token
    complaint.email_index = blind_index(complaint.complainant_email) if complaint.complainant_email else ""
    recompute_due(complaint)
    complaint.reference = NextReference("CMP", year=timezone.localtime(now).year)
    complaint.save()
    complaint.tracking_token = token
    complaint.duplicate = False
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=complaint,
        changes={
            **audit.diff(
                {},
                audit.snapshot(
                    complaint,
                    ["reference", "channel", "customer", "customer_name", "contact", "product", "order_reference"],
                ),
            ),
            "complainant_name": [None, "x"],
            "complainant_email": [None, "x"],
            "status": [None, complaint.status],
        },
    )
    for upload in list(attachments)[:5]:
        attachment_add(complaint=complaint, upload=upload, actor=actor)
    if complaint.complainant_email:
        link = tracking_url(token)
        with in_language(complaint.language):
            email_enqueue(
                to=complaint.complainant_email,
                subject=_("We received your complaint %(ref)s") % {"ref": complaint.reference},
                template=TEXT,
                html_template=HTML,
                context={
                    "greeting": greeting(complaint.complainant_name),
                    "paragraphs": [
                        _("Thank you for telling us. Your complaint has the reference %(ref)s.")
                        % {"ref": complaint.reference},
                        _("You can follow its progress and add information at this private link:"),
                    ],
                    "link": link,
                },
                idempotency_key=f"complaint-ack:{complaint.pk}",
                language=complaint.language or None,
                concerns=complaint,
            )
    return complaint


def attachment_add(*, complaint: Complaint, upload, actor) -> ComplaintAttachment:
    """Store one already validated upload under a random name (Django storage)."""
    attachment = ComplaintAttachment(
        complaint=complaint,
        original_name=(getattr(upload, "name", "") or "attachment")[-200:],
        content_type=getattr(upload, "sniffed_type", "") or "application/octet-stream",
        size=upload.size,
    )
    attachment.file.save("upload", upload, save=False)
    attachment.save()
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=attachment,
        changes={
            "complaint": [None, complaint.pk],
            "content_type": [None, attachment.content_type],
            "size": [None, attachment.size],
        },
    )
    return attachment


@transaction.atomic
def complaint_erase_personal_data(*, complaint_id: int, actor, reason: str) -> Complaint:
    """Erase the complainant (on request, or by the retention job with the system actor).

    Clears name and e-mail, destroys the complaint's data key (description, desired
    outcome, messages and rating comment become unreadable), clears the e-mails to the
    complainant from the outbox (unsent ones are cancelled), retires the tracking link
    and deletes the attachments' files after commit. Status, dates, category, product,
    severity, root cause and resolution stay: the quality record survives without the
    person. Idempotent.
    """
    if actor != AuditEntry.ActorKind.SYSTEM and not getattr(actor, "has_perm", lambda _p: False)(
        "complaints.erase_complaint"
    ):
        raise PermissionDenied(_("You may not erase personal data in complaints."))
    reason = _require(reason, _("Say why the personal data is erased."))
    complaint = _lock(complaint_id)
    if complaint.erased_at is not None:
        return complaint
    for field in ("name_ct", "email_ct", "description_ct", "desired_outcome_ct", "rating_comment_ct", "token_ct"):
        setattr(complaint, field, "")
    complaint.email_index = ""
    # The hash of a token nobody holds: the link in the complainant's mailbox opens nothing.
    complaint.token_hash = token_hash(secrets.token_urlsafe(32))
    complaint.shred_key()
    complaint.erased_at = timezone.now()
    complaint.save(
        update_fields=[
            "token_hash",
            "name_ct",
            "email_ct",
            "description_ct",
            "desired_outcome_ct",
            "rating_comment_ct",
            "token_ct",
            "email_index",
            "data_key",
            "erased_at",
            "updated_at",
        ]
    )
    files = []
    for attachment in complaint.attachments.select_for_update().order_by("pk"):
        if attachment.file:
            files.append(attachment.file.name)
        attachment.file = ""
        attachment.original_name = "erased"
        attachment.save(update_fields=["file", "original_name"])
    outbox_erase(record=complaint)
    if files:
        storage = ComplaintAttachment._meta.get_field("file").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in files])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.ERASE,
        obj=complaint,
        changes={name: ["erased", "erased"] for name in ("complainant_name", "complainant_email", "description")},
        reason=reason,
    )
    return complaint


def complaints_erase_for_contact(*, contact_id: int, actor) -> list[int]:
    """Erasing a contact erases the complaints they filed as that contact (apps.core.personal_data)."""
    ids = list(Complaint.objects.filter(contact_id=contact_id, erased_at__isnull=True).values_list("pk", flat=True))
    for complaint_id in ids:
        complaint_erase_personal_data(
            complaint_id=complaint_id,
            actor=AuditEntry.ActorKind.SYSTEM,
            reason=f"The personal data of contact #{contact_id} was erased.",
        )
    return ids


def complaints_past_retention(*, now=None):
    """Final complaints, not yet erased, unchanged for COMPLAINT_PERSONAL_DATA_RETENTION_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.COMPLAINT_PERSONAL_DATA_RETENTION_DAYS)
    return Complaint.objects.filter(
        status__in=Complaint.FINAL_STATUSES, erased_at__isnull=True, updated_at__lt=cutoff
    ).order_by("pk")


def retention_apply(*, limit: int = 500) -> list[int]:
    """Erase complainants past retention, each in its own transaction; returns the ids."""
    ids = list(complaints_past_retention().values_list("pk", flat=True)[:limit])
    reason = f"Retention period of {settings.COMPLAINT_PERSONAL_DATA_RETENTION_DAYS} days after the complaint ended."
    for complaint_id in ids:
        complaint_erase_personal_data(complaint_id=complaint_id, actor=AuditEntry.ActorKind.SYSTEM, reason=reason)
    return ids


def _lock(complaint_id: int) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=complaint_id)


def _check_can_change(complaint: Complaint, actor) -> None:
    if not complaint.can_be_changed_by(actor):
        raise PermissionDenied(_("You may not change this complaint."))


def _require(text: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BusinessRuleViolation(message)
    return text


def _clock_time(complaint: Complaint, now):
    """Where the SLA clock stands: now, or where it stopped when the complaint was paused."""
    return complaint.paused_at if complaint.is_paused and complaint.paused_at else now


def _apply_transition(
    complaint: Complaint, *, to: str, actor, reason: str = "", extra: dict | None = None
) -> Complaint:
    complaint.check_transition(to)
    now = timezone.now()
    before = complaint.status
    fields = ["status", "previous_status"]
    changes: dict[str, list[Any]] = {"status": [before, to], **(extra or {})}
    missed_before = None if to == Status.REOPENED else _clock_time(complaint, now)
    if before == Status.AWAITING_CUSTOMER and complaint.paused_at:
        paused = sla.working_seconds_between(complaint.paused_at, now)
        complaint.paused_seconds += paused
        complaint.paused_at = None
        fields += ["paused_seconds", "paused_at"]
        changes["paused_seconds"] = [complaint.paused_seconds - paused, complaint.paused_seconds]
    if to == Status.AWAITING_CUSTOMER:
        complaint.previous_status = before
        complaint.paused_at = now
        fields.append("paused_at")
    else:
        complaint.previous_status = ""
    stamp = {
        Status.ACKNOWLEDGED: "acknowledged_at",
        Status.RESPONDED: "responded_at",
        Status.CLOSED: "closed_at",
        Status.REOPENED: "reopened_at",
    }.get(to)
    if to == Status.INVESTIGATING and complaint.assessed_at is None:
        stamp = "assessed_at"
    if stamp:
        setattr(complaint, stamp, now)
        fields.append(stamp)
    if to == Status.REOPENED:
        complaint.cycle += 1
        complaint.responded_at = None
        complaint.closed_at = None
        complaint.rating = None
        complaint.rated_at = None
        fields += ["cycle", "responded_at", "closed_at", "rating", "rated_at"]
    complaint.status = to
    fields += recompute_due(complaint, missed_before=missed_before)
    complaint.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    audit.record(actor=actor, action=AuditEntry.Action.TRANSITION, obj=complaint, changes=changes, reason=reason)
    return complaint


def _tracking_link(complaint: Complaint) -> str:
    """The absolute tracking link of a locked complaint, from its sealed token.

    A complaint recorded before tokens were kept (#24) gets a new one: the link in this e-mail
    works, the acknowledgement's older link no longer does.
    """
    token = complaint.stored_token
    if not token:
        token = secrets.token_urlsafe(32)
        complaint.token_hash = token_hash(token)
        complaint.stored_token = token
        complaint.save(update_fields=["token_hash", "token_ct", "data_key", "updated_at"])
    return tracking_url(token)


def _notify_customer(
    complaint: Complaint,
    *,
    key: str,
    paragraphs: Callable[[], list[str]],
    text: Callable[[], tuple[str, str]] | None = None,
) -> None:
    """E-mail the complainant with their tracking link; `paragraphs` (and `text`, a heading and the
    words meant for them: our decision, our message) are called in the complainant's language."""
    if not complaint.complainant_email or complaint.erased_at:
        return
    language = complaint.language or (complaint.contact.preferred_language if complaint.contact_id else "")
    with in_language(language):
        heading, body = text() if text else ("", "")
        email_enqueue(
            to=complaint.complainant_email,
            subject=_("Your complaint %(ref)s") % {"ref": complaint.reference},
            template=CUSTOMER_TEXT,
            html_template=CUSTOMER_HTML,
            context={
                "greeting": greeting(complaint.complainant_name),
                "paragraphs": paragraphs(),
                "text_heading": heading,
                "text": body,
                "link_intro": _("Follow your complaint, reply or add information at your private link:"),
                "link": _tracking_link(complaint),
                "link_label": _("Open your complaint %(ref)s") % {"ref": complaint.reference},
            },
            idempotency_key=key,
            language=language or None,
            concerns=complaint,
        )


def _status_text(complaint: Complaint, to: str) -> tuple[str, str]:
    """What the customer is meant to read with a status e-mail: the decision, or the reason."""
    if to in (Status.RESPONDED, Status.CLOSED):
        return _("Our decision"), complaint.resolution
    if to == Status.REJECTED:
        return _("Reason"), complaint.rejection_reason
    return "", ""


def _status_paragraphs(complaint: Complaint, to: str) -> list[str]:
    paragraphs = [
        _("The status of your complaint %(ref)s is now: %(status)s.")
        % {"ref": complaint.reference, "status": complaint.get_status_display()}
    ]
    if to == Status.AWAITING_CUSTOMER:
        paragraphs.append(_("We need more information from you: please add it at your private link."))
    elif to == Status.CLOSED:
        paragraphs.append(
            _(
                "If the matter is not resolved for you, you can reopen the complaint at your private link "
                "within %(days)s days, and tell us how we handled it."
            )
            % {"days": reopen_days()}
        )
    return paragraphs


@transaction.atomic
def complaint_transition(*, complaint_id: int, to: str, actor, reason: str = "", resolution: str = "") -> Complaint:
    """Move a complaint along its workflow (staff). Rejection and withdrawal need a reason.

    Sending the response and closing need the recorded resolution (ISO 10002: the decision is
    recorded and communicated); `resolution` records it with the step. A refusal is a
    ValidationError on "resolution" and changes nothing. The e-mail to the complainant carries
    the decision (or the rejection's reason) and the tracking link.
    """
    complaint = _lock(complaint_id)
    _check_can_change(complaint, actor)
    reason = (reason or "").strip()
    resolution = (resolution or "").strip()
    extra: dict[str, list[Any]] = {}
    complaint.check_transition(to)  # a step the workflow refuses is a conflict, whatever else is missing
    if resolution and resolution != complaint.resolution:
        extra["resolution"] = [complaint.resolution, resolution]
        complaint.resolution = resolution
    if to in (Status.RESPONDED, Status.CLOSED) and not complaint.resolution:
        raise ValidationError(
            {
                "resolution": _(
                    "Record the resolution (the decision the customer is told) before sending the response or closing."
                )
            }
        )
    if to in (Status.REJECTED, Status.WITHDRAWN):
        reason = _require(reason, _("Rejecting or withdrawing a complaint needs a reason."))
    if to == Status.REJECTED:
        extra["rejection_reason"] = [complaint.rejection_reason, reason]
        complaint.rejection_reason = reason
        complaint.save(update_fields=["rejection_reason"])
    _apply_transition(complaint, to=to, actor=actor, reason=reason, extra=extra)
    if "resolution" in extra:
        complaint.save(update_fields=["resolution"])
    if to in (Status.RESPONDED, Status.REJECTED, Status.CLOSED, Status.AWAITING_CUSTOMER):
        _notify_customer(
            complaint,
            key=f"complaint-status:{complaint.pk}:{complaint.cycle}:{to}:{timezone.now().timestamp()}",
            paragraphs=lambda: _status_paragraphs(complaint, to),
            text=lambda: _status_text(complaint, to),
        )
    return complaint


@transaction.atomic
def complaint_assess(
    *,
    complaint_id: int,
    actor,
    reason: str = "",
    **data: Any,
) -> Complaint:
    """Set severity, category, product, root cause, resolution or dispute fields.

    A severity change recomputes the due dates of the stages not yet started. Once the
    complaint is closed, rejected or withdrawn only the external dispute fields change;
    anything else raises InvalidTransition (a closed complaint is reopened first).
    """
    allowed = {
        "severity",
        "category",
        "product",
        "root_cause",
        "resolution",
        "dispute_body",
        "dispute_date",
        "dispute_outcome",
    }
    unknown = set(data) - allowed
    if unknown:
        raise TypeError(f"complaint_assess: unknown fields {sorted(unknown)}")
    complaint = _lock(complaint_id)
    _check_can_change(complaint, actor)
    if "severity" in data and data["severity"] not in Complaint.Severity.values:
        raise BusinessRuleViolation(_("Unknown severity."))
    names = list(data)
    before = audit.snapshot(complaint, names)
    for name, value in data.items():
        setattr(complaint, name, value.strip() if isinstance(value, str) else value)
    changes = audit.diff(before, audit.snapshot(complaint, names))
    if not changes:
        return complaint
    if complaint.is_final and set(changes) - FIELDS_OPEN_AFTER_HANDLING:
        raise InvalidTransition(
            _("%(reference)s is %(status)s: reopen it, with a reason, before changing it.")
            % {"reference": complaint.reference, "status": complaint.get_status_display().lower()}
        )
    fields = list(changes)
    if "severity" in changes:
        fields += recompute_due(
            complaint, only_stages_not_started=True, missed_before=_clock_time(complaint, timezone.now())
        )
    complaint.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    audit.record(
        actor=actor, action=AuditEntry.Action.UPDATE, obj=complaint, changes=changes, reason=(reason or "").strip()
    )
    if "category" in changes or "product" in changes:
        from apps.complaints.tasks import check_recurrence_task

        enqueue_on_commit(check_recurrence_task, complaint.pk)
    return complaint


@transaction.atomic
def complaint_assign(*, complaint_id: int, actor, assignee) -> Complaint:
    """Give the complaint to a handler (quality managers only)."""
    if not actor.is_active or not actor.has_perm(ASSIGN_PERMISSION):
        raise PermissionDenied(_("You may not assign complaints."))
    if assignee is not None and (not assignee.is_active or not assignee.has_perm("complaints.change_complaint")):
        raise BusinessRuleViolation(_("The assignee must be an active user who may handle complaints."))
    complaint = _lock(complaint_id)
    before = complaint.assignee_id
    complaint.assignee = assignee
    complaint.save(update_fields=["assignee", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=complaint,
        changes={"assignee": [before, assignee.pk if assignee else None]},
    )
    return complaint


@transaction.atomic
def message_add(*, complaint_id: int, actor, body: str, visibility: str) -> ComplaintMessage:
    """A staff note (internal) or response (customer-visible; e-mails the complainant)."""
    complaint = _lock(complaint_id)
    _check_can_change(complaint, actor)
    if visibility not in ComplaintMessage.Visibility.values:
        raise BusinessRuleViolation(_("Unknown visibility."))
    body = _require(body, _("The message is empty."))
    message = ComplaintMessage.objects.create(
        complaint=complaint, visibility=visibility, author_kind="staff", author=actor, body=body
    )
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=message,
        changes={"complaint": [None, complaint.pk], "visibility": [None, visibility], "body": [None, body]},
    )
    if visibility == ComplaintMessage.Visibility.CUSTOMER:
        _notify_customer(
            complaint,
            key=f"complaint-message:{message.pk}",
            paragraphs=lambda: [
                _("There is a new message about your complaint %(ref)s.") % {"ref": complaint.reference}
            ],
            text=lambda: (_("Our message"), body),
        )
    return message


def complaint_for_token(token: str) -> Complaint | None:
    """The complaint a tracking link opens; none once its complainant was erased."""
    if not token or len(token) > 100:
        return None
    return Complaint.objects.filter(token_hash=token_hash(token), erased_at__isnull=True).first()


@transaction.atomic
def customer_add_information(*, complaint_id: int, body: str, attachments: Iterable[Any] = ()) -> ComplaintMessage:
    """The complainant adds information from the tracking page; an awaiting complaint resumes."""
    complaint = _lock(complaint_id)
    if complaint.is_final:
        raise BusinessRuleViolation(_("This complaint is closed; you can no longer add information."))
    body = _require(body, _("The message is empty."))
    message = ComplaintMessage.objects.create(
        complaint=complaint, visibility=ComplaintMessage.Visibility.CUSTOMER, author_kind="customer", body=body
    )
    audit.record(
        actor=PUBLIC,
        action=AuditEntry.Action.CREATE,
        obj=message,
        changes={"complaint": [None, complaint.pk], "visibility": [None, message.visibility]},
    )
    existing = complaint.attachments.count()
    for upload in list(attachments)[: max(0, 5 - existing)]:
        attachment_add(complaint=complaint, upload=upload, actor=PUBLIC)
    if complaint.status == Status.AWAITING_CUSTOMER:
        _apply_transition(complaint, to=complaint.previous_status, actor=PUBLIC, reason=_("The customer answered."))
    return message


@transaction.atomic
def complaint_rate(*, complaint_id: int, rating: int, comment: str = "") -> Complaint:
    """Record the customer's satisfaction once after closure; 1-2 flags it and e-mails the quality managers."""
    complaint = _lock(complaint_id)
    if complaint.status != Status.CLOSED:
        raise BusinessRuleViolation(_("A complaint can be rated only after it was closed."))
    if complaint.rated_at is not None:
        raise BusinessRuleViolation(_("This complaint was already rated."))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise BusinessRuleViolation(_("The rating must be between 1 and 5."))
    complaint.rating = rating
    complaint.rating_comment = (comment or "").strip()
    complaint.rated_at = timezone.now()
    fields = ["rating", "rating_comment_ct", "rated_at"]
    changes: dict[str, list[Any]] = {"rating": [None, rating], "rating_comment": [None, complaint.rating_comment]}
    if rating <= 2:
        complaint.flagged = True
        fields.append("flagged")
        changes["flagged"] = [False, True]
    complaint.save(update_fields=[*fields, "updated_at"])
    audit.record(actor=PUBLIC, action=AuditEntry.Action.UPDATE, obj=complaint, changes=changes)
    if rating <= 2:
        _notify_quality_managers(
            key=f"complaint-low-rating:{complaint.pk}:{complaint.cycle}",
            subject=_("Low satisfaction rating on %(ref)s") % {"ref": complaint.reference},
            paragraphs=[
                _("The complainant rated the handling of %(ref)s %(rating)s out of 5.")
                % {"ref": complaint.reference, "rating": rating}
            ],
        )
    return complaint


@transaction.atomic
def complaint_reopen(*, complaint_id: int, actor, reason: str) -> Complaint:
    """Reopen a closed complaint: staff at any time, the customer ("public") within COMPLAINT_REOPEN_DAYS."""
    reason = _require(reason, _("Reopening needs a reason."))
    complaint = _lock(complaint_id)
    if actor == PUBLIC:
        if complaint.status != Status.CLOSED or complaint.closed_at is None:
            raise BusinessRuleViolation(_("Only a closed complaint can be reopened."))
        if timezone.now() - complaint.closed_at > timedelta(days=reopen_days()):
            raise BusinessRuleViolation(_("This complaint was closed too long ago to reopen it here."))
    else:
        _check_can_change(complaint, actor)
    return _apply_transition(complaint, to=Status.REOPENED, actor=actor, reason=reason)


@transaction.atomic
def category_save(*, actor, name: str, is_active: bool = True, category_id: int | None = None) -> ComplaintCategory:
    """Create or rename a complaint category (quality managers)."""
    if not actor.has_perm("complaints.add_complaintcategory"):
        raise PermissionDenied(_("You may not manage complaint categories."))
    name = _require(name, _("A category needs a name."))
    if ComplaintCategory.objects.filter(name__iexact=name).exclude(pk=category_id or 0).exists():
        raise BusinessRuleViolation(_("A category with this name already exists."))
    if category_id:
        category = ComplaintCategory.objects.select_for_update().get(pk=category_id)
        before = audit.snapshot(category, ["name", "is_active"])
        category.name, category.is_active = name, is_active
        category.save()
        changes = audit.diff(before, audit.snapshot(category, ["name", "is_active"]))
        action = AuditEntry.Action.UPDATE
    else:
        category = ComplaintCategory.objects.create(name=name, is_active=is_active)
        changes = {"name": [None, name], "is_active": [None, is_active]}
        action = AuditEntry.Action.CREATE
    audit.record(actor=actor, action=action, obj=category, changes=changes)
    return category


@transaction.atomic
def sla_policy_update(*, severity: str, actor, reason: str = "", **limits: int) -> SlaPolicy:
    """Change one severity's time limits (quality managers); audited with the reason.

    Open complaints keep their due dates until they are next recomputed (assessment or a
    transition), so a change never moves a deadline behind a case handler's back.
    """
    if not getattr(actor, "has_perm", lambda _p: False)("complaints.change_slapolicy"):
        raise PermissionDenied(_("You may not change the SLA policy."))
    unknown = set(limits) - set(SLA_POLICY_FIELDS)
    if unknown:
        raise BusinessRuleViolation(_("Unknown SLA fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if any(not isinstance(value, int) or not 1 <= value <= 1000 for value in limits.values()):
        raise BusinessRuleViolation(_("Every limit is a whole number from 1 to 1000."))
    policy, created = SlaPolicy.objects.select_for_update().get_or_create(
        severity=severity, defaults=sla.DEFAULT_POLICY[severity]
    )
    if created:
        audit.record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=policy,
            changes=audit.diff({}, audit.snapshot(policy, ["severity", *SLA_POLICY_FIELDS])),
        )
    before = audit.snapshot(policy, SLA_POLICY_FIELDS)
    for name, value in limits.items():
        setattr(policy, name, value)
    if policy.assess_hours < policy.acknowledge_hours:
        raise BusinessRuleViolation(_("Assessment cannot be due before acknowledgement."))
    if policy.close_days < policy.respond_days:
        raise BusinessRuleViolation(_("Closure cannot be due before the response."))
    changes = audit.diff(before, audit.snapshot(policy, SLA_POLICY_FIELDS))
    if changes:
        policy.save()
        audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=policy, changes=changes, reason=reason)
    return policy


# --- SLA escalation -------------------------------------------------------------------------------


def _escalate(complaint: Complaint, *, stage: str, level: str) -> bool:
    """Record the escalation once; True when this call created it (and queued the e-mails)."""
    try:
        with transaction.atomic():
            _row, created = ComplaintEscalation.objects.get_or_create(
                complaint=complaint, stage=stage, level=level, cycle=complaint.cycle
            )
    except IntegrityError:  # a concurrent run inserted it between our SELECT and INSERT
        return False
    if not created:
        return False
    if not complaint.escalated:
        Complaint.objects.filter(pk=complaint.pk).unaudited_update(escalated=True)
    audit.record(
        actor=None,
        action=AuditEntry.Action.UPDATE,
        obj=complaint,
        changes={"escalation": [None, f"{stage}:{level}"], "escalated": [complaint.escalated, True]},
        reason=f"SLA {level}: {stage}",
    )
    complaint.escalated = True
    _notify_quality_managers(
        key=f"complaint-sla:{complaint.pk}:{complaint.cycle}:{stage}:{level}",
        subject=_("SLA %(level)s: %(ref)s (%(stage)s)") % {"level": level, "ref": complaint.reference, "stage": stage},
        paragraphs=[
            _("Complaint %(ref)s has reached the SLA %(level)s for the %(stage)s stage.")
            % {"ref": complaint.reference, "level": level, "stage": stage}
        ],
    )
    return True


def sla_check(*, now=None, limit: int = 500) -> int:
    """Find every SLA warning and breach not yet escalated, and escalate each once.

    Safe to run concurrently: the unique ComplaintEscalation row decides who escalates.
    Catches up on anything missed, since it looks at the state, not at a time window.
    A paused complaint's clock is stopped: no warnings, and a breach only for a deadline
    missed before the pause (Complaint.stage_missed).
    """
    now = now or timezone.now()
    fraction = sla.warning_fraction()
    table = sla.policies()
    count = 0
    candidates = (
        Complaint.objects.open()
        .order_by("pk")
        .only(
            "pk",
            "reference",
            "severity",
            "received_at",
            "reopened_at",
            "paused_at",
            "paused_seconds",
            "cycle",
            "escalated",
            "status",
            *[f for pair in Complaint.STAGE_FIELDS.values() for f in pair],
        )
    )
    done_keys = set(
        ComplaintEscalation.objects.filter(complaint__in=candidates.values("pk")).values_list(
            "complaint_id", "stage", "level", "cycle"
        )
    )
    for complaint in candidates[:limit]:
        budgets = sla.stage_budgets(complaint.severity, table)
        for stage, (due_field, done_field) in Complaint.STAGE_FIELDS.items():
            due = getattr(complaint, due_field)
            if due is None or getattr(complaint, done_field) is not None:
                continue
            level = None
            if complaint.is_paused:
                if complaint.stage_missed(stage, now=now):
                    level = ComplaintEscalation.Level.BREACH
            elif now >= due:
                level = ComplaintEscalation.Level.BREACH
            else:
                base = (
                    complaint.reopened_at
                    if complaint.reopened_at and stage in ("respond", "close")
                    else complaint.received_at
                )
                used = sla.working_seconds_between(base, now) - complaint.paused_seconds
                if used >= fraction * budgets[stage]:
                    level = ComplaintEscalation.Level.WARNING
            if level is None or (complaint.pk, stage, level, complaint.cycle) in done_keys:
                continue
            with transaction.atomic():
                if _escalate(complaint, stage=stage, level=level):
                    count += 1
    return count


# --- recurrence -----------------------------------------------------------------------------------


def recurrence_window_days() -> int:
    return settings.COMPLAINT_RECURRENCE_DAYS


def recurrence_count() -> int:
    return settings.COMPLAINT_RECURRENCE_COUNT


@transaction.atomic
def recurrence_check(*, complaint_id: int) -> bool:
    """Alert the quality managers once per (category, product, window) when complaints recur.

    The window is the COMPLAINT_RECURRENCE_DAYS-long block of days (counted from
    the epoch) that contains the complaint's receipt, so each window alerts once.
    """
    complaint = Complaint.objects.filter(pk=complaint_id).first()
    if complaint is None or not complaint.category_id or not complaint.product_id:
        return False
    days = recurrence_window_days()
    since = complaint.received_at - timedelta(days=days)
    count = Complaint.objects.filter(
        category_id=complaint.category_id,
        product_id=complaint.product_id,
        received_at__gt=since,
        received_at__lte=complaint.received_at,
    ).count()
    if count < recurrence_count():
        return False
    day_number = timezone.localdate(complaint.received_at).toordinal() // days * days
    from datetime import date

    window_start = date.fromordinal(max(1, day_number))
    try:
        with transaction.atomic():
            _alert, created = RecurrenceAlert.objects.get_or_create(
                category_id=complaint.category_id,
                product_id=complaint.product_id,
                window_start=window_start,
                defaults={"count": count},
            )
    except IntegrityError:
        return False
    if not created:
        return False
    _notify_quality_managers(
        key=f"complaint-recurrence:{complaint.category_id}:{complaint.product_id}:{window_start.isoformat()}",
        subject=_("Recurring complaints: %(category)s / %(product)s")
        % {"category": complaint.category.name, "product": complaint.product.name},
        paragraphs=[
            _("%(count)s complaints in category %(category)s about %(product)s within %(days)s days.")
            % {"count": count, "category": complaint.category.name, "product": complaint.product.name, "days": days}
        ],
    )
    return True


def raise_corrective_action(
    *, complaint_id: int, actor, title: str, nonconformity: str, owner=None, containment: str = ""
):
    """Raise a corrective action (apps.actions) from a complaint the actor may change."""
    from apps.actions.services import action_raise

    complaint = Complaint.objects.get(pk=complaint_id)
    _check_can_change(complaint, actor)
    return action_raise(
        source=complaint, title=title, nonconformity=nonconformity, actor=actor, owner=owner, containment=containment
    )
