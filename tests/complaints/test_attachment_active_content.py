"""PDFs that run something when opened (JavaScript, automatic or launch actions) are refused wherever
attachments come in: the public complaint form, the staff record page, the tracking page."""

import io
import zlib

import pypdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.complaints.models import Complaint, ComplaintAttachment
from apps.core.pdf_scan import scan_pdf
from tests.complaints import pdfs

pytestmark = pytest.mark.django_db
Status = Complaint.Status

ACTIVE = {
    "open action with JavaScript": pdfs.open_action_javascript,
    "document JavaScript in the names tree": pdfs.names_javascript,
    "page additional actions": pdfs.page_additional_actions,
    "launch action": pdfs.launch_action,
    "hex-escaped names": pdfs.hex_escaped_javascript,
    "JavaScript inside a compressed object stream": pdfs.object_stream_javascript,
}


def _public_form(**extra):
    return {
        "complainant_name": "Clara Customer",
        "complainant_email": "clara@example.org",
        "description": "The pump leaks.",
        "website": "",
        **extra,
    }


def _upload(data: bytes, name: str = "report.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def test_the_samples_are_pdfs_a_reader_opens_and_hide_their_names_from_a_plain_search():
    # Otherwise a refusal below could come from a broken file rather than from its scripts.
    for make in [pdfs.clean_pdf, *ACTIVE.values()]:
        reader = pypdf.PdfReader(io.BytesIO(make()), strict=True)
        assert "pump leaks" in reader.pages[0].extract_text()
    assert b"/JavaScript" not in pdfs.hex_escaped_javascript()
    assert b"JavaScript" not in pdfs.object_stream_javascript()
    hidden = pypdf.PdfReader(io.BytesIO(pdfs.object_stream_javascript()), strict=True)
    assert hidden.trailer["/Root"]["/OpenAction"]["/JS"] == "app.alert(1)"


@pytest.mark.parametrize("variant", list(ACTIVE))
def test_the_public_form_refuses_a_pdf_with_active_content(client, variant):
    response = client.post("/complaints/new/", _public_form(attachments=[_upload(ACTIVE[variant]())]))
    assert response.status_code == 200
    assert "report.pdf contains content that runs when it is opened" in response.content.decode()
    assert not Complaint.objects.exists()


def test_the_public_form_accepts_a_clean_pdf(client):
    response = client.post("/complaints/new/", _public_form(attachments=[_upload(pdfs.clean_pdf())]))
    assert response.status_code == 302
    assert ComplaintAttachment.objects.get().content_type == "application/pdf"


@pytest.mark.parametrize(("sample", "accepted"), [(pdfs.clean_pdf, True), (pdfs.hex_escaped_javascript, False)])
def test_the_staff_record_page_checks_pdfs_too(clients, sample, accepted):
    form = {
        "channel": "phone",
        "complainant_name": "Dana Caller",
        "complainant_email": "dana@example.com",
        "description": "The pallet arrived crushed.",
        "attachments": [_upload(sample())],
    }
    response = clients["quality_manager"].post("/complaints/record/", form)
    assert response.status_code == (302 if accepted else 200)
    assert Complaint.objects.exists() is accepted
    if not accepted:
        assert "report.pdf contains content that runs when it is opened" in response.content.decode()


@pytest.mark.parametrize(("sample", "accepted"), [(pdfs.clean_pdf, True), (pdfs.object_stream_javascript, False)])
def test_the_tracking_page_checks_pdfs_sent_with_more_information(client, make, sample, accepted):
    complaint = make(status=Status.AWAITING_CUSTOMER)
    response = client.post(
        f"/complaints/track/{complaint.tracking_token}/",
        {"form": "info", "body": "Here is the report", "attachments": [_upload(sample())]},
    )
    assert response.status_code == (302 if accepted else 400)  # the page answers 400 to any invalid form
    assert complaint.attachments.exists() is accepted
    if not accepted:
        assert "report.pdf contains content that runs when it is opened" in response.content.decode()


@pytest.mark.parametrize(
    ("filter_name", "extra"),
    [
        (b"/LZWDecode", b""),
        (b"9 0 R", b""),
        (b"/FlateDecode", b" /DecodeParms << /Predictor 12 /Columns 4 >>"),
    ],
    ids=["LZW", "indirect filter", "PNG predictor"],
)
def test_a_pdf_whose_object_stream_cannot_be_read_is_refused_as_uncheckable(client, filter_name, extra):
    # Such an object stream could hold anything; a reader decodes it, this check cannot.
    sample = pdfs.object_stream_javascript(filter_name=filter_name, extra=extra)
    response = client.post("/complaints/new/", _public_form(attachments=[_upload(sample)]))
    assert response.status_code == 200
    assert "report.pdf cannot be checked for content that runs when it is opened" in response.content.decode()
    assert not Complaint.objects.exists()


def test_the_scan_stops_inflating_at_its_budget():
    bomb = zlib.compress(b"\x00" * (4 * 1024 * 1024))
    data = b"%%PDF-1.4\n1 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb) + bomb
    data += b"\nendstream\nendobj\n"
    assert scan_pdf(data * 3, budget=1024 * 1024).active == set()
    tail = b"2 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>\nstream\n"
    over_budget = data + tail + zlib.compress(b"6 0 " + b"\x00" * (2 * 1024 * 1024)) + b"\nendstream\n"
    assert scan_pdf(over_budget, budget=1024 * 1024).uncheckable
