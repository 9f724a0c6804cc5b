"""Password reset (#22 §9): limited per address and per client, and the same work for an address
with or without an account; the token and e-mail are made by a task after the response."""

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.core.models import OutboundEmail

pytestmark = pytest.mark.django_db
RESET = "/accounts/password/reset/"


def _request(email: str, *, client_address: str = "203.0.113.10"):
    return Client(REMOTE_ADDR=client_address).post(RESET, {"email": email})


@pytest.fixture
def limits(settings):
    settings.PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS = 2
    settings.PASSWORD_RESET_RATE_LIMIT_PER_CLIENT = 3
    settings.PASSWORD_RESET_RATE_WINDOW_SECONDS = 600
    return settings


@pytest.mark.usefixtures("limits")
def test_one_address_gets_at_most_its_limit_of_e_mails_however_it_is_spelled(
    staff, reset_queue, django_capture_on_commit_callbacks
):
    spellings = ["staff1@example.com", "STAFF1@Example.COM", " \uff53\uff54\uff41\uff46\uff46\uff11@example.com "]
    with django_capture_on_commit_callbacks(execute=True):
        # From different clients, so only the address's limit can hold them back.
        responses = [_request(email, client_address=f"203.0.113.{n}") for n, email in enumerate(spellings, 20)]
    reset_queue.run()
    # The third is refused without saying so: the page is the same as for any address.
    assert [(r.status_code, r["Location"]) for r in responses] == [(302, "/accounts/password/reset/sent/")] * 3
    assert [email.to for email in OutboundEmail.objects.order_by("pk")] == ["staff1@example.com"] * 2


@pytest.mark.usefixtures("limits")
def test_a_client_past_its_limit_is_told_to_wait_and_nothing_is_sent(
    staff, other_staff, reset_queue, django_capture_on_commit_callbacks
):
    addresses = ["nobody@example.com", "staff1@example.com", "nobody2@example.com", "staff2@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        responses = [_request(email) for email in addresses]
    reset_queue.run()
    assert [r.status_code for r in responses] == [302, 302, 302, 429]
    assert [email.to for email in OutboundEmail.objects.order_by("pk")] == ["staff1@example.com"]
    assert _request("staff2@example.com", client_address="203.0.113.99").status_code == 302


def test_an_address_with_or_without_an_account_costs_the_request_the_same_work(
    staff, reset_queue, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with CaptureQueriesContext(connection) as unknown, django_capture_on_commit_callbacks() as unknown_callbacks:
        unknown_response = _request("nobody@example.com")
    with (
        django_assert_num_queries(len(unknown.captured_queries)),
        django_capture_on_commit_callbacks() as known_callbacks,
    ):
        known_response = _request("staff1@example.com", client_address="203.0.113.11")
    assert len(known_callbacks) == len(unknown_callbacks) == 1
    assert known_response.status_code == unknown_response.status_code == 302
    assert known_response["Location"] == unknown_response["Location"]
    # Nothing of the e-mail is made during the request.
    assert not OutboundEmail.objects.exists()


def test_the_e_mail_arrives_through_the_outbox_once_the_task_ran(
    staff, reset_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _request("staff1@example.com")
    assert not OutboundEmail.objects.exists()
    reset_queue.run()
    (email,) = OutboundEmail.objects.all()
    assert email.to == "staff1@example.com"
    assert "/accounts/password/reset/" in email.body


def test_a_redelivered_task_queues_the_e_mail_once(staff, reset_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _request("staff1@example.com")
    ((args, kwargs),) = reset_queue.calls
    reset_queue.task(*args, **kwargs)
    reset_queue.task(*args, **kwargs)
    assert OutboundEmail.objects.count() == 1


@pytest.mark.parametrize("account", ["inactive", "no password"])
def test_accounts_that_cannot_reset_get_no_e_mail(staff, account, reset_queue, django_capture_on_commit_callbacks):
    change = {"is_active": False} if account == "inactive" else {"password": make_password(None)}
    User.objects.filter(pk=staff.pk).unaudited_update(**change)
    with django_capture_on_commit_callbacks(execute=True):
        assert _request("staff1@example.com").status_code == 302
    reset_queue.run()
    assert not OutboundEmail.objects.exists()
