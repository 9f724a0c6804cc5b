"""The sign-in lockout counts every spelling of an address as one identity (#22 §2)."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.login import login_identifier
from apps.accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

# How an attacker spells staff1@example.com to get five fresh attempts each time.
VARIANTS = [
    "Staff1@example.com",
    "STAFF1@EXAMPLE.COM",
    " staff1@example.com ",
    "sTaFf1@Example.Com",
    "\uff53taff1@example.com",  # full-width s
]


def _sign_in(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"username": email, "password": password})


def _token(client: Client, email: str, password: str):
    return client.post("/api/v1/auth/token/", {"email": email, "password": password}, content_type="application/json")


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Staff1@Example.COM", "staff1@example.com"),
        ("  staff1@example.com\t", "staff1@example.com"),
        ("\uff53\uff54\uff41\uff46\uff461@example.com", "staff1@example.com"),
        ("STRASSE@example.de", "strasse@example.de"),
        ("stra\u00dfe@example.de", "strasse@example.de"),
        ("\u212aelvin@example.com", "kelvin@example.com"),  # Kelvin sign folds to k
        (None, ""),
    ],
)
def test_login_identifier_folds_case_width_and_space(raw, normalised):
    assert login_identifier(raw) == normalised


def test_case_variants_share_one_lockout_on_the_sign_in_page(staff, settings):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, VARIANTS[attempt % len(VARIANTS)], "wrong-password")
    for variant in [*VARIANTS, "staff1@example.com"]:
        response = _sign_in(Client(), variant, PASSWORD)
        assert response.status_code == 429, variant
        assert b"temporarily locked" in response.content


def test_case_variants_share_one_lockout_with_the_token_endpoint(staff, settings):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, VARIANTS[attempt % 4], "wrong-password")
    response = _token(Client(), "StAfF1@example.com", PASSWORD)
    assert response.status_code == 429
    # The API's own JSON error shape, not the HTML lockout page.
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "locked_out"
    assert int(response["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())


def test_failures_through_the_api_lock_the_sign_in_page_too(staff, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _token(Client(), ["STAFF1@example.com", "staff1@EXAMPLE.com"][attempt % 2], "wrong-password")
    assert _sign_in(Client(), "staff1@example.com", PASSWORD).status_code == 429


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_spelling_signs_in_to_the_same_account_when_not_locked(staff, variant):
    client = Client()
    assert _sign_in(client, variant, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_an_account_cannot_be_created_twice_under_another_spelling(quality_manager, staff):
    from apps.accounts import services
    from apps.accounts.roles import Role
    from apps.core.exceptions import BusinessRuleViolation

    with pytest.raises(BusinessRuleViolation):
        services.user_create(email="\uff33TAFF1@Example.com", full_name="Twin", role=Role.STAFF, actor=quality_manager)
    assert User.objects.filter(email__iexact="staff1@example.com").count() == 1
