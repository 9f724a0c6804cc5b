import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.core import services
from apps.core.models import OutboundEmail


def _enqueue(**kwargs) -> OutboundEmail:
    defaults = {
        "to": "customer@example.com",
        "subject": "Hello",
        "template": "emails/account_invitation.txt",
        "context": {"full_name": "Kim", "link": "https://qms.example.com/x"},
    }
    return services.email_enqueue(**{**defaults, **kwargs})


@pytest.mark.django_db
def test_task_is_enqueued_only_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("apps.core.tasks.send_email_task.delay", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = _enqueue()
    assert sent == []
    for callback in callbacks:
        callback()
    assert sent == [email.pk]


@pytest.mark.django_db
def test_same_idempotency_key_queues_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = _enqueue(idempotency_key="ack:1")
        second = _enqueue(idempotency_key="ack:1")
    assert first.pk == second.pk
    assert OutboundEmail.objects.count() == 1
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_send_delivers_once_even_if_called_twice():
    email = _enqueue()
    assert services.email_send(email_id=email.pk) is True
    assert services.email_send(email_id=email.pk) is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["customer@example.com"]
    assert "Kim" in message.body
    assert message.extra_headers["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.SENT, 1)
    assert email.sent_at is not None


@pytest.mark.django_db
def test_failed_delivery_is_released_for_retry_then_marked_failed(settings, monkeypatch):
    settings.OUTBOX_MAX_ATTEMPTS = 2

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    email = _enqueue()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        services.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.QUEUED, 1)
    assert "connection lost" in email.last_error
    with pytest.raises(smtplib.SMTPServerDisconnected):
        services.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.FAILED, 2)
    assert services.email_send(email_id=email.pk) is False


@pytest.mark.django_db
def test_sweeper_finds_lost_and_abandoned_rows_only():
    now = timezone.now()
    fresh = _enqueue(to="a@example.com")
    lost = _enqueue(to="b@example.com")
    abandoned = _enqueue(to="c@example.com")
    sending_now = _enqueue(to="d@example.com")
    done = _enqueue(to="e@example.com")
    old = now - timedelta(hours=1)
    OutboundEmail.objects.filter(pk=lost.pk).update(updated_at=old)
    OutboundEmail.objects.filter(pk=abandoned.pk).update(status="sending", claimed_at=old, updated_at=old)
    OutboundEmail.objects.filter(pk=sending_now.pk).update(status="sending", claimed_at=now, updated_at=old)
    OutboundEmail.objects.filter(pk=done.pk).update(status="sent", updated_at=old)
    assert services.outbox_sweep() == [lost.pk, abandoned.pk]
    assert fresh.pk not in services.outbox_sweep()


@pytest.mark.django_db
def test_abandoned_row_can_be_claimed_again_but_a_live_claim_cannot():
    email = _enqueue()
    assert services.email_claim(email_id=email.pk) is True
    assert services.email_claim(email_id=email.pk) is False
    OutboundEmail.objects.filter(pk=email.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert services.email_claim(email_id=email.pk) is True


@pytest.mark.django_db
def test_purge_deletes_only_sent_mail_past_retention(settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    kept = _enqueue(to="a@example.com")
    expired = _enqueue(to="b@example.com")
    unsent = _enqueue(to="c@example.com")
    long_ago = timezone.now() - timedelta(days=31)
    OutboundEmail.objects.filter(pk=kept.pk).update(status="sent", sent_at=timezone.now())
    OutboundEmail.objects.filter(pk=expired.pk).update(status="sent", sent_at=long_ago)
    OutboundEmail.objects.filter(pk=unsent.pk).update(created_at=long_ago)
    assert services.outbox_purge() == 1
    assert set(OutboundEmail.objects.values_list("pk", flat=True)) == {kept.pk, unsent.pk}


def test_every_system_task_is_scheduled_with_an_expiry(settings):
    from qms_portal.celery import app

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, name
        assert entry["options"]["expires"] > 0, name
    assert {"core.canary", "core.sweep_outbox", "core.purge_outbox"} <= {e["task"] for e in schedule.values()}


def test_task_time_limits_stay_below_the_visibility_timeout(settings):
    assert settings.CELERY_TASK_TIME_LIMIT < settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


@pytest.mark.django_db
def test_html_alternative_is_sent_with_the_text_body_and_both_escape_correctly():
    email = services.email_enqueue(
        to="a@example.com",
        subject="Hi",
        template="emails/notification.txt",
        html_template="emails/notification.html",
        context={
            "greeting": "Hello <Kim>",
            "paragraphs": ["Your complaint was received."],
            "link": "https://q.example/t/x",
        },
    )
    services.email_send(email_id=email.pk)
    message = mail.outbox[0]
    assert message.body.startswith("Hello <Kim>\n\nYour complaint was received.")
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "<p>Hello &lt;Kim&gt;</p>" in html
    assert 'href="https://q.example/t/x"' in html
