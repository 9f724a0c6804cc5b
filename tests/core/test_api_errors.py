import pytest
from rest_framework.test import APIClient


def test_unknown_api_url_is_a_json_404():
    response = APIClient().get("/api/v1/does-not-exist/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.django_db
def test_unauthenticated_api_call_is_a_json_401():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_invalid_input_lists_the_fields():
    response = APIClient().post("/api/v1/auth/token/", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"email", "password"}


@pytest.mark.django_db
def test_malformed_json_is_a_400_not_a_500():
    response = APIClient().post("/api/v1/auth/token/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_schema_builds_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


@pytest.mark.django_db
def test_every_api_view_declares_its_permission():
    """The default permission is DenyAll: a view that forgot to declare one serves nobody,
    so this lists the views that rely on the default to catch the oversight early."""
    from django.urls import get_resolver

    from apps.core.permissions import DenyAll

    undeclared = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            view = getattr(pattern.callback, "cls", None)
            if view is None or not (prefix + str(pattern.pattern)).startswith("api/v1/"):
                continue
            if any(p is DenyAll for p in view.permission_classes):
                undeclared.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    assert undeclared == []
