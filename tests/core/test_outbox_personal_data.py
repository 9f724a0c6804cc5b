"""Personal data in the e-mail outbox (#22 §7): sealed at rest, dropped once sent, erased with the person.

The scans read whole rows as PostgreSQL gives them (row_to_json), so a column added to the
outbox later is searched too without this file changing.
"""

import re
import smtplib

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from apps.complaints import services as complaints
from apps.complaints.models import Complaint, ComplaintMessage
from apps.core import services
from apps.core.crypto import ErasedError
from apps.core.models import OutboundEmail
from tests.accounts.resets import ResetQueue
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db

NAME = "Clementine Quasimodo"
ADDRESS = "clementine.q@example.org"
TEXT = "The boiler 8842-XQ flooded the cellar of Rue Mouffetard 17"


def _outbox_rows() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM core_outboundemail t ORDER BY id")
        return [row for (row,) in cursor.fetchall()]


def _audit_changes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes::text || ' ' || reason || ' ' || object_label FROM audit_auditentry")
        return [row for (row,) in cursor.fetchall()]


def _clear_text_found(rows: list[str], *needles: str) -> list[tuple[str, str]]:
    # Case-insensitive: an address or name written with different capitals is still the person.
    return [(needle, row) for row in rows for needle in needles if needle.lower() in row.lower()]


def _send_all_queued() -> None:
    for pk in (
        OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).order_by("pk").values_list("pk", flat=True)
    ):
        services.email_send(email_id=pk)


def _complaint_with_mail(quality_manager) -> tuple[Complaint, str]:
    """A complainant who got the acknowledgement and a status e-mail (sent), and has a response
    notification still waiting in the outbox."""
    complaint = make_complaint(
        qm=quality_manager,
        complainant_name=NAME,
        complainant_email=ADDRESS,
        description=TEXT,
        status=Complaint.Status.AWAITING_CUSTOMER,
    )
    token = complaint.tracking_token
    _send_all_queued()
    complaints.message_add(
        complaint_id=complaint.pk,
        actor=quality_manager,
        body="Any news?",
        visibility=ComplaintMessage.Visibility.CUSTOMER,
    )
    return complaint, token


def test_erasing_a_complainant_leaves_nothing_of_them_in_the_outbox_or_the_audit_trail(quality_manager):
    complaint, token = _complaint_with_mail(quality_manager)
    assert len(mail.outbox) == 2
    assert token in mail.outbox[0].body  # the acknowledgement carried the tracking link
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).count() == 1

    complaints.complaint_erase_personal_data(complaint_id=complaint.pk, actor=quality_manager, reason="Asked by her")

    rows = _outbox_rows()
    assert len(rows) == 3
    assert _clear_text_found(rows, NAME, ADDRESS, TEXT, "8842-XQ", token, "/complaints/track/") == []
    assert _clear_text_found(_audit_changes(), NAME, ADDRESS, TEXT, "8842-XQ", token) == []
    for email in OutboundEmail.objects.all():
        assert (email.to, email.subject, email.body, email.html_body, email.data_key) == ("", "", "", "", "")
        assert email.erased_at is not None
    # What an auditor needs stays: which e-mail, about which record, when, and how it ended.
    kept = {key.split(":")[0]: status for key, status in OutboundEmail.objects.values_list("idempotency_key", "status")}
    assert kept == {"complaint-ack": "sent", "complaint-status": "sent", "complaint-message": "cancelled"}
    assert set(OutboundEmail.objects.values_list("concerns_id", flat=True)) == {complaint.pk}


def test_the_tracking_link_of_an_erased_complaint_answers_404(quality_manager):
    complaint, token = _complaint_with_mail(quality_manager)
    client = Client()
    assert client.get(f"/complaints/track/{token}/").status_code == 200

    complaints.complaint_erase_personal_data(complaint_id=complaint.pk, actor=quality_manager, reason="Asked by her")

    assert client.get(f"/complaints/track/{token}/").status_code == 404
    assert client.post(f"/complaints/track/{token}/", {"form": "info", "body": "Hello"}).status_code == 404
    assert complaints.complaint_for_token(token) is None


def test_an_unsent_email_of_an_erased_complainant_is_cancelled_not_sent(quality_manager):
    complaint, _token = _complaint_with_mail(quality_manager)
    waiting = OutboundEmail.objects.get(status=OutboundEmail.Status.QUEUED)
    mail.outbox.clear()

    complaints.complaint_erase_personal_data(complaint_id=complaint.pk, actor=quality_manager, reason="Asked by her")

    assert services.email_send(email_id=waiting.pk) is False
    assert services.outbox_sweep() == []
    assert mail.outbox == []
    waiting.refresh_from_db()
    assert waiting.status == OutboundEmail.Status.CANCELLED


def test_an_email_about_a_person_is_sealed_with_their_data_key(quality_manager):
    # Were an erasure path ever to miss the outbox, destroying the person's key still shreds the e-mail.
    complaint = make_complaint(qm=quality_manager, complainant_name=NAME, complainant_email=ADDRESS)
    email = OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}")
    assert email.to == ADDRESS
    assert email.data_key == ""  # no key of its own: the complaint's
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(data_key="")
    email = OutboundEmail.objects.get(pk=email.pk)
    with pytest.raises(ErasedError):
        _ = email.body

    assert services.email_send(email_id=email.pk) is False
    assert mail.outbox == []
    email.refresh_from_db()
    assert (email.status, email.body_ct, email.to_ct) == (OutboundEmail.Status.CANCELLED, "", "")


def test_a_queued_email_holds_no_clear_text_at_rest(quality_manager):
    make_complaint(qm=quality_manager, complainant_name=NAME, complainant_email=ADDRESS, description=TEXT)
    services.email_enqueue(
        to="kim.staffperson@example.com",
        subject="Welcome Kim Staffperson",
        template="emails/account_invitation.txt",
        context={"full_name": "Kim Staffperson", "link": "https://qms.example.com/set/secret-link-123"},
    )
    rows = _outbox_rows()
    assert len(rows) == 2
    assert _clear_text_found(rows, NAME, ADDRESS, "/complaints/track/", "Staffperson", "secret-link-123") == []
    assert "Kim Staffperson" in OutboundEmail.objects.get(concerns_id=None).body


def test_a_sent_email_keeps_only_what_an_auditor_needs(quality_manager):
    complaint = make_complaint(qm=quality_manager, complainant_name=NAME, complainant_email=ADDRESS)
    email = OutboundEmail.objects.get()
    assert services.email_send(email_id=email.pk) is True
    assert mail.outbox[0].to == [ADDRESS]
    assert NAME in mail.outbox[0].body

    email.refresh_from_db()
    assert (email.to_ct, email.subject_ct, email.body_ct, email.html_body_ct, email.data_key) == ("",) * 5
    assert (email.status, email.attempts) == (OutboundEmail.Status.SENT, 1)
    assert email.sent_at is not None
    assert email.erased_at is not None
    assert email.idempotency_key == f"complaint-ack:{complaint.pk}"
    assert email.template == "emails/notification.txt"
    assert (email.concerns_type.model_class(), email.concerns_id) == (Complaint, complaint.pk)
    assert _clear_text_found(_outbox_rows(), NAME, ADDRESS, "/complaints/track/") == []


def test_a_password_reset_row_holds_no_usable_link_after_sending(
    staff, django_capture_on_commit_callbacks, monkeypatch
):
    resets = ResetQueue(monkeypatch)  # the reset e-mail is queued by a task, after the response
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": staff.email})
    with django_capture_on_commit_callbacks():
        resets.run()
    queued = OutboundEmail.objects.get()
    assert _clear_text_found(_outbox_rows(), staff.email, "/accounts/password/reset/") == []

    services.email_send(email_id=queued.pk)

    (message,) = mail.outbox
    link = re.search(r"/accounts/password/reset/\S+/", message.body).group(0)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert _clear_text_found(_outbox_rows(), staff.email, link, token) == []
    assert client.get(link).status_code == 302  # the link in the customer's mailbox still works


def test_a_delivery_error_kept_on_the_row_names_no_address(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"5.1.1 <clementine.q@example.org>: no such user")})

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    email = services.email_enqueue(
        to=ADDRESS, subject="Hello", template="emails/account_invitation.txt", context={"full_name": "", "link": "x"}
    )
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        services.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.QUEUED
    assert "SMTPRecipientsRefused" in email.last_error
    assert _clear_text_found(_outbox_rows(), ADDRESS) == []


def test_a_message_given_up_on_keeps_its_content_only_sealed(settings, monkeypatch):
    # Kept for a quality manager to resend (#23: tests/core/test_failed_emails.py), never in clear.
    settings.OUTBOX_MAX_ATTEMPTS = 1

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    email = services.email_enqueue(
        to=ADDRESS, subject="Hello", template="emails/account_invitation.txt", context={"full_name": NAME, "link": "x"}
    )
    with pytest.raises(smtplib.SMTPServerDisconnected):
        services.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    assert _clear_text_found(_outbox_rows(), ADDRESS, NAME) == []
    assert email.to == ADDRESS


def test_erasing_a_feedback_submitter_clears_their_outbox_rows(quality_manager):
    from apps.feedback import services as feedback

    submitted = feedback.feedback_submit_public(text=TEXT, submitter_name=NAME, submitter_email=ADDRESS)
    other = feedback.feedback_submit_public(text="Fine", submitter_name="Pat", submitter_email="pat@example.com")
    assert OutboundEmail.objects.count() == 2

    feedback.feedback_erase_personal_data(feedback_id=submitted.pk, actor=quality_manager, reason="Asked by her")

    assert _clear_text_found(_outbox_rows(), NAME, ADDRESS) == []
    assert OutboundEmail.objects.get(concerns_id=submitted.pk).status == OutboundEmail.Status.CANCELLED
    kept = OutboundEmail.objects.get(concerns_id=other.pk)
    assert (kept.status, kept.to) == (OutboundEmail.Status.QUEUED, "pat@example.com")


def test_erasing_a_contact_clears_emails_concerning_them(quality_manager):
    from apps.customers import services as customers
    from tests.customers.factories import ContactFactory

    contact = ContactFactory(name=NAME, email=ADDRESS)
    sent = services.email_enqueue(
        to=contact.email,
        subject="Hi",
        template="emails/account_invitation.txt",
        context={"full_name": NAME},
        concerns=contact,
    )
    services.email_send(email_id=sent.pk)
    waiting = services.email_enqueue(
        to=contact.email,
        subject="Hi",
        template="emails/account_invitation.txt",
        context={"full_name": NAME},
        concerns=contact,
    )

    customers.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="Asked by her")

    assert _clear_text_found(_outbox_rows(), NAME, ADDRESS) == []
    assert OutboundEmail.objects.get(pk=waiting.pk).status == OutboundEmail.Status.CANCELLED
    assert OutboundEmail.objects.get(pk=sent.pk).status == OutboundEmail.Status.SENT
