"""Every change to customers, contacts, products and interactions.

Each service runs in one transaction, locks what it changes, and writes its
audit entry; personal fields of contacts appear in the trail only masked.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.audit.selectors import history_for
from apps.core import personal_data
from apps.core.crypto import blind_index
from apps.core.exceptions import BusinessRuleViolation
from apps.core.services import outbox_erase
from apps.customers.models import Contact, Customer, FollowUpAction, Interaction, Product

CUSTOMER_FIELDS = ["name", "kind", "segment", "industry", "country", "account_owner", "status", "notes"]
PRODUCT_FIELDS = ["code", "name", "kind", "description", "is_active"]
CONTACT_FIELDS = ["job_role", "preferred_language", "survey_consent", "survey_consent_source", "is_active"]
CONTACT_PERSONAL = ["name", "email", "phone"]


def _apply(obj, data: Mapping[str, Any], fields: Iterable[str]) -> dict[str, list[Any]]:
    """Set the given fields on obj; return their audit diff (foreign keys by id)."""
    names = [name for name in fields if name in data]
    before = audit.snapshot(obj, names)
    for name in names:
        setattr(obj, name, data[name])
    return audit.diff(before, audit.snapshot(obj, names))


# Products ------------------------------------------------------------------------


@transaction.atomic
def product_create(*, actor, **data) -> Product:
    if Product.objects.filter(code__iexact=data["code"]).exists():
        raise BusinessRuleViolation(_("A product with this code already exists."))
    product = Product()
    changes = _apply(product, data, PRODUCT_FIELDS)
    product.save()
    audit.record(actor=actor, action=AuditEntry.Action.CREATE, obj=product, changes=changes)
    return product


@transaction.atomic
def product_update(*, product_id: int, actor, **data) -> Product:
    product = Product.objects.select_for_update().get(pk=product_id)
    if "code" in data and Product.objects.filter(code__iexact=data["code"]).exclude(pk=product_id).exists():
        raise BusinessRuleViolation(_("A product with this code already exists."))
    changes = _apply(product, data, PRODUCT_FIELDS)
    if changes:
        product.save()
        audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=product, changes=changes)
    return product


# Customers -------------------------------------------------------------------------


@transaction.atomic
def customer_create(*, actor, **data) -> Customer:
    """Create a customer. `data` holds model field values (account_owner as a User, products
    as Products)."""
    customer = Customer()
    changes = _apply(customer, data, CUSTOMER_FIELDS)
    customer.full_clean()
    customer.save()
    changes.update(_set_products(customer, data))
    audit.record(actor=actor, action=AuditEntry.Action.CREATE, obj=customer, changes=changes)
    return customer


def _set_products(customer: Customer, data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Replace the customer's products when `data` names them; the diff lists product ids."""
    if "products" not in data:
        return {}
    before = sorted(customer.products.values_list("pk", flat=True)) if customer.pk else []
    after = sorted({product.pk for product in data["products"] or []})
    if before == after:
        return {}
    customer.products.set(after)
    return {"products": [before, after]}


@transaction.atomic
def customer_update(*, customer_id: int, actor, reason: str = "", **data) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    changes = _apply(customer, data, CUSTOMER_FIELDS)
    if changes:
        customer.full_clean()
        customer.save()
    changes.update(_set_products(customer, data))
    if changes:
        audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=customer, changes=changes, reason=reason)
    return customer


# Contacts --------------------------------------------------------------------------


def _set_personal(contact: Contact, data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Encrypt the given personal fields; the diff only says which ones changed."""
    changes = {}
    for name in CONTACT_PERSONAL:
        if name not in data:
            continue
        value = (data[name] or "").strip()
        if name == "email":
            value = value.lower()
        old = getattr(contact, name) if contact.pk else ""
        if value != old:
            setattr(contact, name, value)
            changes[name] = [old, value]  # masked by audit.record (AUDIT_PERSONAL_FIELDS)
            if name == "email":
                contact.email_index = blind_index(value) if value else ""
    return changes


def _consent(contact: Contact, data: Mapping[str, Any]) -> None:
    if "survey_consent" not in data:
        return
    if data["survey_consent"] and not contact.survey_consent_at:
        contact.survey_consent_at = data.get("survey_consent_at") or timezone.now()
    if not data["survey_consent"]:
        contact.survey_consent_at = None


def _save_contact(contact: Contact) -> None:
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as error:
        if "contact_email_unique" in str(error):
            raise BusinessRuleViolation(_("A contact with this e-mail address already exists.")) from error
        raise


@transaction.atomic
def contact_create(*, customer_id: int, actor, **data) -> Contact:
    """Create a contact at a customer. Refuses an e-mail address another contact already has."""
    customer = Customer.objects.get(pk=customer_id)
    contact = Contact(customer=customer)
    changes = {**_set_personal(contact, data), **_apply(contact, data, CONTACT_FIELDS)}
    _consent(contact, data)
    contact.last_activity_at = timezone.now()
    _save_contact(contact)
    audit.record(actor=actor, action=AuditEntry.Action.CREATE, obj=contact, changes=changes)
    return contact


@transaction.atomic
def contact_update(*, contact_id: int, actor, reason: str = "", **data) -> Contact:
    contact = Contact.objects.select_for_update().get(pk=contact_id)
    if contact.erased_at is not None:
        raise BusinessRuleViolation(_("This contact's personal data was erased; it cannot be edited."))
    changes = {**_set_personal(contact, data), **_apply(contact, data, CONTACT_FIELDS)}
    _consent(contact, data)
    if changes:
        contact.last_activity_at = timezone.now()
        _save_contact(contact)
        audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=contact, changes=changes, reason=reason)
    return contact


def _pseudonym() -> str:
    return f"erased-{secrets.token_hex(6)}"


@transaction.atomic
def contact_erase(*, contact_id: int, actor, reason: str) -> Contact:
    """Pseudonymise a contact on request or at the end of retention.

    Personal fields are blanked, the blind index cleared and the contact's
    data key destroyed, so any copy of the old ciphertext is unreadable; e-mails about
    the contact lose their content in the outbox (unsent ones are cancelled).
    The row stays, so interactions, feedback and complaints that point at it
    remain intact. Then every eraser other apps registered (apps.core.personal_data)
    runs in the same transaction, e.g. surveys shreds the contact's free-text answers.
    Idempotent: erasing twice changes nothing more, but the erasers run again, so data an
    app added after an earlier erasure (or an app added since) is erased too.
    """
    if not reason.strip():
        raise BusinessRuleViolation(_("Erasure needs a reason."))
    contact = Contact.objects.select_for_update().get(pk=contact_id)
    if contact.erased_at is not None:
        personal_data.erase(contact_id=contact.pk, actor=actor)
        return contact
    contact.name_ct = contact.email_ct = contact.phone_ct = ""
    contact.email_index = ""
    contact.job_role = _pseudonym() if contact.job_role else ""
    contact.survey_consent = False
    contact.survey_consent_at = None
    contact.survey_consent_source = ""
    contact.is_active = False
    contact.shred_key()
    contact.erased_at = timezone.now()
    contact.save()
    outbox_erase(record=contact)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.ERASE,
        obj=contact,
        changes={name: ["", ""] for name in CONTACT_PERSONAL},
        reason=reason,
    )
    personal_data.erase(contact_id=contact.pk, actor=actor)
    return contact


def contact_export(*, contact: Contact) -> dict[str, Any]:
    """Everything the portal holds about one contact (subject-access request), with the
    sections other apps add through apps.core.personal_data exporters."""
    interactions = contact.interactions.select_related("customer").order_by("occurred_at")
    history = history_for(contact)
    return {
        "exported_at": timezone.now().isoformat(),
        "contact": {
            "id": contact.pk,
            "customer": {"id": contact.customer_id, "name": contact.customer.name},
            "name": contact.name if contact.erased_at is None else None,
            "email": contact.email if contact.erased_at is None else None,
            "phone": contact.phone if contact.erased_at is None else None,
            "job_role": contact.job_role,
            "preferred_language": contact.preferred_language,
            "survey_consent": contact.survey_consent,
            "survey_consent_at": _iso(contact.survey_consent_at),
            "survey_consent_source": contact.survey_consent_source,
            "is_active": contact.is_active,
            "created_at": _iso(contact.created_at),
            "erased_at": _iso(contact.erased_at),
        },
        "interactions": [
            {
                "id": interaction.pk,
                "date": _iso(interaction.occurred_at),
                "channel": interaction.channel,
                "customer": interaction.customer.name,
                "summary": interaction.summary,
            }
            for interaction in interactions
        ],
        "history": [
            {"when": _iso(entry.created_at), "action": entry.action, "fields": sorted(entry.changes)}
            for entry in history
        ],
        **personal_data.export(contact_id=contact.pk),
    }


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


# Interactions ----------------------------------------------------------------------


@transaction.atomic
def interaction_log(
    *,
    customer_id: int,
    actor,
    occurred_at: datetime,
    channel: str,
    summary: str,
    contact_ids: Iterable[int] = (),
    staff_ids: Iterable[int] = (),
    follow_ups: Iterable[Mapping[str, Any]] = (),
) -> Interaction:
    """Record a customer interaction with its follow-up actions.

    Contacts must belong to the same customer. Marks the contacts active now
    (retention counts from their last activity).
    """
    customer = Customer.objects.get(pk=customer_id)
    contact_ids = list(contact_ids)
    contacts = list(Contact.objects.filter(pk__in=contact_ids, customer=customer))
    if len(contacts) != len(set(contact_ids)):
        raise BusinessRuleViolation(_("Every contact must belong to this customer."))
    interaction = Interaction.objects.create(
        customer=customer, occurred_at=occurred_at, channel=channel, summary=summary, created_by=actor
    )
    interaction.contacts.set(contacts)
    interaction.staff.set(list(staff_ids))
    # Bookkeeping for retention, not part of the record: no audit entry.
    Contact.objects.filter(pk__in=[c.pk for c in contacts]).unaudited_update(last_activity_at=timezone.now())
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=interaction,
        changes={
            "customer": [None, customer.pk],
            "channel": [None, channel],
            "occurred_at": [None, occurred_at],
            "contacts": [None, sorted(c.pk for c in contacts)],
            "staff": [None, sorted(staff_ids)],
        },
    )
    for follow_up in follow_ups:
        follow_up_add(interaction_id=interaction.pk, actor=actor, **follow_up)
    return interaction


@transaction.atomic
def follow_up_add(*, interaction_id: int, actor, description: str, owner, due_date: date) -> FollowUpAction:
    action = FollowUpAction.objects.create(
        interaction_id=interaction_id, description=description, owner=owner, due_date=due_date
    )
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=action,
        changes={"description": [None, description], "owner": [None, owner.pk], "due_date": [None, due_date]},
    )
    return action


@transaction.atomic
def follow_up_complete(*, follow_up_id: int, actor) -> FollowUpAction:
    """Mark a follow-up done. Only its owner or a quality manager may (checked by the caller's permission)."""
    action = FollowUpAction.objects.select_for_update().get(pk=follow_up_id)
    if action.done_at is not None:
        return action
    action.done_at = timezone.now()
    action.save(update_fields=["done_at", "updated_at"])
    audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=action, changes={"done_at": [None, action.done_at]})
    return action


# Retention ---------------------------------------------------------------------------


def contacts_past_retention(*, now: datetime | None = None):
    """Contacts not erased whose last activity (or creation) is older than the retention period."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CONTACT_RETENTION_DAYS)
    return (
        Contact.objects.filter(erased_at__isnull=True)
        .annotate(active_at=Coalesce("last_activity_at", "created_at"))
        .filter(active_at__lt=cutoff)
        .order_by("pk")
    )


def retention_apply(*, limit: int = 500) -> list[int]:
    """Pseudonymise up to `limit` contacts past retention, each in its own transaction.

    Idempotent: an erased contact is no longer selected, and erasing twice
    changes nothing. Returns the ids erased, for the log.
    """
    ids = list(contacts_past_retention().values_list("pk", flat=True)[:limit])
    reason = f"Retention period of {settings.CONTACT_RETENTION_DAYS} days without activity ended."
    for contact_id in ids:
        contact_erase(contact_id=contact_id, actor=AuditEntry.ActorKind.SYSTEM, reason=reason)
    return ids


# Added for the pages and API ----------------------------------------------------------


@transaction.atomic
def contact_export_recorded(*, contact_id: int, actor) -> dict[str, Any]:
    """`contact_export` for a person who asked, with an "export" audit entry in the same transaction,
    so no copy of personal data leaves the portal unrecorded."""
    contact = Contact.objects.select_related("customer").get(pk=contact_id)
    data = contact_export(contact=contact)
    audit.record(actor=actor, action=AuditEntry.Action.EXPORT, obj=contact)
    return data


def follow_up_may_complete(*, user, follow_up: FollowUpAction) -> bool:
    """The object rule for `follow_up_complete`: its owner, or any quality manager.
    Both also need the model permission, so an auditor never completes anything."""
    from apps.accounts.roles import Role

    if not user.has_perm("customers.change_followupaction"):
        return False
    return follow_up.owner_id == user.pk or user.has_role(Role.QUALITY_MANAGER)
