"""The acknowledgement e-mail through a real Celery worker: sent once even when a try fails."""

import time
from unittest import mock

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from apps.core.models import OutboundEmail
from qms_portal.celery import app
from tests.complaints.factories import make_complaint

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as running:
        yield running


def test_acknowledgement_is_sent_once_even_when_the_first_attempt_fails(worker, settings):
    from django.core.mail.backends.locmem import EmailBackend

    real_send = EmailBackend.send_messages
    calls = {"n": 0}

    def flaky(self, messages):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("SMTP connection dropped")
        return real_send(self, messages)

    from apps.core.tasks import send_email_task

    # Retry at once instead of after the production backoff (30 s and more).
    with (
        mock.patch.object(EmailBackend, "send_messages", flaky),
        mock.patch("celery.app.autoretry.get_exponential_backoff_interval", return_value=0),
    ):
        with transaction.atomic():
            complaint = make_complaint()
        email = OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}")
        for _ in range(400):
            email.refresh_from_db()
            if email.status == OutboundEmail.Status.SENT:
                break
            time.sleep(0.05)
    assert email.status == OutboundEmail.Status.SENT
    # A duplicate delivery of the task (a lost ack, a sweeper) finds the row sent and sends nothing.
    send_email_task.delay(email.pk).get(timeout=20)
    assert calls["n"] == 2
    assert [m.to for m in mail.outbox] == [["clara@example.org"]]
    assert OutboundEmail.objects.filter(idempotency_key__startswith="complaint-ack:").count() == 1
