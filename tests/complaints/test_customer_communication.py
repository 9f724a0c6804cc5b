"""What the complaining customer receives (#24): e-mails that carry the tracking link and the text
meant for them, the recorded decision (ISO 10002) on the tracking page, and their own attachments."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.complaints import services
from apps.complaints.models import Complaint, ComplaintMessage
from apps.core.models import OutboundEmail

Status = Complaint.Status
DECISION = "We replace the pump free of charge and refund the delivery costs."
LINK = re.compile(r"https://qms\.example(/complaints/track/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://qms.example"


def _email(complaint: Complaint, prefix: str) -> OutboundEmail:
    return OutboundEmail.objects.filter(idempotency_key__startswith=f"{prefix}:", concerns_id=complaint.pk).latest("pk")


def _follow(email: OutboundEmail) -> str:
    """Follow the link of the e-mail's text body as the customer would; return the page."""
    match = LINK.search(email.body)
    assert match, email.body
    assert LINK.search(email.html_body).group(1) == match.group(1)
    response = Client().get(match.group(1))
    assert response.status_code == 200
    return response.content.decode()


def _decided(make, quality_manager, **kwargs) -> Complaint:
    complaint = make(status=Status.INVESTIGATING, **kwargs)
    services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, resolution=DECISION)
    return complaint


# --- 1. status e-mails carry the link and the text --------------------------------------------------


def test_the_response_email_states_the_decision_and_links_to_the_tracking_page(make, quality_manager):
    complaint = _decided(make, quality_manager)
    services.complaint_transition(complaint_id=complaint.pk, to=Status.RESPONDED, actor=quality_manager)
    email = _email(complaint, "complaint-status")
    assert DECISION in email.body
    assert DECISION in email.html_body
    page = _follow(email)
    assert complaint.reference in page
    assert DECISION in page


def test_the_closing_email_states_the_decision_and_links_to_the_tracking_page(make, quality_manager):
    complaint = _decided(make, quality_manager)
    services.complaint_transition(complaint_id=complaint.pk, to=Status.RESPONDED, actor=quality_manager)
    services.complaint_transition(complaint_id=complaint.pk, to=Status.CLOSED, actor=quality_manager)
    email = _email(complaint, "complaint-status")
    assert "Closed" in email.body
    assert DECISION in email.body
    assert DECISION in _follow(email)


def test_a_new_message_email_carries_the_message_and_the_link(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    services.message_add(
        complaint_id=complaint.pk,
        actor=quality_manager,
        body="Could you send a photo of the type plate?",
        visibility=ComplaintMessage.Visibility.CUSTOMER,
    )
    email = _email(complaint, "complaint-message")
    assert "Could you send a photo of the type plate?" in email.body
    assert "Could you send a photo of the type plate?" in _follow(email)


def test_an_internal_note_sends_nothing(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    services.message_add(
        complaint_id=complaint.pk, actor=quality_manager, body="Supplier is to blame", visibility="internal"
    )
    assert not OutboundEmail.objects.filter(idempotency_key__startswith="complaint-message:").exists()


def test_the_rejection_email_gives_the_reason_and_the_link(make, quality_manager):
    complaint = make()
    services.complaint_transition(
        complaint_id=complaint.pk, to=Status.REJECTED, actor=quality_manager, reason="Outside the warranty."
    )
    email = _email(complaint, "complaint-status")
    assert "Outside the warranty." in email.body
    assert "Outside the warranty." in _follow(email)


def test_status_emails_are_written_in_the_complaints_language(make, quality_manager):
    complaint = _decided(make, quality_manager, language="de")
    services.complaint_transition(complaint_id=complaint.pk, to=Status.RESPONDED, actor=quality_manager)
    email = _email(complaint, "complaint-status")
    assert "Ihre Reklamation" in email.subject
    assert "Unsere Entscheidung" in email.body
    assert "Our decision" not in email.body


def test_erasing_the_complainant_destroys_the_kept_tracking_token(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    assert Complaint.objects.get(pk=complaint.pk).token_ct  # kept, sealed, so later e-mails can link
    assert complaint.tracking_token not in str(Complaint.objects.values().get(pk=complaint.pk))
    services.complaint_erase_personal_data(complaint_id=complaint.pk, actor=quality_manager, reason="Asked")
    erased = Complaint.objects.get(pk=complaint.pk)
    assert erased.token_ct == ""
    assert erased.stored_token == ""
    assert Client().get(f"/complaints/track/{complaint.tracking_token}/").status_code == 404


def test_a_complaint_recorded_before_tokens_were_kept_gets_a_new_working_link(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(token_ct="")
    services.message_add(complaint_id=complaint.pk, actor=quality_manager, body="News for you.", visibility="customer")
    assert "News for you." in _follow(_email(complaint, "complaint-message"))


# --- 2. the decision is recorded before the response and the closure --------------------------------


@pytest.mark.parametrize("to", [Status.RESPONDED, Status.CLOSED])
def test_responding_or_closing_without_a_recorded_resolution_is_refused(make, quality_manager, to):
    complaint = make(status=Status.RESPONDED if to == Status.CLOSED else Status.INVESTIGATING)
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(resolution="")
    before = Complaint.objects.get(pk=complaint.pk).status
    with pytest.raises(ValidationError) as refused:
        services.complaint_transition(complaint_id=complaint.pk, to=to, actor=quality_manager)
    assert "resolution" in refused.value.message_dict
    assert Complaint.objects.get(pk=complaint.pk).status == before


def test_a_customer_visible_message_is_not_a_recorded_decision(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    services.message_add(complaint_id=complaint.pk, actor=quality_manager, body="Sorry!", visibility="customer")
    with pytest.raises(ValidationError):
        services.complaint_transition(complaint_id=complaint.pk, to=Status.RESPONDED, actor=quality_manager)


def test_the_resolution_can_be_recorded_with_the_transition(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    services.complaint_transition(
        complaint_id=complaint.pk, to=Status.RESPONDED, actor=quality_manager, resolution=f"  {DECISION} "
    )
    complaint.refresh_from_db()
    assert (complaint.status, complaint.resolution) == (Status.RESPONDED, DECISION)
    from apps.audit.models import AuditEntry

    entry = AuditEntry.objects.for_object(complaint).filter(action=AuditEntry.Action.TRANSITION).latest("pk")
    assert entry.changes["resolution"] == ["", DECISION]


def test_the_api_answers_400_naming_the_resolution_field(api_clients, make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    url = f"/api/v1/complaints/{complaint.pk}/transition/"
    response = api_clients["quality_manager"].post(url, {"to": "responded"}, format="json")
    assert response.status_code == 400
    assert "resolution" in response.json()["error"]["fields"]
    assert Complaint.objects.get(pk=complaint.pk).status == Status.INVESTIGATING
    response = api_clients["quality_manager"].post(url, {"to": "responded", "resolution": DECISION}, format="json")
    assert response.status_code == 200
    assert response.json()["resolution"] == DECISION


def test_the_form_shows_the_refusal_on_the_resolution_field(clients, make):
    complaint = make(status=Status.INVESTIGATING)
    url = f"/complaints/{complaint.pk}/transition/"
    response = clients["quality_manager"].post(url, {"to": "responded", "reason": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'id="id_transition_resolution"[^>]*aria-invalid="true"', page)
    assert "Record the resolution" in page
    assert Complaint.objects.get(pk=complaint.pk).status == Status.INVESTIGATING
    response = clients["quality_manager"].post(url, {"to": "responded", "resolution": DECISION})
    assert response.status_code == 302
    assert Complaint.objects.get(pk=complaint.pk).resolution == DECISION


def test_the_tracking_page_states_the_decision_once_responded(make, quality_manager):
    complaint = _decided(make, quality_manager)
    client = Client()
    url = f"/complaints/track/{complaint.tracking_token}/"
    assert DECISION not in client.get(url).content.decode()  # not told before it is sent
    services.complaint_transition(complaint_id=complaint.pk, to=Status.RESPONDED, actor=quality_manager)
    assert DECISION in client.get(url).content.decode()


# --- 3. the customer's attachments on the tracking page ---------------------------------------------


def _with_attachment(make, name="invoice.txt", body=b"order 4711"):
    upload = SimpleUploadedFile(name, body, content_type="text/plain")
    return make(attachments=[upload])


def test_the_tracking_page_lists_the_customers_attachments_with_a_working_download(make):
    complaint = _with_attachment(make)
    attachment = complaint.attachments.get()
    page = Client().get(f"/complaints/track/{complaint.tracking_token}/").content.decode()
    url = f"/complaints/track/{complaint.tracking_token}/attachments/{attachment.pk}/"
    assert "invoice.txt" in page
    assert url in page
    response = Client().get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"order 4711"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_another_complaints_token_cannot_fetch_an_attachment(make):
    mine = _with_attachment(make)
    other = make()
    attachment = mine.attachments.get()
    assert Client().get(f"/complaints/track/{other.tracking_token}/attachments/{attachment.pk}/").status_code == 404
    assert Client().get(f"/complaints/track/not-a-token/attachments/{attachment.pk}/").status_code == 404


def test_an_erased_complainants_attachment_link_answers_404(make, quality_manager):
    complaint = _with_attachment(make)
    attachment = complaint.attachments.get()
    services.complaint_erase_personal_data(complaint_id=complaint.pk, actor=quality_manager, reason="Asked")
    url = f"/complaints/track/{complaint.tracking_token}/attachments/{attachment.pk}/"
    assert Client().get(url).status_code == 404
