import pytest
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, api_token_digest
from apps.audit.models import AuditEntry
from tests.factories import PASSWORD


@pytest.mark.parametrize(
    ("persona", "role"),
    [("quality_manager", "quality_manager"), ("staff", "staff"), ("auditor", "auditor")],
)
def test_me_returns_the_current_user_and_role(api_clients, persona, role):
    response = api_clients[persona].get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["role"] == role


def test_me_lists_permissions(api_clients):
    body = api_clients["auditor"].get("/api/v1/me/").json()
    assert "audit.view_auditentry" in body["permissions"]
    assert "accounts.add_user" not in body["permissions"]


def test_me_refuses_anonymous(api_clients):
    response = api_clients["anonymous"].get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_token_from_email_and_password_authenticates_as_bearer(staff):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"email": "staff1@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    assert ApiToken.objects.get(user=staff).digest == api_token_digest(token)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me/").json()["email"] == "staff1@example.com"
    assert AuditEntry.objects.for_object(staff).filter(action="login").exists()


@pytest.mark.django_db
def test_wrong_password_gets_no_token(staff):
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": "staff1@example.com", "password": "nope"}, format="json"
    )
    assert response.status_code in {401, 403}
    assert response.json()["error"]["code"] == "authentication_failed"
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_bad_bearer_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_token_endpoint_is_throttled(staff, settings):
    client = APIClient()
    codes = [
        client.post("/api/v1/auth/token/", {"email": f"x{n}@example.com", "password": "x"}, format="json").status_code
        for n in range(12)
    ]
    assert 429 in codes


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("auditor", 200), ("staff", 403), ("other_staff", 403), ("anonymous", 401)],
)
def test_user_list_access(api_clients, persona, expected, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = api_clients[persona].get("/api/v1/users/")
    assert response.status_code == expected
    if expected == 200:
        assert len(response.json()["results"]) == 4


@pytest.mark.parametrize("persona", ["quality_manager", "auditor", "staff"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_user_api_has_no_write_operations(api_clients, staff, persona, method):
    url = "/api/v1/users/" if method == "post" else f"/api/v1/users/{staff.pk}/"
    response = getattr(api_clients[persona], method)(url, {"full_name": "Hacked"}, format="json")
    assert response.status_code in {403, 405}
    assert "error" in response.json()
    staff.refresh_from_db()
    assert staff.full_name == "Sasha Staff"
