"""Shared services: the e-mail outbox."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.crypto import ErasedError, PersonalDataModel
from apps.core.exceptions import BusinessRuleViolation, dependency_errors
from apps.core.i18n import supported_language
from apps.core.log_filters import redact
from apps.core.models import OutboundEmail
from apps.core.queue import enqueue_on_commit

logger = logging.getLogger(__name__)


def in_language(language: str | None):
    """Translate the wording of an e-mail in the recipient's language, not the caller's.

    Wrap everything that builds the subject and paragraphs, since gettext runs when they
    are built: a staff member's action must not write to a customer in the staff
    member's language. A language the portal has no catalogue for is the portal's own.
    """
    return translation.override(supported_language(language))


def greeting(name: str) -> str:
    return _("Dear %(name)s,") % {"name": name} if name else _("Dear customer,")


def email_enqueue(
    *,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    idempotency_key: str | None = None,
    html_template: str | None = None,
    language: str | None = None,
    attachment: tuple[str, str, str] | None = None,
    concerns: PersonalDataModel | None = None,
) -> OutboundEmail:
    """Queue an e-mail inside the caller's transaction; a worker sends it after commit.

    Rendered now, in the recipient's `language` when given (a text body and,
    with `html_template`, an HTML alternative). With an `idempotency_key`, a
    second call for the same key returns the first row and queues nothing.
    `attachment` is (path under MEDIA_ROOT, file name shown, content type).
    `concerns` is the record of the person the e-mail is about (the complaint to
    its complainant, say): the e-mail is sealed with that record's data key and
    goes when the person is erased (`outbox_erase`). Pass it for every e-mail
    to or about a member of the public.
    """
    from apps.core.tasks import send_email_task

    with translation.override(supported_language(language)):
        body = render_to_string(template, context)
        html_body = render_to_string(html_template, context) if html_template else ""
        subject = str(subject)
    path, name, content_type = attachment or ("", "", "")
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "qms.invalid"
    email = OutboundEmail(
        idempotency_key=idempotency_key,
        template=template,
        attachment_path=path,
        attachment_name=name,
        attachment_type=content_type,
        message_id=f"<{uuid.uuid4().hex}@{domain}>",
    )
    if concerns is not None:
        email.seal_with(concerns)
    email.to = to
    email.subject = subject.strip().replace("\n", " ")
    email.body = body
    email.html_body = html_body
    try:
        with transaction.atomic():
            email.save(force_insert=True)
    except IntegrityError:
        if idempotency_key is None:
            raise
        return OutboundEmail.objects.get(idempotency_key=idempotency_key)
    enqueue_on_commit(send_email_task, email.pk)
    return email


def _without_content() -> dict[str, Any]:
    """Column values that drop an e-mail's personal content and its own data key (the metadata stays)."""
    return {**dict.fromkeys(OutboundEmail.CONTENT_COLUMNS, ""), "data_key": "", "erased_at": timezone.now()}


def email_claim(*, email_id: int) -> bool:
    """Take the row for sending; False when another worker has it or it is done."""
    now = timezone.now()
    stale = now - settings.OUTBOX_STALE_AFTER
    claimable = Q(status=OutboundEmail.Status.QUEUED, attempts__lt=settings.OUTBOX_MAX_ATTEMPTS) | Q(
        status=OutboundEmail.Status.SENDING, claimed_at__lt=stale
    )
    claimed = OutboundEmail.objects.filter(claimable, pk=email_id).update(
        status=OutboundEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    return claimed == 1


def email_send(*, email_id: int) -> bool:
    """Deliver one queued e-mail. Returns True when this call sent it.

    Raises the transport's error after releasing the row, so the task can
    retry; after OUTBOX_MAX_ATTEMPTS the row is marked failed for good, its sealed
    content kept for a quality manager to resend (`email_resend`). Sent, the row
    keeps no personal content. An e-mail whose person
    was erased meanwhile is cancelled: there is nothing left to send, nor anyone
    to send it to.
    """
    if not email_claim(email_id=email_id):
        return False
    email = OutboundEmail.objects.get(pk=email_id)
    try:
        to, subject, body, html_body = email.to, email.subject, email.body, email.html_body
    except ErasedError:
        to = ""
    if not to:
        OutboundEmail.objects.filter(pk=email_id, status=OutboundEmail.Status.SENDING).update(
            status=OutboundEmail.Status.CANCELLED, **_without_content()
        )
        logger.info("e-mail cancelled: its personal data was erased", extra={"email_id": email_id})
        return False
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"},
    )
    if html_body:
        message.attach_alternative(html_body, "text/html")
    try:
        if email.attachment_path:
            message.attach(
                email.attachment_name,
                (Path(settings.MEDIA_ROOT) / email.attachment_path).read_bytes(),
                email.attachment_type or "application/octet-stream",
            )
        message.send(fail_silently=False)
    except Exception as error:
        failed = email.attempts >= settings.OUTBOX_MAX_ATTEMPTS
        # Only while still ours: an erasure may have cancelled the row during the attempt.
        # A failed row keeps its sealed content for a resend; outbox_purge drops it in time.
        OutboundEmail.objects.filter(pk=email_id, status=OutboundEmail.Status.SENDING).update(
            status=OutboundEmail.Status.FAILED if failed else OutboundEmail.Status.QUEUED,
            # Mail servers name the refused recipient in their answer.
            last_error=redact(f"{type(error).__name__}: {error}")[:500],
        )
        logger.warning("e-mail delivery failed", extra={"email_id": email_id, "attempt": email.attempts})
        raise
    _record_sent(email_id)
    logger.info("e-mail sent", extra={"email_id": email_id})
    return True


def _record_sent(email_id: int, *, attempts: int = 30, pause: float = 1.0) -> None:
    """Mark the row sent and drop its content, waiting out a database outage: the message has left,
    and a row left "sending" would be handed out again by the sweeper and the customer would get it
    twice. (Should the outage outlast the sweeper's patience, the copy carries the same Message-ID.)
    Sent wins over an erasure's "cancelled" that came in during the attempt: the message did go."""
    for attempt in range(attempts):
        try:
            OutboundEmail.objects.filter(pk=email_id).update(
                status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error="", **_without_content()
            )
            return
        except dependency_errors():
            if attempt == attempts - 1:
                raise
            logger.warning("e-mail sent, database unavailable to record it; retrying", extra={"email_id": email_id})
            time.sleep(pause)
            connection.close()  # the next attempt connects afresh


def outbox_sweep(*, limit: int = 500) -> list[int]:
    """Ids of e-mails to hand to a worker again (lost message, dead worker)."""
    now = timezone.now()
    return list(
        OutboundEmail.objects.due_for_sweep(
            queued_before=now - settings.OUTBOX_STALE_AFTER, claimed_before=now - settings.OUTBOX_STALE_AFTER
        )
        .filter(attempts__lt=settings.OUTBOX_MAX_ATTEMPTS)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_purge(*, limit: int = 5000) -> int:
    """Delete sent e-mails past their retention period; returns how many.

    Also drops the content of failed e-mails whose last attempt is older than
    OUTBOX_FAILED_KEEP_DAYS: nobody resent them in time, so what they said is no
    longer kept (the row stays, failed, as evidence that it never went).
    """
    expired = timezone.now() - timedelta(days=settings.OUTBOX_FAILED_KEEP_DAYS)
    stale = list(
        OutboundEmail.objects.failed()
        .filter(erased_at__isnull=True, claimed_at__lt=expired)
        .values_list("pk", flat=True)[:limit]
    )
    OutboundEmail.objects.filter(pk__in=stale, status=OutboundEmail.Status.FAILED).update(**_without_content())
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    ids = list(
        OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT, sent_at__lt=cutoff).values_list("pk", flat=True)[
            :limit
        ]
    )
    deleted, _ = OutboundEmail.objects.filter(pk__in=ids).delete()
    return deleted


def outbox_erase(*, record: models.Model) -> int:
    """Drop the personal content of every e-mail concerning `record` and cancel those not sent yet.

    The erasure service of each record type that e-mails are queued about (`email_enqueue(concerns=)`)
    calls this in its transaction; the rows stay as metadata. A worker sending one of them at this
    moment finishes (it read the content already) and marks it sent; a failed attempt no longer puts
    it back in the queue. Idempotent; returns the number of rows changed.
    """
    return (
        OutboundEmail.objects.concerning(record)
        .filter(erased_at__isnull=True)
        .update(
            status=Case(
                When(status__in=OutboundEmail.UNSENT, then=Value(OutboundEmail.Status.CANCELLED)),
                default=F("status"),
            ),
            **_without_content(),
        )
    )


@dataclass(frozen=True)
class ResendResult:
    resent: list[OutboundEmail] = field(default_factory=list)
    # Failed, but nothing left to send: the person was erased or the keeping period is over.
    refused: list[OutboundEmail] = field(default_factory=list)


def _lock_failed(email_ids: Iterable[int]) -> list[OutboundEmail]:
    """The failed rows among `email_ids`, locked in primary-key order (two managers selecting
    overlapping rows cannot deadlock). Rows no longer failed are left out: a second click, or a
    colleague, got there first."""
    return list(
        OutboundEmail.objects.select_for_update()
        .failed()
        .filter(pk__in=sorted({int(pk) for pk in email_ids}))
        .order_by("pk")
    )


@transaction.atomic
def email_resend(*, email_ids: Iterable[int], actor) -> ResendResult:
    """Queue failed e-mails again, from the failed e-mails page (one or a selection).

    Locks the rows; each that still holds its content goes back to the queue with a
    fresh count of attempts and its own Message-ID, so a copy that an earlier attempt did
    deliver after all is recognisably the same message. Writes one audit entry per row
    (who resent it, the error it had) and enqueues its send task after commit. Rows no
    longer failed are skipped quietly (idempotent against double clicks). Raises
    BusinessRuleViolation when none could be resent because their content is gone;
    otherwise such rows are returned in `refused`.
    """
    result = ResendResult()
    for email in _lock_failed(email_ids):
        if email.erased_at is not None or not email.to_ct:
            result.refused.append(email)
            continue
        before = email.attempts
        email.status = OutboundEmail.Status.QUEUED
        email.attempts = 0
        email.save(update_fields=["status", "attempts", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.TRANSITION,
            obj=email,
            changes={"status": [OutboundEmail.Status.FAILED, OutboundEmail.Status.QUEUED], "attempts": [before, 0]},
            reason=f"Resent by hand after: {email.last_error}",
        )
        from apps.core.tasks import send_email_task

        enqueue_on_commit(send_email_task, email.pk)
        result.resent.append(email)
    if result.refused and not result.resent:
        raise BusinessRuleViolation(_("The e-mail cannot be resent: its content is no longer kept."))
    return result


@transaction.atomic
def email_dismiss(*, email_ids: Iterable[int], actor) -> list[OutboundEmail]:
    """Give up on failed e-mails for good (the customer was reached another way, say):
    cancelled, their content and own data key dropped, one audit entry each. Locks the rows;
    rows no longer failed are skipped. Returns the dismissed rows."""
    dismissed = _lock_failed(email_ids)
    for email in dismissed:
        OutboundEmail.objects.filter(pk=email.pk).update(status=OutboundEmail.Status.CANCELLED, **_without_content())
        audit.record(
            actor=actor,
            action=AuditEntry.Action.TRANSITION,
            obj=email,
            changes={"status": [OutboundEmail.Status.FAILED, OutboundEmail.Status.CANCELLED]},
            reason=f"Dismissed by hand after: {email.last_error}",
        )
    return dismissed
