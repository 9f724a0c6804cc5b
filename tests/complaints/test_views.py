import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.complaints import services
from apps.complaints.models import Complaint, ComplaintAttachment, ComplaintMessage
from apps.core.models import OutboundEmail

Status = Complaint.Status
pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
XSS = "<script>alert('x')</script>"


def _form(**extra):
    data = {
        "complainant_name": "Clara Customer",
        "complainant_email": "clara@example.org",
        "description": "The pump leaks.",
        "desired_outcome": "A replacement",
        "website": "",
    }
    data.update(extra)
    return data


# --- role x page matrix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 404), ("auditor", 200), ("anonymous", 302)],
)
def test_detail_page_by_role(clients, complaint, persona, expected):
    response = clients[persona].get(f"/complaints/{complaint.pk}/")
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("persona", "count"), [("quality_manager", 2), ("staff", 1), ("other_staff", 0), ("auditor", 2)]
)
def test_list_shows_staff_only_their_complaints(clients, make, staff, persona, count):
    make(assignee=staff)
    make()
    response = clients[persona].get("/complaints/")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == count


def test_list_requires_sign_in(clients):
    assert clients["anonymous"].get("/complaints/").status_code == 302


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 302), ("staff", 302), ("other_staff", 404), ("auditor", 403), ("anonymous", 302)],
)
def test_transition_post_by_role(clients, complaint, persona, expected):
    response = clients[persona].post(f"/complaints/{complaint.pk}/transition/", {"to": "acknowledged"})
    assert response.status_code == expected
    complaint.refresh_from_db()
    assert (complaint.status == Status.ACKNOWLEDGED) is (persona in ("quality_manager", "staff"))


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 302), ("staff", 403), ("auditor", 403), ("other_staff", 403)]
)
def test_only_quality_managers_assign(clients, complaint, other_staff, persona, expected):
    response = clients[persona].post(f"/complaints/{complaint.pk}/assign/", {"assignee": other_staff.pk})
    assert response.status_code == expected
    complaint.refresh_from_db()
    assert (complaint.assignee_id == other_staff.pk) is (persona == "quality_manager")


@pytest.mark.parametrize(("persona", "expected"), [("staff", 302), ("auditor", 403), ("other_staff", 404)])
def test_message_post_by_role(clients, complaint, persona, expected):
    response = clients[persona].post(
        f"/complaints/{complaint.pk}/messages/", {"body": "Checked stock", "visibility": "internal"}
    )
    assert response.status_code == expected


def test_staff_page_shows_customer_input_escaped(clients, make, staff):
    complaint = make(assignee=staff, description=XSS, complainant_name=XSS, customer_name=XSS)
    response = clients["staff"].get(f"/complaints/{complaint.pk}/")
    body = response.content.decode()
    assert XSS not in body
    assert "&lt;script&gt;" in body
    list_body = clients["staff"].get("/complaints/").content.decode()
    assert XSS not in list_body


def test_detail_shows_sla_pause(clients, make, quality_manager):
    complaint = make(status=Status.AWAITING_CUSTOMER)
    response = clients["quality_manager"].get(f"/complaints/{complaint.pk}/")
    assert b'data-testid="paused"' in response.content


def test_auditor_sees_no_action_forms(clients, complaint):
    response = clients["auditor"].get(f"/complaints/{complaint.pk}/")
    assert b'data-testid="actions"' not in response.content


@pytest.mark.parametrize("rows", [5, 40])
def test_list_runs_a_bounded_number_of_queries(
    clients, make, staff, quality_manager, rows, django_assert_max_num_queries
):
    from tests.complaints.factories import make_category
    from tests.customers.factories import ProductFactory

    category, product = make_category(), ProductFactory()
    for n in range(rows):
        complaint = make(assignee=staff if n % 2 else None, product=product)
        services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, category=category)
    with django_assert_max_num_queries(14):
        response = clients["quality_manager"].get("/complaints/?overdue=false")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(rows, 25)


def test_list_filters_by_status_and_reference(clients, make, quality_manager):
    received = make()
    make(status=Status.ACKNOWLEDGED)
    response = clients["quality_manager"].get("/complaints/?status=received")
    assert list(response.context["object_list"]) == [received]
    response = clients["quality_manager"].get(f"/complaints/?q={received.reference}")
    assert list(response.context["object_list"]) == [received]


# --- public pages --------------------------------------------------------------------------------


def test_public_form_files_a_complaint_with_attachment(client, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("photo.png", PNG, content_type="application/pdf")
    with django_capture_on_commit_callbacks():
        response = client.post("/complaints/new/", {**_form(), "attachments": [upload]})
    assert response.status_code == 302
    done = client.get(response["Location"])
    complaint = Complaint.objects.get()
    assert complaint.reference in done.content.decode()
    attachment = ComplaintAttachment.objects.get()
    assert attachment.content_type == "image/png"  # sniffed, not the client's header
    assert "photo" not in attachment.file.name
    assert OutboundEmail.objects.filter(idempotency_key=f"complaint-ack:{complaint.pk}").exists()


def test_the_done_page_shows_the_reference_to_this_browser_once_and_no_session_is_written(client):
    response = client.post("/complaints/new/", _form())
    complaint = Complaint.objects.get()
    assert complaint.reference in client.get(response["Location"]).content.decode()
    # A reload, a forged cookie and another browser are sent back to the form.
    assert client.get(response["Location"])["Location"] == reverse("complaints:public_new")
    client.cookies["qms_complaint_submitted"] = complaint.reference
    assert client.get(response["Location"])["Location"] == reverse("complaints:public_new")
    assert Client().get(response["Location"])["Location"] == reverse("complaints:public_new")
    assert not Session.objects.exists()


def test_public_form_refuses_disguised_files(client):
    upload = SimpleUploadedFile(
        "evil.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 40, content_type="application/pdf"
    )
    response = client.post("/complaints/new/", {**_form(), "attachments": [upload]})
    assert response.status_code == 200
    assert not Complaint.objects.exists()


def test_public_form_refuses_too_large_files(client, settings):
    settings.COMPLAINT_ATTACHMENT_MAX_BYTES = 10
    upload = SimpleUploadedFile("photo.png", PNG, content_type="image/png")
    response = client.post("/complaints/new/", {**_form(), "attachments": [upload]})
    assert response.status_code == 200
    assert not Complaint.objects.exists()


def test_public_form_refuses_more_than_five_files(client):
    uploads = [SimpleUploadedFile(f"{n}.txt", b"hello", content_type="text/plain") for n in range(6)]
    response = client.post("/complaints/new/", {**_form(), "attachments": uploads})
    assert response.status_code == 200
    assert not Complaint.objects.exists()


def test_honeypot_refuses_bots(client):
    response = client.post("/complaints/new/", _form(website="http://spam"))
    assert response.status_code == 200
    assert not Complaint.objects.exists()


def test_public_form_is_rate_limited(client):
    for _ in range(5):
        assert client.post("/complaints/new/", _form()).status_code == 302
    assert client.post("/complaints/new/", _form()).status_code == 429
    assert Complaint.objects.count() == 5


def test_public_form_enforces_csrf():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/complaints/new/", _form())
    assert response.status_code == 403


def test_guessed_token_is_a_plain_404(client, complaint):
    response = client.get("/complaints/track/not-a-real-token-at-all/")
    assert response.status_code == 404
    assert complaint.reference.encode() not in response.content


def test_tracking_page_shows_customer_messages_never_internal_notes(client, make, quality_manager):
    complaint = make()
    services.message_add(complaint_id=complaint.pk, actor=quality_manager, body="SECRET-NOTE", visibility="internal")
    services.message_add(complaint_id=complaint.pk, actor=quality_manager, body="We are on it", visibility="customer")
    response = client.get(f"/complaints/track/{complaint.tracking_token}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "We are on it" in body
    assert "SECRET-NOTE" not in body
    assert complaint.reference in body


def test_customer_adds_information_and_resumes(client, make):
    complaint = make(status=Status.AWAITING_CUSTOMER)
    response = client.post(
        f"/complaints/track/{complaint.tracking_token}/", {"form": "info", "body": "Serial number 42"}
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert ComplaintMessage.objects.filter(complaint=complaint, author_kind="customer").exists()


def test_customer_rates_once_after_closure(client, make):
    complaint = make(status=Status.CLOSED)
    url = f"/complaints/track/{complaint.tracking_token}/"
    assert b'data-testid="rating-form"' in client.get(url).content
    assert client.post(url, {"form": "rating", "rating": "4", "comment": "fine"}).status_code == 302
    assert client.post(url, {"form": "rating", "rating": "1"}).status_code == 400
    complaint.refresh_from_db()
    assert complaint.rating == 4
    assert b'data-testid="rating-form"' not in client.get(url).content


def test_rejection_reason_is_shown_to_the_customer(client, make, quality_manager):
    complaint = make()
    services.complaint_transition(
        complaint_id=complaint.pk, to=Status.REJECTED, actor=quality_manager, reason="Outside warranty"
    )
    assert "Outside warranty" in client.get(f"/complaints/track/{complaint.tracking_token}/").content.decode()


# --- attachments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    # An auditor sees the complaint but not the personal data its attachments carry (#22 §8).
    [("quality_manager", 200), ("staff", 200), ("auditor", 403), ("other_staff", 404), ("anonymous", 302)],
)
def test_attachments_are_served_only_to_authorised_staff(clients, make, staff, persona, expected):
    upload = SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")
    upload.sniffed_type = "text/plain"
    complaint = make(assignee=staff, attachments=[upload])
    attachment = complaint.attachments.get()
    response = clients[persona].get(f"/complaints/{complaint.pk}/attachments/{attachment.pk}/")
    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Disposition"].startswith("attachment")
        assert b"".join(response.streaming_content) == b"hello"
        response.close()


def test_categories_are_managed_by_quality_managers_only(clients):
    assert (
        clients["quality_manager"].post("/complaints/categories/", {"name": "Late", "is_active": "on"}).status_code
        == 302
    )
    assert clients["staff"].get("/complaints/categories/").status_code == 403
    assert clients["auditor"].get("/complaints/categories/").status_code == 403


def test_query_count_does_not_grow_with_rows(clients, make, staff):
    for _ in range(3):
        make(assignee=staff)
    with CaptureQueriesContext(connection) as few:
        clients["quality_manager"].get("/complaints/")
    for _ in range(10):
        make(assignee=staff)
    with CaptureQueriesContext(connection) as many:
        clients["quality_manager"].get("/complaints/")
    assert len(many) == len(few)


@pytest.mark.parametrize(("persona", "shown"), [("quality_manager", 2), ("auditor", 2), ("staff", 1)])
def test_customer_page_panel_lists_only_visible_complaints(clients, make, staff, persona, shown):
    from tests.customers.factories import CustomerFactory

    customer = CustomerFactory()
    mine, other = make(assignee=staff, customer=customer), make(customer=customer)
    body = clients[persona].get(f"/customers/{customer.pk}/").content.decode()
    assert mine.reference in body
    assert (other.reference in body) is (shown == 2)


def test_raise_corrective_action_links_it_to_the_complaint(clients, make, quality_manager):
    from apps.actions.selectors import for_source
    from apps.actions.sources import effectiveness_for

    complaint = make()
    response = clients["quality_manager"].post(
        f"/complaints/{complaint.pk}/raise-action/",
        {"title": "Better packaging", "nonconformity": "Pumps crack in transit"},
    )
    assert response.status_code == 302
    action = for_source(complaint).get()
    page = clients["quality_manager"].get(f"/complaints/{complaint.pk}/").content.decode()
    assert "Better packaging" in page
    figures = effectiveness_for(action)
    assert figures is not None
    assert figures["before"] >= 1


@pytest.mark.parametrize(("persona", "expected"), [("auditor", 403), ("other_staff", 404)])
def test_raise_corrective_action_denied(clients, complaint, persona, expected):
    response = clients[persona].post(f"/complaints/{complaint.pk}/raise-action/", {"title": "X", "nonconformity": "Y"})
    assert response.status_code == expected
