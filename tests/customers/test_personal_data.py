"""Contacts' personal data: encrypted at rest, found by blind index, erasable, exportable, time-limited."""

import base64
import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.core.crypto import ErasedError
from apps.core.exceptions import BusinessRuleViolation
from apps.customers import services
from apps.customers.models import Contact, Customer, Interaction

EMAIL = "Jane.Doe@Example.com"


@pytest.fixture
def customer(db, quality_manager):
    return services.customer_create(actor=quality_manager, name="Nordwind Logistik GmbH", segment="Logistics")


@pytest.fixture
def contact(customer, quality_manager):
    return services.contact_create(
        customer_id=customer.pk,
        actor=quality_manager,
        name="Jane Doe",
        email=EMAIL,
        phone="+49 30 1234567",
        job_role="Head of Purchasing",
        survey_consent=True,
        survey_consent_source=Contact.ConsentSource.CONTRACT,
    )


def _raw_row(contact_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(c)::text FROM customers_contact c WHERE id = %s", [contact_id])
        return cursor.fetchone()[0]


def _is_fernet_token(value) -> bool:
    try:
        return isinstance(value, str) and base64.urlsafe_b64decode(value)[:1] == b"\x80"
    except ValueError:
        return False


def test_raw_database_row_holds_no_plain_personal_data(contact):
    row = json.loads(_raw_row(contact.pk))
    # Ciphertext is random base64 and, read case-blind, spells "doe" now and then; it is set
    # aside (after checking each personal field holds a Fernet token) and the rest is searched.
    assert all(_is_fernet_token(row[field]) for field in ("name_ct", "email_ct", "phone_ct", "data_key"))
    plain = json.dumps({key: value for key, value in row.items() if not _is_fernet_token(value)}).lower()
    for secret in ("jane", "doe", "example.com", "1234567"):
        assert secret not in plain
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.name, stored.email, stored.phone) == ("Jane Doe", "jane.doe@example.com", "+49 30 1234567")


def test_audit_trail_holds_no_plain_personal_data(contact):
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(changes::text || object_label, ' ') FROM audit_auditentry")
        trail = cursor.fetchone()[0].lower()
    assert "jane" not in trail
    assert "example.com" not in trail


def test_contact_is_found_by_email_through_the_blind_index(contact, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = list(Contact.objects.with_email("  JANE.DOE@example.COM "))
    assert found == [contact]
    assert list(Contact.objects.with_email("someone.else@example.com")) == []


def test_same_email_twice_is_refused(contact, customer, quality_manager):
    with pytest.raises(BusinessRuleViolation, match="already exists"):
        services.contact_create(
            customer_id=customer.pk, actor=quality_manager, name="Jane Again", email="jane.doe@EXAMPLE.com"
        )
    assert Contact.objects.count() == 1


def test_each_contact_has_its_own_data_key(customer, quality_manager, contact):
    other = services.contact_create(customer_id=customer.pk, actor=quality_manager, name="Max", email="max@example.com")
    assert contact.data_key
    assert other.data_key
    assert contact.data_key != other.data_key


def test_consent_is_dated(contact):
    assert contact.survey_consent is True
    assert contact.survey_consent_at is not None


def test_erasure_pseudonymises_keeps_quality_records_and_shreds_the_key(contact, customer, quality_manager):
    old_ciphertext = Contact.objects.get(pk=contact.pk).email_ct
    interaction = services.interaction_log(
        customer_id=customer.pk,
        actor=quality_manager,
        occurred_at=timezone.now(),
        channel=Interaction.Channel.CALL,
        summary="Discussed delivery times",
        contact_ids=[contact.pk],
    )
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="Art. 17 request of 2026-11-20")

    erased = Contact.objects.get(pk=contact.pk)
    assert erased.erased_at is not None
    assert (erased.name, erased.email, erased.phone, erased.email_index, erased.data_key) == ("", "", "", "", "")
    assert erased.display_name == f"Erased contact #{contact.pk}"
    assert list(Contact.objects.with_email(EMAIL)) == []
    assert list(interaction.contacts.all()) == [erased]
    # An old copy of the ciphertext cannot be read any more: its data key is gone.
    erased.email_ct = old_ciphertext
    with pytest.raises(ErasedError):
        erased._decrypt(old_ciphertext)
    entry = AuditEntry.objects.for_object(erased).get(action=AuditEntry.Action.ERASE)
    assert entry.reason == "Art. 17 request of 2026-11-20"
    assert entry.actor == quality_manager


def test_erasure_needs_a_reason_and_is_idempotent(contact, quality_manager):
    with pytest.raises(BusinessRuleViolation):
        services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="  ")
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request again")
    assert AuditEntry.objects.for_object(contact).filter(action=AuditEntry.Action.ERASE).count() == 1


def test_erased_contact_cannot_be_edited(contact, quality_manager):
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")
    with pytest.raises(BusinessRuleViolation):
        services.contact_update(contact_id=contact.pk, actor=quality_manager, name="Back again")


def test_email_of_an_erased_contact_can_be_used_by_a_new_contact(contact, customer, quality_manager):
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")
    again = services.contact_create(customer_id=customer.pk, actor=quality_manager, name="Jane", email=EMAIL)
    assert list(Contact.objects.with_email(EMAIL)) == [again]


def test_subject_access_export_holds_everything_about_the_contact(contact, customer, quality_manager):
    services.interaction_log(
        customer_id=customer.pk,
        actor=quality_manager,
        occurred_at=timezone.now(),
        channel=Interaction.Channel.MEETING,
        summary="Quarterly review",
        contact_ids=[contact.pk],
    )
    export = services.contact_export(contact=Contact.objects.get(pk=contact.pk))
    assert export["contact"]["email"] == "jane.doe@example.com"
    assert export["contact"]["phone"] == "+49 30 1234567"
    assert export["contact"]["customer"]["name"] == "Nordwind Logistik GmbH"
    assert [i["summary"] for i in export["interactions"]] == ["Quarterly review"]
    assert export["history"][0]["action"] == "create"


def test_retention_pseudonymises_only_inactive_contacts_and_is_idempotent(customer, quality_manager, settings):
    settings.CONTACT_RETENTION_DAYS = 365
    stale = services.contact_create(customer_id=customer.pk, actor=quality_manager, name="Old", email="old@example.com")
    fresh = services.contact_create(customer_id=customer.pk, actor=quality_manager, name="New", email="new@example.com")
    long_ago = timezone.now() - timedelta(days=400)
    Contact.objects.filter(pk=stale.pk).unaudited_update(last_activity_at=long_ago, created_at=long_ago)

    assert services.retention_apply() == [stale.pk]
    assert services.retention_apply() == []
    assert Contact.objects.get(pk=stale.pk).erased_at is not None
    assert Contact.objects.get(pk=fresh.pk).erased_at is None
    entry = AuditEntry.objects.for_object(stale).get(action=AuditEntry.Action.ERASE)
    assert entry.actor_kind == AuditEntry.ActorKind.SYSTEM
    assert "365 days" in entry.reason


def test_retention_task_is_scheduled_nightly(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "customers.apply_retention" in tasks


def test_key_rotation_command_rewraps_every_data_key(contact, customer, quality_manager, settings):
    erased = services.contact_create(customer_id=customer.pk, actor=quality_manager, name="Gone", email="g@example.com")
    services.contact_erase(contact_id=erased.pk, actor=quality_manager, reason="request")
    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_encryption_keys", "--batch-size", "1")
    settings.FIELD_ENCRYPTION_KEY = new_key
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.name, stored.email) == ("Jane Doe", "jane.doe@example.com")
    assert Contact.objects.get(pk=erased.pk).data_key == ""


def test_bulk_writes_on_contacts_are_refused(contact):
    from apps.audit.models import AuditBypassError

    with pytest.raises(AuditBypassError):
        Contact.objects.filter(pk=contact.pk).update(job_role="silently changed")


def test_customer_changes_are_audited_field_by_field(customer, quality_manager):
    services.customer_update(customer_id=customer.pk, actor=quality_manager, segment="Retail", reason="re-segmented")
    entry = AuditEntry.objects.for_object(Customer.objects.get(pk=customer.pk)).get(action=AuditEntry.Action.UPDATE)
    assert entry.changes == {"segment": ["Logistics", "Retail"]}
    assert entry.reason == "re-segmented"


# --- what other apps hold (apps.core.personal_data) ------------------------------------------


@pytest.fixture
def registry(monkeypatch):
    """The registries emptied for one test, so only the callbacks it registers run."""
    from apps.core import personal_data

    monkeypatch.setattr(personal_data, "_erasers", {})
    monkeypatch.setattr(personal_data, "_exporters", {})
    return personal_data


def test_erasure_runs_every_registered_eraser_in_its_transaction(contact, quality_manager, registry):
    from django.db import transaction

    calls = []

    def eraser(*, contact_id, actor):
        calls.append((contact_id, actor, Contact.objects.get(pk=contact_id).erased_at is not None))
        assert transaction.get_connection().in_atomic_block

    registry.register_eraser(eraser)
    registry.register_eraser(eraser)  # registering twice (ready() run again) runs it once

    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")

    assert calls == [(contact.pk, quality_manager, True)]


def test_a_failing_eraser_rolls_the_whole_erasure_back(contact, quality_manager, registry):
    def eraser(*, contact_id, actor):
        raise RuntimeError("storage unavailable")

    registry.register_eraser(eraser)
    with pytest.raises(RuntimeError):
        services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")
    assert Contact.objects.get(pk=contact.pk).erased_at is None


def test_export_adds_every_registered_section(contact, registry):
    def exporter(*, contact_id):
        return {"widgets": [contact_id]}

    registry.register_exporter(exporter)
    export = services.contact_export(contact=Contact.objects.get(pk=contact.pk))
    assert export["widgets"] == [contact.pk]


def _answered_survey(contact, text: str):
    from tests.surveys.test_responses import make_invitation, make_wave, submit

    invitation = make_invitation(make_wave(), contact=contact)
    return submit(invitation, nps=4, csat=2, text=text)


def test_subject_access_export_includes_the_survey_responses(contact, quality_manager):
    response = _answered_survey(contact, "The driver was late twice")

    data = services.contact_export_recorded(contact_id=contact.pk, actor=quality_manager)

    [item] = data["survey_responses"]
    assert item["campaign"] == response.campaign.name
    assert item["submitted_at"] == response.submitted_at.isoformat()
    assert {a["kind"]: a["score"] for a in item["answers"] if a["score"] is not None} == {"nps": 4, "csat": 2}
    assert item["text_answers"] == [
        {"question": "Anything else you would like to tell us?", "text": "The driver was late twice"}
    ]
    assert [i["campaign"] for i in data["survey_invitations"]] == [response.campaign.name]
    assert data["survey_opt_out_at"] is None
    secrets = (response.invitation.token, response.invitation.nonce, response.invitation.token_hash)
    assert not any(secret in str(data) for secret in secrets)


def test_erasure_shreds_the_survey_free_text_and_the_export_no_longer_holds_it(contact, quality_manager):
    from apps.surveys.models import Response

    response = _answered_survey(contact, "The driver was late twice")

    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="Art. 17 request")

    stored = Response.objects.get(pk=response.pk)
    assert (stored.comments_ct, stored.data_key) == ("", "")
    assert stored.erased_at is not None
    data = services.contact_export(contact=Contact.objects.get(pk=contact.pk))
    [item] = data["survey_responses"]
    assert item["text_answers"] == []
    assert item["erased_at"] is not None
    assert "driver" not in str(data)
