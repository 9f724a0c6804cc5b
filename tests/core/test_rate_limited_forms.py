"""The public forms when their rate limit answers (#24): the visitor's text comes back in the
form with a message in their language, nothing is recorded, and only accepted submissions
count towards the limit (a form refused for a missing field does not)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory

from apps.complaints.models import Complaint, ComplaintMessage
from apps.core.public import rate_limit_claim
from apps.feedback.models import Feedback
from apps.surveys.models import Response, token_hash
from tests.complaints.factories import make_complaint
from tests.core.test_public import own_redis  # noqa: F401 (a fixture)
from tests.surveys.test_public_views import form_data
from tests.surveys.test_responses import make_invitation, make_wave

pytestmark = pytest.mark.django_db

COMPLAINT = {
    "complainant_name": "Clara Kundin",
    "complainant_email": "clara@example.org",
    "description": "The pump leaks at the flange after two days of use.",
    "desired_outcome": "A replacement pump",
    "website": "",
}
FEEDBACK = {"text": "The delivery was quick and the driver friendly.", "rating": "5", "website": ""}
LIMITED_EN = "You have sent several submissions in a short time."
LIMITED_DE = "Sie haben in kurzer Zeit mehrere Eingaben gesendet."
FILES_EN = "Attachments cannot be kept"


@pytest.fixture
def limit_one(settings):
    settings.COMPLAINT_PUBLIC_RATE_LIMIT = 1
    settings.FEEDBACK_PUBLIC_RATE_LIMIT = 1


def _pdf(name="photo.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")


def _same_address():
    return RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")  # the test client's address


# Counting ------------------------------------------------------------------------------------


def _claims(scope: str, times: int) -> list[bool]:
    return [rate_limit_claim(_same_address(), scope=scope, limit=2, window_seconds=60) for _ in range(times)]


def _released_claims_give_their_count_back(scope: str) -> None:
    first, second = _claims(scope, 2)
    assert not first.exceeded
    assert not second.exceeded
    second.release()
    (third,) = _claims(scope, 1)
    assert not third.exceeded
    (fourth,) = _claims(scope, 1)
    assert fourth.exceeded


def test_a_released_claim_gives_its_count_back():
    _released_claims_give_their_count_back("release")


def test_a_released_claim_gives_its_count_back_while_redis_is_down(own_redis):  # noqa: F811
    own_redis.stop()
    _released_claims_give_their_count_back("release-down")


def test_releasing_twice_gives_back_once():
    _first, second = _claims("twice", 2)
    second.release()
    second.release()
    assert not _claims("twice", 1)[0].exceeded
    assert _claims("twice", 1)[0].exceeded


# The complaint form ------------------------------------------------------------------------


@pytest.mark.usefixtures("limit_one")
def test_rate_limited_complaint_form_comes_back_with_the_text_typed():
    client = Client()
    assert client.post("/complaints/new/", COMPLAINT).status_code == 302
    second = {**COMPLAINT, "description": "A second pump leaks too, at the same flange."}

    response = client.post("/complaints/new/", second)

    body = response.content.decode()
    assert response.status_code == 429
    assert 'data-testid="complaint-form"' in body
    assert LIMITED_EN in body
    assert "A second pump leaks too, at the same flange." in body
    assert 'value="Clara Kundin"' in body
    assert 'value="clara@example.org"' in body
    assert FILES_EN not in body  # nothing was attached
    assert Complaint.objects.count() == 1


@pytest.mark.usefixtures("limit_one")
def test_rate_limit_message_is_in_the_visitors_language_and_tells_to_attach_files_again():
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    assert client.post("/complaints/new/", COMPLAINT).status_code == 302

    response = client.post("/complaints/new/", {**COMPLAINT, "attachments": [_pdf()]})

    body = response.content.decode()
    assert response.status_code == 429
    assert LIMITED_DE in body
    assert "Anhänge können nicht aufbewahrt werden" in body
    assert COMPLAINT["description"] in body


@pytest.mark.usefixtures("limit_one")
def test_complaint_refused_for_a_missing_field_does_not_count_towards_the_limit():
    client = Client()
    for _ in range(3):
        refused = client.post("/complaints/new/", {**COMPLAINT, "description": ""})
        assert refused.status_code == 200
        assert LIMITED_EN not in refused.content.decode()

    assert client.post("/complaints/new/", COMPLAINT).status_code == 302
    assert client.post("/complaints/new/", COMPLAINT | {"description": "Another one"}).status_code == 429
    assert Complaint.objects.count() == 1


@pytest.mark.usefixtures("limit_one")
def test_a_bot_filling_the_honeypot_still_counts():
    client = Client()
    assert client.post("/complaints/new/", {**COMPLAINT, "website": "http://spam"}).status_code == 200
    assert client.post("/complaints/new/", COMPLAINT).status_code == 429
    assert not Complaint.objects.exists()


# The feedback form -------------------------------------------------------------------------


@pytest.mark.usefixtures("limit_one")
def test_rate_limited_feedback_form_comes_back_with_the_text_typed():
    client = Client()
    assert client.post("/feedback/", FEEDBACK).status_code == 302

    response = client.post("/feedback/", {**FEEDBACK, "text": "And the invoice was correct."})

    body = response.content.decode()
    assert response.status_code == 429
    assert LIMITED_EN in body
    assert "And the invoice was correct." in body
    assert Feedback.objects.count() == 1


@pytest.mark.usefixtures("limit_one")
def test_feedback_refused_for_a_missing_field_does_not_count_towards_the_limit():
    client = Client()
    assert client.post("/feedback/", {**FEEDBACK, "text": ""}).status_code == 200
    assert client.post("/feedback/", FEEDBACK).status_code == 302
    assert Feedback.objects.count() == 1


# The tracking page -------------------------------------------------------------------------


@pytest.mark.usefixtures("limit_one")
def test_rate_limited_tracking_page_keeps_the_information_typed():
    complaint = make_complaint()
    path = f"/complaints/track/{complaint.tracking_token}/"
    client = Client()
    assert client.post(path, {"form": "info", "body": "The serial number is 4711."}).status_code == 302

    response = client.post(path, {"form": "info", "body": "The invoice number is 0815."})

    body = response.content.decode()
    assert response.status_code == 429
    assert LIMITED_EN in body
    assert "The invoice number is 0815." in body
    assert ComplaintMessage.objects.filter(complaint=complaint, author_kind="customer").count() == 1


@pytest.mark.usefixtures("limit_one")
def test_tracking_page_refused_for_an_empty_message_does_not_count():
    complaint = make_complaint()
    path = f"/complaints/track/{complaint.tracking_token}/"
    client = Client()
    assert client.post(path, {"form": "info", "body": ""}).status_code == 400
    assert client.post(path, {"form": "info", "body": "The serial number is 4711."}).status_code == 302


# The survey answer page ----------------------------------------------------------------------


def test_rate_limited_survey_answers_come_back_as_given(monkeypatch):
    from apps.surveys import public_views

    monkeypatch.setattr(public_views, "RATE_LIMIT", (1, 600))
    invitation = make_invitation(make_wave())
    path = f"/s/{invitation.token}/"
    client = Client()
    incomplete = form_data(invitation, nps="9", text="Keep the friendly drivers")
    assert client.post(path, incomplete).status_code == 400  # a required answer missing: not counted
    assert client.post(path, incomplete).status_code == 400

    # The one accepted answer of this link from this address was used up meanwhile (a colleague).
    rate_limit_claim(
        _same_address(), scope=f"survey-answer:{token_hash(invitation.token)}", limit=1, window_seconds=600
    )
    response = client.post(path, form_data(invitation, nps="9", csat="4", ces="6", text="Keep the friendly drivers"))

    body = response.content.decode()
    assert response.status_code == 429
    assert LIMITED_EN in body
    assert "Keep the friendly drivers" in body
    assert 'value="9" autocomplete="off" checked' in body
    assert not Response.objects.exists()
