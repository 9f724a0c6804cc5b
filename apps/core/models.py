"""Shared base models and the e-mail outbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class CategoryBase(TimeStampedModel):
    """A list quality managers keep (complaint categories, feedback categories): an entry is
    renamed or retired, never deleted, so the records filed under it keep their meaning."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class OutboundEmailQuerySet(models.QuerySet):
    def due_for_sweep(self, *, queued_before, claimed_before) -> OutboundEmailQuerySet:
        """Rows a lost message or a dead worker left behind."""
        queued = models.Q(status=OutboundEmail.Status.QUEUED, updated_at__lt=queued_before)
        stuck = models.Q(status=OutboundEmail.Status.SENDING, claimed_at__lt=claimed_before)
        return self.filter(queued | stuck)


class OutboundEmail(TimeStampedModel):
    """An e-mail the portal must send: a row first, then a Celery task.

    Created by `apps.core.services.email_enqueue` inside the caller's
    transaction and enqueued after commit, so a rolled-back change sends
    nothing. `idempotency_key` makes "send this once" a database fact.
    A worker claims the row with a conditional UPDATE before talking to
    SMTP; a sweeper re-enqueues rows whose message or worker was lost.
    Each row carries a stable Message-ID, so the rare resend after a worker
    died mid-delivery is recognisable as the same message by mail clients.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    idempotency_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    # A file under MEDIA_ROOT sent with the message, read when it is sent (the row stays small).
    attachment_path = models.CharField(max_length=255, blank=True)
    attachment_name = models.CharField(max_length=255, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    message_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"E-mail #{self.pk} ({self.status})"


class ReferenceCounter(models.Model):
    """The last number issued per reference prefix and year (CMP-2026-00042, FB-…, ACT-…).

    Written only by apps.core.sequences.next_reference, whose upsert holds the row's
    lock until the caller's transaction ends.
    """

    prefix = models.CharField(max_length=10)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "reference counter"
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="reference_counter_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"
