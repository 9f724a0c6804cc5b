"""Master key rotation (#23): every wrapped data key in every app moves to the newest key.

The README's steps are followed literally: put the new key first, rotate, drop the old key.
Then every record holding personal data must still read back, and its pages must answer.
"""

from __future__ import annotations

import io
import time

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.complaints.models import Complaint
from apps.core import keys
from apps.core import services as core_services
from apps.core.models import OutboundEmail
from apps.customers.models import Contact
from apps.feedback.models import Feedback
from apps.surveys.models import Response
from tests.complaints.factories import make_complaint
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.feedback.factories import FeedbackFactory
from tests.surveys.factories import CampaignFactory
from tests.surveys.test_responses import make_invitation, make_wave, submit

pytestmark = pytest.mark.django_db


def _one_of_each_holder(quality_manager) -> dict[str, tuple[type, int, object]]:
    """{label: (model, pk, how to read its plain text)} for one record of every key holder."""
    contact = ContactFactory(customer=CustomerFactory(), name="Jane Doe", email="jane.doe@example.com")
    complaint = make_complaint(complainant_name="Clara Customer", description="The delivery arrived broken.")
    feedback = FeedbackFactory(actor=quality_manager, text="The box was damaged.")
    campaign = CampaignFactory()
    response = submit(make_invitation(make_wave(campaign)), text="Faster delivery, please.")
    own_key = core_services.email_enqueue(
        to="staff@example.com",
        subject="Welcome",
        template="emails/account_invitation.txt",
        context={"full_name": "Sam", "link": "x"},
    )
    sealed = OutboundEmail.objects.concerning(complaint).order_by("pk").first()
    assert own_key.data_key, "an e-mail about nobody has a data key of its own"
    assert sealed is not None, "complaint_create queues an acknowledgement sealed with the complaint"
    return {
        "contact": (Contact, contact.pk, lambda row: (row.name, row.email)),
        "complaint": (Complaint, complaint.pk, lambda row: (row.complainant_name, row.description)),
        "feedback": (Feedback, feedback.pk, lambda row: row.text),
        "survey response": (Response, response.pk, lambda row: row.comments_json),
        "e-mail with its own key": (OutboundEmail, own_key.pk, lambda row: (row.to, row.subject)),
        "e-mail sealed with the complaint": (OutboundEmail, sealed.pk, lambda row: (row.to, row.body)),
        "pk of complaint and feedback": (None, (complaint.pk, feedback.pk), None),
    }


def _read_all(records) -> tuple[dict[str, object], list[str]]:
    values, unreadable = {}, []
    for label, (model, pk, read) in records.items():
        if model is None:
            continue
        try:
            values[label] = read(model._base_manager.get(pk=pk))
        except Exception as error:  # the test reports every record that cannot be read
            unreadable.append(f"{label}: {type(error).__name__}")
    return values, unreadable


def test_rotation_keeps_every_record_of_every_app_readable_after_the_old_key_is_dropped(
    quality_manager, clients, settings
):
    records = _one_of_each_holder(quality_manager)
    # A holder added to the registry must be added to this test too.
    assert {model for model, _pk, _read in records.values() if model} == {h.model() for h in keys.KEY_HOLDERS}
    before, unreadable = _read_all(records)
    assert unreadable == []

    old_key, new_key = settings.FIELD_ENCRYPTION_KEY, Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_encryption_keys", "--batch-size", "1", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEY = new_key

    after, unreadable = _read_all(records)
    assert unreadable == [], f"{len(unreadable)} of {len(before)} records unreadable after rotation"
    assert after == before
    complaint_pk, feedback_pk = records["pk of complaint and feedback"][1]
    client = clients["quality_manager"]
    assert client.get(reverse("complaints:complaint_detail", args=[complaint_pk])).status_code == 200
    assert client.get(reverse("feedback:feedback_detail", args=[feedback_pk])).status_code == 200


def test_rotation_reports_counts_per_model_and_a_second_run_has_nothing_left(quality_manager, settings, capsys):
    _one_of_each_holder(quality_manager)
    held = {holder.label: holder.model()._base_manager.exclude(data_key="").count() for holder in keys.KEY_HOLDERS}
    assert all(held.values())
    old_key, new_key = settings.FIELD_ENCRYPTION_KEY, Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"

    call_command("rotate_encryption_keys", "--check")
    check = capsys.readouterr().out
    for label, count in held.items():
        assert f"{label}: {count} of {count} data keys wrapped by an older master key" in check

    call_command("rotate_encryption_keys")
    first = capsys.readouterr().out
    for label, count in held.items():
        assert f"{label}: {count} re-wrapped, 0 already current" in first
    call_command("rotate_encryption_keys")
    second = capsys.readouterr().out
    for label, count in held.items():
        assert f"{label}: 0 re-wrapped, {count} already current" in second
    call_command("rotate_encryption_keys", "--check")
    assert "Every data key is wrapped by the newest master key." in capsys.readouterr().out


def test_an_interrupted_rotation_is_finished_by_running_it_again(quality_manager, settings, monkeypatch):
    records = _one_of_each_holder(quality_manager)
    before, _ = _read_all(records)
    old_key, new_key = settings.FIELD_ENCRYPTION_KEY, Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"

    # The process dies in the middle: after the first batches of the first holders were committed.
    real_rewrap, calls = keys.rewrap_batch, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_rewrap(*args, **kwargs)

    monkeypatch.setattr(keys, "rewrap_batch", dying)
    with pytest.raises(KeyboardInterrupt):
        call_command("rotate_encryption_keys", "--batch-size", "1", stdout=io.StringIO())
    monkeypatch.setattr(keys, "rewrap_batch", real_rewrap)
    assert keys.stale_data_keys()  # some are left on the old key
    call_command("rotate_encryption_keys", "--batch-size", "1", stdout=io.StringIO())
    assert keys.stale_data_keys() == {}

    settings.FIELD_ENCRYPTION_KEY = new_key
    after, unreadable = _read_all(records)
    assert (unreadable, after) == ([], before)


def test_deploy_check_refuses_data_keys_no_configured_key_can_open(quality_manager, settings):
    _one_of_each_holder(quality_manager)
    settings.FIELD_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{settings.FIELD_ENCRYPTION_KEY}"
    call_command("check", "--deploy", "--tag", "encryption")  # old key still configured: fine

    settings.FIELD_ENCRYPTION_KEY = settings.FIELD_ENCRYPTION_KEY.split(",")[0]  # old key dropped too early
    with pytest.raises(CommandError) as refused:
        call_command("check", "--deploy", "--tag", "encryption")
    message = str(refused.value)
    assert "complaints.Complaint: 1 data key" in message
    assert "rotate_encryption_keys" in message


def test_finding_stale_keys_is_one_cheap_pass(quality_manager, settings):
    # 2,000 contacts on the old key: the exact scan reads them in batches, no sampling.
    customer = CustomerFactory()
    wrapped = [Contact(customer=customer, data_key=keys.crypto.new_wrapped_key()) for _ in range(2000)]
    Contact.objects.bulk_create(wrapped)
    settings.FIELD_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{settings.FIELD_ENCRYPTION_KEY}"
    started = time.perf_counter()
    stale = keys.stale_data_keys()
    elapsed = time.perf_counter() - started
    assert stale == {"customers.Contact": 2000}
    assert elapsed < 5, f"{elapsed:.2f}s for 2,000 rows"
