"""E-mails the outbox gave up on (#23): kept sealed for a while, listed for quality managers
with the reason, and resent (or dismissed) by them with an audit entry.

Deliveries fail the real way: the SMTP backend talks to a loopback port nothing listens on.
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.complaints import services as complaints
from apps.core import services
from apps.core.exceptions import BusinessRuleViolation
from apps.core.models import OutboundEmail
from tests.complaints.factories import make_complaint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/outbox/failed/"
ADDRESS = "clementine.q@example.org"
NAME = "Clementine Quasimodo"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unreachable_smtp(settings):
    """Every delivery attempt is refused by the (absent) mail server, and the first one is the last."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _closed_port()
    settings.EMAIL_TIMEOUT = 5
    settings.OUTBOX_MAX_ATTEMPTS = 1
    return settings


def _give_up(email: OutboundEmail) -> OutboundEmail:
    with pytest.raises(ConnectionRefusedError):
        services.email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    return email


@pytest.fixture
def failed_ack(unreachable_smtp, quality_manager) -> OutboundEmail:
    """The acknowledgement of a complaint, which the mail server never took."""
    complaint = make_complaint(complainant_name=NAME, complainant_email=ADDRESS)
    return _give_up(OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}"))


def _failed_invitation(to: str = "kim@example.com") -> OutboundEmail:
    email = services.email_enqueue(
        to=to,
        subject="Your QMS Portal account",
        template="emails/account_invitation.txt",
        context={"full_name": "Kim", "link": "https://qms.example.com/set/1"},
    )
    return _give_up(email)


def _deliver(settings, email: OutboundEmail) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.email_send(email_id=email.pk) is True


# --- keeping the content of a failed e-mail -----------------------------------------------------


def test_a_failed_email_keeps_its_content_sealed_with_the_persons_key(failed_ack):
    assert failed_ack.to == ADDRESS
    assert failed_ack.data_key == ""  # sealed with the complaint's key, not one of its own
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM core_outboundemail t WHERE id = %s", [failed_ack.pk])
        (row,) = cursor.fetchone()
    assert ADDRESS not in row
    assert NAME not in row
    assert "ConnectionRefusedError" in failed_ack.last_error


def test_erasing_the_person_drops_a_failed_emails_content_and_it_cannot_be_resent(failed_ack, quality_manager):
    complaints.complaint_erase_personal_data(
        complaint_id=failed_ack.concerns_id, actor=quality_manager, reason="Asked by her"
    )
    failed_ack.refresh_from_db()
    assert (failed_ack.to_ct, failed_ack.body_ct, failed_ack.status) == ("", "", OutboundEmail.Status.FAILED)
    with pytest.raises(BusinessRuleViolation):
        services.email_resend(email_ids=[failed_ack.pk], actor=quality_manager)
    failed_ack.refresh_from_db()
    assert failed_ack.status == OutboundEmail.Status.FAILED


def test_failed_content_is_dropped_after_the_keeping_period(unreachable_smtp, quality_manager):
    unreachable_smtp.OUTBOX_FAILED_KEEP_DAYS = 14
    old = _failed_invitation("old@example.com")
    recent = _failed_invitation("recent@example.com")
    OutboundEmail.objects.filter(pk=old.pk).update(claimed_at=timezone.now() - timedelta(days=15))
    services.outbox_purge()
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, old.to_ct, old.data_key) == (OutboundEmail.Status.FAILED, "", "")
    assert old.erased_at is not None
    assert recent.to == "recent@example.com"


# --- resending and dismissing ------------------------------------------------------------------


def test_resend_queues_again_audits_who_did_it_and_delivers_with_the_same_message_id(
    failed_ack, quality_manager, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        result = services.email_resend(email_ids=[failed_ack.pk], actor=quality_manager)
    assert [email.pk for email in result.resent] == [failed_ack.pk]
    assert len(callbacks) == 1  # the send task, after commit
    failed_ack.refresh_from_db()
    assert (failed_ack.status, failed_ack.attempts) == (OutboundEmail.Status.QUEUED, 0)
    entry = AuditEntry.objects.for_object(failed_ack).get()
    assert (entry.actor_id, entry.action) == (quality_manager.pk, AuditEntry.Action.TRANSITION)
    assert entry.changes["status"] == ["failed", "queued"]
    assert ADDRESS not in str(entry.changes) + entry.reason

    _deliver(settings, failed_ack)
    (message,) = mail.outbox
    assert message.to == [ADDRESS]
    assert message.extra_headers["Message-ID"] == failed_ack.message_id
    failed_ack.refresh_from_db()
    assert (failed_ack.status, failed_ack.to_ct) == (OutboundEmail.Status.SENT, "")


def test_a_double_click_resends_once(failed_ack, quality_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.email_resend(email_ids=[failed_ack.pk], actor=quality_manager)
        again = services.email_resend(email_ids=[failed_ack.pk], actor=quality_manager)
    assert (again.resent, again.refused) == ([], [])
    assert len(callbacks) == 1
    assert AuditEntry.objects.for_object(failed_ack).count() == 1


def test_dismiss_drops_the_content_and_leaves_the_failed_list(failed_ack, quality_manager):
    services.email_dismiss(email_ids=[failed_ack.pk], actor=quality_manager)
    failed_ack.refresh_from_db()
    assert (failed_ack.status, failed_ack.to_ct, failed_ack.data_key) == (OutboundEmail.Status.CANCELLED, "", "")
    entry = AuditEntry.objects.for_object(failed_ack).get()
    assert entry.changes["status"] == ["failed", "cancelled"]
    assert OutboundEmail.objects.failed().count() == 0


# --- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 302)],
)
def test_failed_emails_page_by_role(clients, failed_ack, persona, expected):
    assert clients[persona].get(URL).status_code == expected


def test_the_page_shows_when_what_about_which_record_attempts_reason_and_recipient(clients, failed_ack):
    response = clients["quality_manager"].get(URL)
    html = response.content.decode()
    complaint = failed_ack.concerns
    assert "complaint-ack" in html
    assert f'href="{complaint.get_absolute_url()}"' in html
    assert complaint.reference in html
    assert "ConnectionRefusedError" in html
    assert ADDRESS in html
    row = response.context["rows"][0]
    assert (row.email.pk, row.email.attempts, row.resendable) == (failed_ack.pk, 1, True)


def test_the_recipient_is_masked_without_the_personal_data_permission(failed_ack):
    viewer = UserFactory(email="ops@example.com")
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboundemail"))
    client = Client()
    client.force_login(viewer)
    html = client.get(URL).content.decode()
    assert "ConnectionRefusedError" in html
    assert ADDRESS not in html
    assert "[personal data]" in html


def test_the_page_filters_by_kind(clients, failed_ack):
    invitation = _failed_invitation()
    client = clients["quality_manager"]
    assert {r.email.pk for r in client.get(URL).context["rows"]} == {failed_ack.pk, invitation.pk}
    shown = client.get(URL, {"kind": "complaint-ack"}).context["rows"]
    assert [r.email.pk for r in shown] == [failed_ack.pk]
    shown = client.get(URL, {"kind": "emails/account_invitation.txt"}).context["rows"]
    assert [r.email.pk for r in shown] == [invitation.pk]


def test_the_page_lists_only_failed_emails_in_pages(clients, failed_ack, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_complaint(complainant_email="sent@example.org")  # queued, not failed
    rows = clients["quality_manager"].get(URL).context["rows"]
    assert [r.email.pk for r in rows] == [failed_ack.pk]


def test_query_count_does_not_grow_with_the_rows(clients, unreachable_smtp, django_assert_max_num_queries):
    client = clients["quality_manager"]

    def build(count: int) -> None:
        for _ in range(count):
            complaint = make_complaint(complainant_email=ADDRESS)
            _give_up(OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}"))
            _failed_invitation()

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    build(1)
    client.get(URL)  # warm the per-process caches (content types, permissions)
    small = count_queries()
    build(4)
    assert count_queries() == small
    # Session, user, the user's and the groups' permissions, the kinds for the filter, the page of
    # rows, the records they concern (one query per record type), the role shown in the header.
    with django_assert_max_num_queries(8):
        client.get(URL)


def test_the_page_comes_in_pages(clients, unreachable_smtp, monkeypatch):
    from apps.core.outbox_views import FailedEmailListView

    monkeypatch.setattr(FailedEmailListView, "paginate_by", 2)
    newest_first = [_failed_invitation(f"{n}@example.com").pk for n in range(3)][::-1]
    client = clients["quality_manager"]
    first = client.get(URL, {"kind": "emails/account_invitation.txt"}).context
    assert [row.email.pk for row in first["rows"]] == newest_first[:2]
    next_url = first["page_obj"].next_url
    second = client.get(URL + next_url if next_url.startswith("?") else next_url).context
    assert [row.email.pk for row in second["rows"]] == newest_first[2:]
    assert second["filter"].form.cleaned_data["kind"] == "emails/account_invitation.txt"  # the filter stays


def test_a_selection_resends_what_it_can_and_says_what_it_could_not(
    clients, failed_ack, quality_manager, django_capture_on_commit_callbacks
):
    invitation = _failed_invitation()
    complaints.complaint_erase_personal_data(complaint_id=failed_ack.concerns_id, actor=quality_manager, reason="x")
    with django_capture_on_commit_callbacks() as callbacks:
        response = clients["quality_manager"].post(
            f"{URL}resend/", {"email": [failed_ack.pk, invitation.pk]}, follow=True
        )
    html = response.content.decode()
    assert "1 e-mail queued again." in html
    assert "1 e-mail cannot be resent: its content is no longer kept." in html
    assert len(callbacks) == 1
    statuses = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert (statuses[failed_ack.pk], statuses[invitation.pk]) == ("failed", "queued")


@pytest.mark.parametrize(("persona", "expected"), [("staff", 403), ("auditor", 403), ("anonymous", 302)])
@pytest.mark.parametrize("action", ["resend", "dismiss"])
def test_only_quality_managers_resend_or_dismiss(clients, failed_ack, persona, expected, action):
    response = clients[persona].post(f"{URL}{action}/", {"email": [failed_ack.pk]})
    assert response.status_code == expected
    failed_ack.refresh_from_db()
    assert failed_ack.status == OutboundEmail.Status.FAILED
    assert not AuditEntry.objects.for_object(failed_ack).exists()


def test_resend_from_the_page_without_a_csrf_token_is_refused(quality_manager, failed_ack):
    client = Client(enforce_csrf_checks=True)
    client.force_login(quality_manager)
    assert client.post(f"{URL}resend/", {"email": [failed_ack.pk]}).status_code == 403
    failed_ack.refresh_from_db()
    assert failed_ack.status == OutboundEmail.Status.FAILED


def test_resend_one_and_a_selection_from_the_page(clients, failed_ack, django_capture_on_commit_callbacks):
    first, second = _failed_invitation("a@example.com"), _failed_invitation("b@example.com")
    client = clients["quality_manager"]
    with django_capture_on_commit_callbacks():
        response = client.post(f"{URL}resend/", {"only": failed_ack.pk, "email": [first.pk]}, follow=True)
    assert response.redirect_chain[-1][0] == URL
    assert "1 e-mail queued again" in response.content.decode()
    statuses = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert statuses[failed_ack.pk] == "queued"
    assert statuses[first.pk] == "failed"  # a row's own button sends only that row
    with django_capture_on_commit_callbacks():
        client.post(f"{URL}resend/", {"email": [first.pk, second.pk]})
    statuses = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert (statuses[first.pk], statuses[second.pk]) == ("queued", "queued")


def test_resending_an_erased_persons_email_from_the_page_says_why_not(clients, failed_ack, quality_manager):
    complaints.complaint_erase_personal_data(complaint_id=failed_ack.concerns_id, actor=quality_manager, reason="x")
    response = clients["quality_manager"].post(f"{URL}resend/", {"email": [failed_ack.pk]}, follow=True)
    assert "its content is no longer kept" in response.content.decode()
    row = response.context["rows"][0]
    assert row.resendable is False


def test_quality_managers_see_the_count_on_the_dashboard_and_the_menu_entry(clients, failed_ack):
    response = clients["quality_manager"].get("/")
    assert "core:outbox_failed" in [entry.url_name for entry in response.context["nav_entries"]]
    html = response.content.decode()
    assert 'data-testid="failed-emails"' in html
    assert "1 e-mail could not be delivered." in html
    for persona in ("staff", "auditor"):
        response = clients[persona].get("/")
        assert "core:outbox_failed" not in [entry.url_name for entry in response.context["nav_entries"]]
        assert 'data-testid="failed-emails"' not in response.content.decode()
        assert f'href="{URL}"' not in response.content.decode()


def test_the_page_speaks_german(clients, failed_ack):
    html = clients["quality_manager"].get(URL, headers={"accept-language": "de"}).content.decode()
    assert "Fehlgeschlagene E-Mails" in html
    assert "Erneut senden" in html
    assert "14 Tage nach ihrem letzten Versuch" in html


# --- the API -------------------------------------------------------------------------------------

API = "/api/v1/outbox/failed/"


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 401)]
)
def test_the_api_lists_failed_emails_to_quality_managers_only(api_clients, failed_ack, persona, expected):
    response = api_clients[persona].get(API)
    assert response.status_code == expected
    if expected == 200:
        (row,) = response.json()["results"]
        assert row["id"] == failed_ack.pk
        assert (row["kind"], row["record_type"], row["attempts"]) == ("complaint-ack", "complaints.complaint", 1)
        assert row["record_label"] == failed_ack.concerns.reference
        assert "ConnectionRefusedError" in row["last_error"]
        assert (row["recipient"], row["resendable"]) == (ADDRESS, True)


def test_the_api_masks_the_recipient_without_the_personal_data_permission(failed_ack):
    from rest_framework.test import APIClient

    viewer = UserFactory(email="ops@example.com")
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboundemail"))
    client = APIClient()
    client.force_authenticate(viewer)
    (row,) = client.get(API).json()["results"]
    assert row["recipient"] == "[personal data]"


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 401)]
)
@pytest.mark.parametrize("action", ["resend", "dismiss"])
def test_the_api_resends_and_dismisses_for_quality_managers_only(
    api_clients, failed_ack, persona, expected, action, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        response = api_clients[persona].post(f"{API}{action}/", {"ids": [failed_ack.pk]}, format="json")
    assert response.status_code == expected
    failed_ack.refresh_from_db()
    if expected == 200:
        assert response.json() in ({"resent": [failed_ack.pk], "refused": []}, {"dismissed": [failed_ack.pk]})
        assert failed_ack.status in ("queued", "cancelled")
    else:
        assert failed_ack.status == "failed"


def test_the_api_answers_409_when_nothing_can_be_resent(api_clients, failed_ack, quality_manager):
    complaints.complaint_erase_personal_data(complaint_id=failed_ack.concerns_id, actor=quality_manager, reason="x")
    response = api_clients["quality_manager"].post(f"{API}resend/", {"ids": [failed_ack.pk]}, format="json")
    assert response.status_code == 409
    assert api_clients["quality_manager"].post(f"{API}resend/", {"ids": []}, format="json").status_code == 400


def test_the_api_list_query_count_does_not_grow_with_the_rows(
    api_clients, unreachable_smtp, django_assert_max_num_queries
):
    client = api_clients["quality_manager"]
    for _ in range(5):
        complaint = make_complaint(complainant_email=ADDRESS)
        _give_up(OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}"))
    client.get(API)  # warm the per-process caches
    # The user's and the groups' permissions, the page of rows, the complaints they concern.
    with django_assert_max_num_queries(4):
        assert len(client.get(API).json()["results"]) == 5
