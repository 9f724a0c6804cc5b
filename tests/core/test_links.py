"""Every absolute link the portal hands out starts with SITE_URL, whatever Host header the
request that caused it carried (#22 §9: `Host: localhost:8100` gave a reset link to localhost)."""

import re

import pytest
from django.test import Client

from apps.core.links import absolute_url
from apps.core.models import OutboundEmail
from apps.feedback.models import Feedback
from tests.accounts.resets import ResetQueue
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import FeedbackFactory

pytestmark = pytest.mark.django_db
SITE = "https://qms.example.com"
FORGED = "localhost:8100"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE


def _links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text)


def test_absolute_url_puts_a_path_on_site_url(settings):
    settings.SITE_URL = "http://127.0.0.1:8100/"
    assert absolute_url("/complaints/track/x/") == "http://127.0.0.1:8100/complaints/track/x/"
    with pytest.raises(ValueError, match="path"):
        absolute_url("complaints/")


def test_a_reset_requested_with_a_forged_host_links_to_site_url(staff, monkeypatch, django_capture_on_commit_callbacks):
    reset_queue = ResetQueue(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        Client(HTTP_HOST=FORGED).post("/accounts/password/reset/", {"email": "staff1@example.com"})
    reset_queue.run()
    (links,) = [_links(email.body) for email in OutboundEmail.objects.all()]
    assert len(links) == 1
    assert links[0].startswith(f"{SITE}/accounts/password/reset/")


def test_an_invitation_created_through_a_forged_host_links_to_site_url(clients):
    clients["quality_manager"].post(
        "/accounts/users/new/",
        {"email": "new.person@example.com", "full_name": "New Person", "role": "staff"},
        HTTP_HOST=FORGED,
    )
    (invitation,) = OutboundEmail.objects.all()
    (link,) = _links(invitation.body)
    assert link.startswith(f"{SITE}/accounts/password/reset/")


def test_a_public_complaint_sent_through_a_forged_host_gets_its_tracking_link_on_site_url():
    response = Client(HTTP_HOST=FORGED).post(
        "/complaints/new/",
        {
            "complainant_name": "Clara Customer",
            "complainant_email": "clara@example.org",
            "description": "The delivery arrived broken.",
            "website": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    (acknowledgement,) = OutboundEmail.objects.all()
    tracking = [link for link in _links(acknowledgement.body) if "/complaints/track/" in link]
    assert tracking
    assert all(link.startswith(f"{SITE}/complaints/track/") for link in tracking)


@pytest.mark.parametrize("where", ["page", "api"])
def test_feedback_converted_through_a_forged_host_links_the_complaint_on_site_url(
    clients, api_clients, quality_manager, where
):
    feedback = FeedbackFactory(actor=quality_manager, submitter_email="fiona@example.org")
    if where == "page":
        clients["quality_manager"].post(f"/feedback/{feedback.pk}/convert/", HTTP_HOST=FORGED)
    else:
        api_clients["quality_manager"].post(f"/api/v1/feedback/{feedback.pk}/convert/", HTTP_HOST=FORGED)
    assert Feedback.objects.get(pk=feedback.pk).complaint_id is not None
    tracking = [link for email in OutboundEmail.objects.all() for link in _links(email.body) if "/track/" in link]
    assert tracking
    assert all(link.startswith(f"{SITE}/complaints/track/") for link in tracking)


def test_api_page_links_are_on_site_url(api_clients):
    CustomerFactory.create_batch(3)
    body = api_clients["auditor"].get("/api/v1/customers/", {"page_size": 1}, HTTP_HOST=FORGED).json()
    assert body["next"].startswith(f"{SITE}/api/v1/customers/?")
