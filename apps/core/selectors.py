"""Shared reads: the failed e-mails that the page and the API list (#23)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models
from django.db.models import prefetch_related_objects

from apps.core.crypto import ErasedError
from apps.core.models import OutboundEmail
from apps.core.personal_data import MASK


def failed_emails() -> models.QuerySet[OutboundEmail]:
    """E-mails given up on, with their `kind` and the type of record they concern."""
    return OutboundEmail.objects.failed().with_kind().select_related("concerns_type")


@dataclass(frozen=True)
class FailedRow:
    email: OutboundEmail
    # The address, or MASK for a viewer without accounts.view_personal_data (then never decrypted).
    recipient: str
    record_type: str  # "complaints.complaint"; "" when the e-mail concerns no record
    record_label: str
    record_url: str
    # False once the content is gone (person erased, or kept past OUTBOX_FAILED_KEEP_DAYS).
    resendable: bool


def failed_rows(emails: Sequence[OutboundEmail], *, show_personal: bool) -> list[FailedRow]:
    """The rows of one page, with the records they concern loaded in one query per record type
    and each recipient decrypted with that record's key (no query per row to find it again)."""
    prefetch_related_objects([email for email in emails if email.concerns_type_id], "concerns")
    return [_row(email, show_personal=show_personal) for email in emails]


def _row(email: OutboundEmail, *, show_personal: bool) -> FailedRow:
    record = email.concerns if email.concerns_type_id else None
    record_type, label, url = "", "", ""
    if email.concerns_type_id:
        content_type = email.concerns_type
        record_type = f"{content_type.app_label}.{content_type.model}"
        model = content_type.model_class()
        name = model._meta.verbose_name if model is not None else content_type.model
        # A reference names a record without naming its person (a contact's str() is their name).
        label = getattr(record, "reference", "") or f"{name} #{email.concerns_id}"
        url = record.get_absolute_url() if record is not None and hasattr(record, "get_absolute_url") else ""
    resendable = email.erased_at is None and bool(email.to_ct)
    recipient = ""
    if resendable and not show_personal:
        recipient = MASK
    elif resendable:
        try:
            if record is not None:
                email.__dict__["_fernet_cache"] = record._fernet()
            recipient = email.to
        except ErasedError:
            resendable = False
    return FailedRow(
        email=email,
        recipient=recipient,
        record_type=record_type,
        record_label=label,
        record_url=url,
        resendable=resendable,
    )
