"""API tokens (#22 §5): limited lifetime, kept only as a hash, revoked whenever the account's
password, role or activation changes, listed and revoked by their owner (and by a quality
manager); a deactivated and reactivated account gets neither its tokens nor its sessions back."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services
from apps.accounts.models import ApiToken
from apps.accounts.roles import Role
from apps.audit.models import AuditEntry
from tests.factories import PASSWORD

NEW_PASSWORD = "a-different-horse-battery-staple"


def _issue(user, name: str = "") -> tuple[ApiToken, str]:
    token, secret = services.api_token_issue(user=user, name=name, actor=user)
    return token, secret


def _bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _works(secret: str) -> bool:
    response = _bearer(secret).get("/api/v1/me/")
    assert response.status_code in {200, 401}, response.content
    return response.status_code == 200


def _request_token(email: str, password: str = PASSWORD, **extra) -> dict:
    response = APIClient().post("/api/v1/auth/token/", {"email": email, "password": password, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# Issuing -------------------------------------------------------------------------------


def test_the_database_keeps_no_secret_only_its_digest(staff):
    body = _request_token(staff.email, name="nightly export")
    secret = body["token"]
    assert _works(secret)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert secret not in stored
    assert secret.split("_")[-1] not in stored
    token = ApiToken.objects.get()
    assert (token.prefix, token.name) == (body["prefix"], "nightly export")
    assert secret.startswith(token.prefix)


def test_every_request_issues_a_new_token_and_the_old_one_keeps_working(staff):
    first = _request_token(staff.email)
    second = _request_token(staff.email)
    assert first["token"] != second["token"]
    assert first["id"] != second["id"]
    assert ApiToken.objects.filter(user=staff).count() == 2
    assert _works(first["token"])
    assert _works(second["token"])


def test_a_token_lasts_the_configured_lifetime(staff, settings):
    settings.API_TOKEN_LIFETIME_DAYS = 7
    before = timezone.now()
    token, _secret = _issue(staff)
    assert before + timedelta(days=7) <= token.expires_at <= timezone.now() + timedelta(days=7)


def test_an_expired_token_is_refused(staff):
    token, secret = _issue(staff)
    assert _works(secret)
    ApiToken.objects.filter(pk=token.pk).unaudited_update(
        created_at=timezone.now() - timedelta(days=31), expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = _bearer(secret).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_issuing_is_audited_without_the_secret(staff):
    body = _request_token(staff.email, name="ci")
    entry = AuditEntry.objects.for_object(ApiToken.objects.get()).get()
    assert (entry.action, entry.actor_id) == (AuditEntry.Action.CREATE, staff.pk)
    assert entry.changes["prefix"] == [None, body["prefix"]]
    assert body["token"] not in str(entry.changes)


def test_last_use_is_noted_at_most_once_a_minute(staff):
    token, secret = _issue(staff)
    client = _bearer(secret)
    client.get("/api/v1/me/")
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at == first_use
    ApiToken.objects.filter(pk=token.pk).unaudited_update(last_used_at=first_use - timedelta(minutes=2))
    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at > first_use


# Revoked by changes to the account -------------------------------------------------------


def test_a_password_change_revokes_the_users_tokens(staff):
    _token, secret = _issue(staff)
    client = Client()
    client.force_login(staff)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert not _works(secret)
    token = ApiToken.objects.get()
    assert (token.revoke_reason, token.revoked_by) == (ApiToken.RevokeReason.PASSWORD_CHANGED, staff)


def test_a_password_reset_revokes_the_users_tokens(staff):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    _token, secret = _issue(staff)
    uid = urlsafe_base64_encode(force_bytes(staff.pk))
    client = Client()
    form = client.get(f"/accounts/password/reset/{uid}/{default_token_generator.make_token(staff)}/", follow=True)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert not _works(secret)
    assert ApiToken.objects.get().revoke_reason == ApiToken.RevokeReason.PASSWORD_RESET


def test_a_password_set_in_the_admin_site_revokes_the_users_tokens(staff):
    from tests.factories import UserFactory

    superuser = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    _token, secret = _issue(staff)
    client = Client()
    client.force_login(superuser)
    response = client.post(
        f"/admin/accounts/user/{staff.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)
    assert not _works(secret)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda user, qm: services.user_set_active(user_id=user.pk, active=False, actor=qm), "deactivated"),
        (lambda user, qm: services.user_set_role(user_id=user.pk, role=Role.AUDITOR, actor=qm), "role_changed"),
    ],
    ids=["deactivation", "role change"],
)
def test_a_change_to_the_account_revokes_its_tokens_and_says_why(quality_manager, staff, change, reason):
    tokens = [_issue(staff, name) for name in ("one", "two")]
    _kept, kept_secret = _issue(quality_manager)
    change(staff, quality_manager)
    for token, secret in tokens:
        token.refresh_from_db()
        assert (token.revoke_reason, token.revoked_by) == (reason, quality_manager)
        assert not _works(secret)
    assert _works(kept_secret)
    entries = AuditEntry.objects.filter(content_type__model="apitoken", action=AuditEntry.Action.UPDATE)
    assert sorted(int(entry.object_id) for entry in entries) == sorted(token.pk for token, _s in tokens)


def test_a_role_change_through_the_people_page_revokes_tokens(clients, staff):
    _token, secret = _issue(staff)
    form = {"full_name": staff.full_name, "role": Role.AUDITOR, "is_active": "on", "reason": "moved to QA"}
    response = clients["quality_manager"].post(f"/accounts/users/{staff.pk}/", form)
    assert response.status_code == 302
    assert not _works(secret)


def test_reactivation_revives_neither_tokens_nor_sessions(quality_manager, staff):
    _token, secret = _issue(staff)
    browser = Client()
    assert browser.post("/accounts/login/", {"username": staff.email, "password": PASSWORD}).status_code == 302
    assert browser.get("/").status_code == 200

    services.user_set_active(user_id=staff.pk, active=False, actor=quality_manager)
    services.user_set_active(user_id=staff.pk, active=True, actor=quality_manager)

    assert not _works(secret)
    # `/` is the public start page for anonymous visitors (#24): ask for a signed-in page.
    response = browser.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # Signing in again works: only the old session ended.
    fresh = Client()
    assert fresh.post("/accounts/login/", {"username": staff.email, "password": PASSWORD}).status_code == 302
    assert fresh.get("/").status_code == 200


def test_a_token_of_a_deactivated_user_is_refused_even_if_left_unrevoked(staff):
    from apps.accounts.models import User

    _token, secret = _issue(staff)
    User.objects.filter(pk=staff.pk).unaudited_update(is_active=False)
    assert not _works(secret)


# Listing and revoking by hand -----------------------------------------------------------


@pytest.fixture
def tokens(staff, other_staff, quality_manager, auditor) -> dict[str, ApiToken]:
    return {
        name: _issue(user, name)[0]
        for name, user in [
            ("staff", staff),
            ("other_staff", other_staff),
            ("quality_manager", quality_manager),
            ("auditor", auditor),
        ]
    }


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("staff", {"staff"}),
        ("other_staff", {"other_staff"}),
        ("auditor", {"staff", "other_staff", "quality_manager", "auditor"}),
        ("quality_manager", {"staff", "other_staff", "quality_manager", "auditor"}),
    ],
)
def test_the_list_shows_own_tokens_and_everyones_to_oversight(
    api_clients, tokens, persona, sees, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = api_clients[persona].get("/api/v1/auth/tokens/")
    assert response.status_code == 200
    listed = {row["name"] for row in response.json()["results"]}
    assert listed == sees
    assert all("token" not in row and "digest" not in row for row in response.json()["results"])


def test_the_list_query_count_does_not_grow_with_the_tokens(api_clients, staff, django_assert_max_num_queries):
    for n in range(20):
        _issue(staff, f"t{n}")
    with django_assert_max_num_queries(6):
        response = api_clients["quality_manager"].get("/api/v1/auth/tokens/")
    assert len(response.json()["results"]) == 20


def test_a_quality_manager_narrows_the_list_to_one_person(api_clients, tokens, staff):
    response = api_clients["quality_manager"].get(f"/api/v1/auth/tokens/?user={staff.pk}")
    assert [row["name"] for row in response.json()["results"]] == ["staff"]


def test_staff_filtering_by_someone_else_see_nothing(api_clients, tokens, other_staff):
    response = api_clients["staff"].get(f"/api/v1/auth/tokens/?user={other_staff.pk}")
    assert response.json()["results"] == []


def test_the_list_refuses_anonymous(api_clients):
    assert api_clients["anonymous"].get("/api/v1/auth/tokens/").status_code == 401


@pytest.mark.parametrize(
    ("persona", "owner", "expected"),
    [
        ("staff", "staff", 200),
        ("auditor", "auditor", 200),
        ("quality_manager", "staff", 200),
        ("quality_manager", "auditor", 200),
        ("staff", "other_staff", 404),
        ("staff", "quality_manager", 404),
        ("auditor", "staff", 403),
        ("anonymous", "staff", 401),
    ],
)
def test_who_may_revoke_a_token(api_clients, tokens, personas, persona, owner, expected):
    token = tokens[owner]
    response = api_clients[persona].post(f"/api/v1/auth/tokens/{token.pk}/revoke/")
    assert response.status_code == expected
    token.refresh_from_db()
    if expected == 200:
        assert response.json()["state"] == "revoked"
        assert (token.revoke_reason, token.revoked_by) == ("revoked", personas[persona])
        entry = AuditEntry.objects.for_object(token).get(action=AuditEntry.Action.UPDATE)
        assert entry.actor_id == personas[persona].pk
    else:
        assert "error" in response.json()
        assert token.revoked_at is None
        assert not AuditEntry.objects.for_object(token).filter(action=AuditEntry.Action.UPDATE).exists()


def test_a_revoked_token_stops_working_and_revoking_again_changes_nothing(staff):
    token, secret = _issue(staff)
    client = _bearer(secret)
    # A script may revoke the very token it authenticates with.
    assert client.post(f"/api/v1/auth/tokens/{token.pk}/revoke/").status_code == 200
    assert not _works(secret)
    services.api_token_revoke(token_id=token.pk, actor=staff)
    assert AuditEntry.objects.for_object(token).filter(action=AuditEntry.Action.UPDATE).count() == 1


# The browser pages --------------------------------------------------------------------


def test_the_token_page_lists_own_tokens_with_revoke_buttons(clients, tokens):
    response = clients["staff"].get("/accounts/tokens/")
    assert response.status_code == 200
    page = response.content.decode()
    assert tokens["staff"].prefix in page
    assert f"/accounts/tokens/{tokens['staff'].pk}/revoke/" in page
    assert tokens["other_staff"].prefix not in page


@pytest.mark.parametrize(
    ("persona", "owner", "expected"),
    [
        ("staff", "staff", 302),
        ("quality_manager", "staff", 302),
        ("staff", "other_staff", 404),
        ("auditor", "staff", 403),
    ],
)
def test_revoking_from_the_pages(clients, tokens, persona, owner, expected):
    response = clients[persona].post(f"/accounts/tokens/{tokens[owner].pk}/revoke/")
    assert response.status_code == expected
    tokens[owner].refresh_from_db()
    assert (tokens[owner].revoked_at is not None) == (expected == 302)


@pytest.mark.parametrize(("persona", "buttons"), [("quality_manager", True), ("auditor", False)])
def test_the_user_page_shows_the_persons_tokens(clients, tokens, staff, persona, buttons):
    page = clients[persona].get(f"/accounts/users/{staff.pk}/").content.decode()
    assert tokens["staff"].prefix in page
    assert (f"/accounts/tokens/{tokens['staff'].pk}/revoke/" in page) == buttons
