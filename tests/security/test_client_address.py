"""One client address for the lockout, the API throttles and the public forms (#22 §3).

Behind TRUSTED_PROXY_COUNT proxies, clients behind the same proxy are limited separately; with no
trusted proxy, X-Forwarded-For is ignored everywhere, so rotating it escapes nothing."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from apps.complaints.models import Complaint
from apps.core.client import client_address, client_key
from tests.factories import PASSWORD

PROXY = "10.0.0.2"


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "198.51.100.1", "203.0.113.5"),  # nobody trusted: the header is ignored
        (1, PROXY, "198.51.100.1", "198.51.100.1"),
        (1, PROXY, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client's own entry is not believed
        (2, PROXY, "6.6.6.6, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (2, PROXY, "198.51.100.1", PROXY),  # fewer entries than proxies: not through all of them
        (1, PROXY, "not-an-address", PROXY),
        (1, PROXY, "", PROXY),
        (1, PROXY, "::ffff:198.51.100.1", "198.51.100.1"),
        (1, PROXY, "[2001:db8::1]", "2001:db8::1"),
        (0, "", "", None),
    ],
)
def test_client_address_trusts_exactly_the_configured_proxies(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_an_ipv6_client_is_limited_by_its_64_network(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    first = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2::1")
    neighbour = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert client_key(first) == client_key(neighbour) == "2001:db8:1:2::/64"
    assert client_key(RequestFactory().get("/", REMOTE_ADDR="203.0.113.5")) == "203.0.113.5"
    assert client_key(RequestFactory().get("/", REMOTE_ADDR="")) == "unknown"


def _complaint(client: Client, **extra):
    form = {
        "complainant_name": "Clara Customer",
        "complainant_email": "clara@example.org",
        "description": "The pump leaks.",
        "desired_outcome": "A replacement",
        "website": "",
    }
    return client.post("/complaints/new/", form, **extra)


@pytest.mark.django_db
def test_public_form_limits_clients_behind_one_proxy_separately(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.COMPLAINT_PUBLIC_RATE_LIMIT = 2
    client = Client()
    behind = {"REMOTE_ADDR": PROXY}
    first = [_complaint(client, HTTP_X_FORWARDED_FOR="198.51.100.1", **behind).status_code for _ in range(3)]
    assert first == [302, 302, 429]
    # Another customer behind the same proxy is not turned away by the first one's limit.
    assert _complaint(client, HTTP_X_FORWARDED_FOR="198.51.100.2", **behind).status_code == 302


@pytest.mark.django_db
def test_public_form_ignores_rotated_forwarded_for_without_a_trusted_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.COMPLAINT_PUBLIC_RATE_LIMIT = 2
    client = Client()
    codes = [
        _complaint(client, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]
    assert codes == [302, 302, 429, 429]
    assert Complaint.objects.count() == 2


@pytest.mark.django_db
def test_token_throttle_ignores_rotated_forwarded_for_without_a_trusted_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client = Client()
    codes = [
        client.post(
            "/api/v1/auth/token/",
            {"email": f"nobody{n}@example.com", "password": "x"},
            content_type="application/json",
            REMOTE_ADDR="203.0.113.5",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(12)
    ]
    assert codes[-1] == 429, codes
    assert codes.count(429) == 2  # the scope allows 10 a minute


@pytest.mark.django_db
def test_token_throttle_counts_clients_behind_a_trusted_proxy_separately(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client()

    def ask(address: str, n: int = 0) -> int:
        return client.post(
            "/api/v1/auth/token/",
            {"email": f"nobody{n}@example.com", "password": "x"},  # a new address each time: no lockout
            content_type="application/json",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=address,
        ).status_code

    # Refused sign-ins (403: the endpoint takes no credentials header) until the throttle answers.
    assert [ask("198.51.100.1", n) for n in range(11)] == [403] * 10 + [429]
    assert ask("198.51.100.2") == 403


@pytest.mark.django_db
def test_lockout_of_one_client_behind_the_proxy_does_not_lock_out_another(staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/accounts/login/", {"username": "staff1@example.com", "password": "wrong"}, **attacker)
    assert (
        Client().post("/accounts/login/", {"username": "staff1@example.com", "password": PASSWORD}, **attacker)
    ).status_code == 429
    owner = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    response = Client().post("/accounts/login/", {"username": "staff1@example.com", "password": PASSWORD}, **owner)
    assert response.status_code == 302


@pytest.mark.django_db
def test_lockout_cannot_be_escaped_by_rotating_forwarded_for_without_a_trusted_proxy(staff, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            "/accounts/login/",
            {"username": "staff1@example.com", "password": "wrong"},
            REMOTE_ADDR="203.0.113.5",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
    response = Client().post(
        "/accounts/login/",
        {"username": "staff1@example.com", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.5",
        HTTP_X_FORWARDED_FOR="198.51.100.200",
    )
    assert response.status_code == 429
