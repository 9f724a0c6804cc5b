"""Tying a complaint or a piece of feedback to the customer and contact it came from (#24).

Submissions from the public forms carry an e-mail address and a free-text organisation, not
a customer record, so without a link the customer page shows "No complaints" for a customer
who complained. The portal proposes the contact whose e-mail blind index matches the
submission's address; staff confirm it or choose another customer and contact.

This module is the part both domain apps share (they depend on customers, never the other
way round): the match, the link form, the detail-page panel and `record_link_customer`, the
write itself. `apps.complaints.linking` and `apps.feedback.linking` lock their own row, check
their own object rule and call it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.crypto import blind_index
from apps.core.personal_data import can_see_personal_data
from apps.customers.models import Contact, Customer

LINK_FIELDS = ["customer", "contact"]
MAX_PROPOSALS = 5


def email_indexes(email: str) -> set[str]:
    """The blind indexes an address may have been stored under.

    blind_index() trims and lower-cases; an address typed on another device may also differ
    in its Unicode form (a precomposed "ü" or "u" plus a combining diaeresis, full-width
    letters from an East Asian keyboard), which lower() leaves apart. Looking up every
    normal form finds the contact whichever form either side was stored in, without
    re-indexing the contacts."""
    email = (email or "").strip()
    if not email:
        return set()
    forms_ = {email, *(unicodedata.normalize(form, email) for form in ("NFC", "NFD", "NFKC"))}
    return {blind_index(value) for value in forms_}


def contacts_matching_email(email: str) -> list[Contact]:
    """Contacts (not erased) whose e-mail equals `email` as the blind index compares them."""
    indexes = email_indexes(email)
    if not indexes:
        return []
    return list(
        Contact.objects.filter(email_index__in=indexes, erased_at__isnull=True)
        .select_related("customer")
        .order_by("customer__name", "id")[:MAX_PROPOSALS]
    )


def record_link_customer(
    *, record: Any, customer: Customer | None, contact: Contact | None, actor, reason: str = ""
) -> Any:
    """Point `record` (a complaint or feedback, locked by the caller, whose object rule the
    caller checked) at `customer` and `contact`; both None unlinks it.

    The contact must belong to the customer and still hold its personal data; a contact
    alone implies its customer. Writes `customer`, `contact` and one audit entry with the
    before/after ids, nothing when nothing changes. Raises ValidationError (field errors).
    """
    if contact is not None:
        if contact.erased_at is not None:
            raise ValidationError({"contact": [_("This contact's personal data was erased; choose another contact.")]})
        if customer is None:
            customer = contact.customer
        elif contact.customer_id != customer.pk:
            raise ValidationError({"contact": [_("The contact does not belong to this customer.")]})
    before = audit.snapshot(record, LINK_FIELDS)
    record.customer = customer
    record.contact = contact
    changes = audit.diff(before, audit.snapshot(record, LINK_FIELDS))
    if not changes:
        return record
    record.save(update_fields=[*LINK_FIELDS, "updated_at"])
    audit.record(
        actor=actor, action=AuditEntry.Action.UPDATE, obj=record, changes=changes, reason=(reason or "").strip()
    )
    return record


# --- the page: form and panel ---------------------------------------------------------------


class ContactChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, show_personal: bool = True, **kwargs):
        self.show_personal = show_personal
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: Contact) -> str:
        return obj.display_name if self.show_personal else _("Contact #%(pk)s") % {"pk": obj.pk}


class LinkCustomerForm(forms.Form):
    """Choose the customer (and optionally the contact) a submission came from.

    Without JavaScript the contact list can only offer the contacts of the customer the
    page was drawn for; a contact of another customer is refused by the service with a
    field error, so choosing a new customer first and its contact second always works."""

    customer = forms.ModelChoiceField(
        label=gettext_lazy("Customer"),
        queryset=Customer.objects.order_by("name", "id"),
        required=False,
        empty_label=gettext_lazy("— choose a customer —"),
    )
    contact = ContactChoiceField(
        label=gettext_lazy("Contact"),
        queryset=Contact.objects.filter(erased_at__isnull=True).select_related("customer"),
        required=False,
        empty_label=gettext_lazy("— no contact —"),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=1000)
    # The "Unlink" button of the same panel: customer and contact are cleared.
    unlink = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, choices_for: Customer | None = None, show_personal: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].show_personal = show_personal
        if not self.is_bound:
            # Only the drawn customer's contacts: decrypting every contact's name for a select is not on.
            self.fields["contact"].queryset = (
                Contact.objects.filter(customer=choices_for, erased_at__isnull=True).order_by("id")
                if choices_for is not None
                else Contact.objects.none()
            )

    def clean(self):
        data = super().clean()
        if data.get("unlink"):
            data["customer"] = data["contact"] = None
        elif not data.get("customer") and not data.get("contact") and not self.errors:
            self.add_error("customer", _("Choose the customer this came from."))
        return data


def link_arguments(cleaned_data: dict) -> dict:
    """The link service's keyword arguments from a valid LinkCustomerForm."""
    return {name: cleaned_data[name] for name in ("customer", "contact", "reason")}


@dataclass
class LinkPanel:
    """What the link panel of a complaint or feedback page shows to someone who may change it."""

    action_url: str
    customer: Customer | None
    contact: Contact | None
    proposals: list[Contact] = field(default_factory=list)
    form: LinkCustomerForm | None = None
    show_personal: bool = True


def link_panel(record: Any, user, *, email: str, url_name: str) -> LinkPanel | None:
    """The panel for `record`, or None when `user` may not change it (the page then shows the link only).

    Proposes the contacts matching `email` unless the record already points at one of them."""
    if not record.can_be_changed_by(user) or not user.has_perm("customers.view_customer"):
        return None
    customer = record.customer if record.customer_id else None
    contact = record.contact if record.contact_id else None
    proposals = [c for c in contacts_matching_email(email) if c.pk != record.contact_id]
    choices_for = customer or (proposals[0].customer if proposals else None)
    show_personal = can_see_personal_data(user)
    initial = {"customer": choices_for.pk if choices_for else None, "contact": contact.pk if contact else None}
    return LinkPanel(
        action_url=reverse(url_name, args=[record.pk]),
        customer=customer,
        contact=contact,
        proposals=proposals,
        # Own ids: the record's page has other forms with a "reason" field.
        form=LinkCustomerForm(initial=initial, choices_for=choices_for, show_personal=show_personal, auto_id="link_%s"),
        show_personal=show_personal,
    )
