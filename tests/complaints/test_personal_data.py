"""The complainant's personal data: encrypted at rest, erasable on request, erased after retention."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.complaints import services
from apps.complaints.models import Complaint, ComplaintAttachment
from apps.core.crypto import ErasedError

Status = Complaint.Status
pytestmark = pytest.mark.django_db
SECRET_TEXT = "Pump serial 4711 leaked on Mrs Example's kitchen floor"


def _raw(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _with_everything(make, quality_manager):
    upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")
    upload.sniffed_type = "image/png"
    complaint = make(description=SECRET_TEXT, desired_outcome=SECRET_TEXT, attachments=[upload], status=Status.CLOSED)
    services.message_add(complaint_id=complaint.pk, actor=quality_manager, body=SECRET_TEXT, visibility="customer")
    services.complaint_rate(complaint_id=complaint.pk, rating=4, comment=SECRET_TEXT)
    return Complaint.objects.get(pk=complaint.pk)


def test_free_text_is_stored_encrypted_and_kept_out_of_the_audit_trail(make, quality_manager):
    complaint = _with_everything(make, quality_manager)

    row = _raw(
        "SELECT description_ct, desired_outcome_ct, rating_comment_ct FROM complaints_complaint WHERE id = %s",
        [complaint.pk],
    )[0]
    bodies = _raw("SELECT body_ct FROM complaints_complaintmessage WHERE complaint_id = %s", [complaint.pk])
    assert all(value and SECRET_TEXT not in value for value in [*row, *(body for (body,) in bodies)])
    assert (complaint.description, complaint.desired_outcome, complaint.rating_comment) == (SECRET_TEXT,) * 3
    assert [message.body for message in complaint.messages.all()] == ["We replaced the part.", SECRET_TEXT]
    trail = _raw("SELECT changes::text FROM audit_auditentry", [])
    assert not [changes for (changes,) in trail if "4711" in changes]


def test_erasure_makes_the_text_unreadable_and_keeps_the_quality_record(
    make, quality_manager, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    complaint = _with_everything(make, quality_manager)
    stored = ComplaintAttachment.objects.get(complaint=complaint).file.name
    assert (tmp_path / stored).exists()

    with pytest.raises(Exception, match="Say why"):
        services.complaint_erase_personal_data(complaint_id=complaint.pk, actor=quality_manager, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_erase_personal_data(complaint_id=complaint.pk, actor=quality_manager, reason="Asked by her")
    services.complaint_erase_personal_data(complaint_id=complaint.pk, actor=quality_manager, reason="Twice")

    complaint = Complaint.objects.get(pk=complaint.pk)
    assert complaint.erased_at is not None
    assert complaint.data_key == ""
    assert (complaint.complainant_name, complaint.complainant_email, complaint.description) == ("", "", "")
    assert complaint.reference.startswith("CMP-")
    assert complaint.status == Status.CLOSED
    assert complaint.rating == 4
    messages = list(complaint.messages.all())
    assert [message.body for message in messages] == ["", ""]
    with pytest.raises(ErasedError):
        complaint._decrypt(messages[-1].body_ct)
    attachment = ComplaintAttachment.objects.get(complaint=complaint)
    assert not attachment.file
    assert not (tmp_path / stored).exists()
    erasures = AuditEntry.objects.for_object(complaint).filter(action=AuditEntry.Action.ERASE)
    assert [entry.reason for entry in erasures] == ["Asked by her"]


@pytest.mark.parametrize("persona", ["staff", "auditor"])
def test_only_quality_managers_erase(make, personas, persona):
    complaint = make(assignee=personas["staff"])
    with pytest.raises(Exception, match="may not erase"):
        services.complaint_erase_personal_data(complaint_id=complaint.pk, actor=personas[persona], reason="Asked")
    assert Complaint.objects.get(pk=complaint.pk).erased_at is None


@pytest.mark.parametrize(
    ("persona", "status", "erased"),
    [("quality_manager", 302, True), ("staff", 403, False), ("auditor", 403, False), ("anonymous", 302, False)],
)
def test_erase_page_by_role(clients, make, personas, persona, status, erased):
    complaint = make(assignee=personas["staff"])
    response = clients[persona].post(f"/complaints/{complaint.pk}/erase/", {"reason": "The person asked"})
    assert response.status_code == status
    assert (Complaint.objects.get(pk=complaint.pk).erased_at is not None) is erased


def test_staff_page_shows_erased_instead_of_the_text(clients, make):
    complaint = make(description=SECRET_TEXT)
    page = clients["quality_manager"].get(f"/complaints/{complaint.pk}/").content.decode()
    assert SECRET_TEXT.replace("'", "&#x27;") in page
    assert 'data-testid="erase-form"' in page
    clients["quality_manager"].post(f"/complaints/{complaint.pk}/erase/", {"reason": "The person asked"})
    page = clients["quality_manager"].get(f"/complaints/{complaint.pk}/").content.decode()
    assert "4711" not in page
    assert "Personal data erased on" in page
    assert 'data-testid="erase-form"' not in page
    api = clients["quality_manager"].get(f"/api/v1/complaints/{complaint.pk}/").json()
    assert api["description"] == ""
    assert api["erased_at"]


def test_retention_erases_finished_complaints_unchanged_for_the_period(make, settings):
    settings.COMPLAINT_PERSONAL_DATA_RETENTION_DAYS = 30
    old_closed, old_open, recent_closed = make(status=Status.CLOSED), make(), make(status=Status.CLOSED)
    long_ago = timezone.now() - timedelta(days=31)
    Complaint.objects.filter(pk__in=[old_closed.pk, old_open.pk]).unaudited_update(updated_at=long_ago)

    assert services.retention_apply() == [old_closed.pk]
    assert services.retention_apply() == []
    erased = set(Complaint.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    assert erased == {old_closed.pk}
    assert recent_closed.pk not in erased
    entry = AuditEntry.objects.for_object(old_closed).get(action=AuditEntry.Action.ERASE)
    assert entry.actor_kind == AuditEntry.ActorKind.SYSTEM
    assert "Retention" in entry.reason


def test_erasing_a_contact_erases_their_complaints_and_feedback(make, quality_manager):
    from apps.customers import services as customer_services
    from apps.feedback import services as feedback_services
    from tests.customers.factories import ContactFactory

    contact = ContactFactory()
    complaint = make(contact=contact, description=SECRET_TEXT)
    feedback = feedback_services.feedback_record(
        actor=quality_manager, channel="phone", text=SECRET_TEXT, customer=contact.customer, contact=contact
    )
    other = make(description="Someone else's complaint")

    customer_services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="Asked by the person")

    complaint.refresh_from_db()
    feedback.refresh_from_db()
    assert complaint.erased_at is not None
    assert complaint.description == ""
    assert feedback.erased_at is not None
    assert feedback.text == ""
    assert Complaint.objects.get(pk=other.pk).erased_at is None
