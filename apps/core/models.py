"""Shared base models and the e-mail outbox."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import gettext_lazy as _

from apps.core.crypto import ErasedError, PersonalDataModel, encrypted_field, unwrap


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class RateLimitCount(models.Model):
    """One rate-limit counter (a scope and a client or key) in one fixed window, counted here only
    while Redis, where the limits normally count, is down (apps.core.public.rate_limited).

    Written only by that function's single upsert, so parallel web processes add up exactly.
    `key` is a keyed hash of the counter's name: no client address is kept in clear. Rows past
    `expires_at` are deleted whenever the fallback opens a new window.
    """

    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "rate limit count"
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="rate_limit_count_unique")]

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.window_start:%Y-%m-%d %H:%M:%S}: {self.count}"


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

    def concerning(self, record: models.Model) -> OutboundEmailQuerySet:
        """The e-mails queued with `concerns=record` (apps.core.services.email_enqueue)."""
        content_type = ContentType.objects.get_for_model(record, for_concrete_model=True)
        return self.filter(concerns_type=content_type, concerns_id=record.pk)

    def failed(self) -> OutboundEmailQuerySet:
        """E-mails the outbox gave up on, waiting for a quality manager to resend or dismiss them."""
        return self.filter(status=OutboundEmail.Status.FAILED)

    def with_kind(self) -> OutboundEmailQuerySet:
        """Annotate `kind`: what the e-mail was for. The idempotency key's prefix names it
        ("complaint-ack", "password-reset"); e-mails queued without a key fall back to their template."""
        prefix = models.Func(
            "idempotency_key",
            models.Value(":"),
            models.Value(1),
            function="split_part",
            output_field=models.CharField(),
        )
        return self.annotate(kind=Coalesce(NullIf(prefix, models.Value("")), "template"))


class OutboundEmail(PersonalDataModel, TimeStampedModel):
    """An e-mail the portal must send: a row first, then a Celery task.

    Created by `apps.core.services.email_enqueue` inside the caller's
    transaction and enqueued after commit, so a rolled-back change sends
    nothing. `idempotency_key` makes "send this once" a database fact.
    A worker claims the row with a conditional UPDATE before talking to
    SMTP; a sweeper re-enqueues rows whose message or worker was lost.
    Each row carries a stable Message-ID, so the rare resend after a worker
    died mid-delivery is recognisable as the same message by mail clients.

    Recipient, subject and bodies are personal data (names, addresses, what the
    person wrote, private links), kept only until the e-mail is done with:

    - At rest they are encrypted. An e-mail about a person's record (`concerns`:
      a complaint, a feedback, a contact) is sealed with that record's data key,
      so erasing the person shreds it even where nothing else touches the outbox;
      any other e-mail (staff, password reset) gets a data key of its own.
    - Once the e-mail is sent or cancelled, they are dropped with the row's own key
      (`erased_at` says when). What an auditor needs stays: the kind of e-mail
      (idempotency key, template), the record it was about, the times, attempts
      and outcome.
    - An e-mail given up on (FAILED) keeps them, still sealed, so that a quality
      manager can resend exactly what was meant to go (`email_resend`: the same
      Message-ID, a fresh count of attempts) or dismiss it (`email_dismiss`:
      cancelled, content dropped). Never longer than OUTBOX_FAILED_KEEP_DAYS after
      the last attempt: then `outbox_purge` drops them and the row stays failed,
      listed but no longer resendable. Re-rendering from the source record instead
      was not chosen: each app builds its e-mails differently, and some (password
      resets, review reports to outside addresses) have no record to rebuild from.
    - Erasing the person drops them from all their e-mails, failed ones included,
      and cancels the unsent ones (apps.core.services.outbox_erase).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    UNSENT = (Status.QUEUED, Status.SENDING)
    CONTENT_COLUMNS = ("to_ct", "subject_ct", "body_ct", "html_body_ct")

    idempotency_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    template = models.CharField(max_length=200, blank=True)
    # The record whose person the e-mail is about; its data key seals the content.
    concerns_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    concerns_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # For reading (the failed e-mails page prefetches it); write through seal_with().
    concerns = GenericForeignKey("concerns_type", "concerns_id")
    to_ct = models.TextField(blank=True, editable=False)
    subject_ct = models.TextField(blank=True, editable=False)
    body_ct = models.TextField(blank=True, editable=False)
    html_body_ct = models.TextField(blank=True, editable=False)
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

    to = encrypted_field("to_ct")
    subject = encrypted_field("subject_ct")
    body = encrypted_field("body_ct")
    html_body = encrypted_field("html_body_ct")

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["concerns_type", "concerns_id"], name="outbox_concerns_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(concerns_type__isnull=True, concerns_id__isnull=True)
                | models.Q(concerns_type__isnull=False, concerns_id__isnull=False),
                name="outbox_concerns_complete",
            )
        ]

    def __str__(self) -> str:
        return f"E-mail #{self.pk} ({self.status})"

    def seal_with(self, record: PersonalDataModel) -> None:
        """Make this (unsaved) e-mail concern `record` and encrypt with its data key from now on."""
        if not record.data_key:
            if record.erased_at is not None:
                raise ErasedError(f"{type(record).__name__} #{record.pk}: personal data erased")
            # PersonalDataModel would make a key here that nobody saves, and the e-mail would be unreadable.
            raise ValueError(f"{type(record).__name__} #{record.pk} has no data key yet: save it first.")
        self.concerns_type = ContentType.objects.get_for_model(record, for_concrete_model=True)
        self.concerns_id = record.pk
        self.__dict__["_fernet_cache"] = record._fernet()

    def _fernet(self) -> Fernet:
        if self.concerns_type_id is None or "_fernet_cache" in self.__dict__:
            return super()._fernet()
        model = ContentType.objects.get_for_id(self.concerns_type_id).model_class()
        wrapped = model._base_manager.filter(pk=self.concerns_id).values_list("data_key", flat=True).first()
        if not wrapped:
            raise ErasedError(f"E-mail #{self.pk}: the personal data it concerns was erased")
        self.__dict__["_fernet_cache"] = unwrap(wrapped)
        return self.__dict__["_fernet_cache"]


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


class MasterKeyCheck(models.Model):
    """The key check value of one master key this database's data keys were wrapped with.

    `fingerprint` names the key without revealing it (apps.core.keys.fingerprint); `token`
    is a known constant encrypted under the key. A start-up whose FIELD_ENCRYPTION_KEY matches
    none of the recorded keys is refused: it would fail every read, or write records nobody
    can read later. Rows are added by apps.core.keys.record_master_keys and never changed.
    """

    fingerprint = models.CharField(max_length=64, unique=True)
    token = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "master key check value"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Master key {self.fingerprint}"
