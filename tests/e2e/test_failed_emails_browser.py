"""A quality manager finds an e-mail the outbox gave up on, sees why, resends it, and a real
worker delivers it to a real SMTP server on loopback (#23)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import Page, expect

from apps.core import services
from apps.core.models import OutboundEmail
from qms_portal.celery import app
from tests.complaints.factories import make_complaint
from tests.soak.smtp_sink import SmtpSink
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ADDRESS = "clementine.q@example.org"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.stop()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_quality_manager_resends_a_failed_email_and_the_worker_delivers_it(
    page: Page, sign_in: Callable[..., None], quality_manager: Any, settings: Any, sink: SmtpSink
) -> None:
    # The mail server is down for the only attempt the outbox is allowed.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _closed_port()
    settings.EMAIL_TIMEOUT = 5
    settings.OUTBOX_MAX_ATTEMPTS = 1
    complaint = make_complaint(complainant_email=ADDRESS)
    email = OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}")
    with pytest.raises(ConnectionRefusedError):
        services.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED

    # The mail server is back.
    settings.EMAIL_PORT = sink.port
    sign_in(page, quality_manager.email)
    expect(page.get_by_test_id("failed-emails-count")).to_contain_text("1 e-mail could not be delivered")
    with page.expect_navigation():
        page.get_by_test_id("main-nav").get_by_role("link", name="Failed e-mails", exact=True).click()
    row = page.get_by_test_id("failed-email")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("failed-email-reason")).to_contain_text("ConnectionRefusedError")
    expect(row).to_contain_text(ADDRESS)
    expect(row.get_by_role("link", name=complaint.reference)).to_have_attribute("href", complaint.get_absolute_url())

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with page.expect_navigation():
            row.get_by_role("button", name="Resend").click()
        expect(page.get_by_role("status")).to_contain_text("1 e-mail queued again.")
        assert wait_for(lambda: sink.messages[email.message_id] == 1, timeout=60), sink.messages
        assert wait_for(lambda: OutboundEmail.objects.filter(pk=email.pk, status="sent").exists(), timeout=30)

    page.reload()
    expect(page.get_by_test_id("failed-email")).to_have_count(0)
    expect(page.get_by_text("No failed e-mails.")).to_be_visible()
    assert sink.messages[email.message_id] == 1  # once, under the Message-ID it always had
