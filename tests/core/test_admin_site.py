"""The Django admin is opt-in (#22 §9): a second way into every table, with no audit entries
of its own and a well-known address, is off in production unless ADMIN_ENABLED turns it on."""

from __future__ import annotations

import importlib

import pytest
from django.urls import clear_url_caches

from apps.accounts.models import User
from tests.core.test_settings import PRODUCTION_ENV, _manage

ADMIN_RESOLVES = (
    "from django.urls import Resolver404, resolve\n"
    "try:\n    resolve('/admin/')\n    print('admin: on')\n"
    "except Resolver404:\n    print('admin: off')\n"
)


@pytest.fixture
def urlconf(settings):
    """Loads the portal's URLconf again for a value of ADMIN_ENABLED, and as configured after."""
    import qms_portal.urls

    def load(enabled: bool) -> None:
        settings.ADMIN_ENABLED = enabled
        importlib.reload(qms_portal.urls)
        clear_url_caches()

    yield load
    settings.ADMIN_ENABLED = True
    importlib.reload(qms_portal.urls)
    clear_url_caches()


@pytest.mark.django_db
@pytest.mark.parametrize(("enabled", "expected"), [(False, 404), (True, 200)])
def test_the_admin_answers_only_when_enabled(client, urlconf, enabled, expected):
    superuser = User.objects.create_superuser(email="root@example.com", password="x" * 16)
    client.force_login(superuser)
    urlconf(enabled)
    assert client.get("/admin/").status_code == expected
    assert client.get("/admin/login/").status_code in ((404,) if not enabled else (200, 302))


@pytest.mark.parametrize(("value", "expected"), [(None, "admin: off"), ("1", "admin: on")])
def test_production_has_no_admin_unless_asked(value, expected):
    env = dict(PRODUCTION_ENV)
    if value is not None:
        env["ADMIN_ENABLED"] = value
    result = _manage("shell", "-c", ADMIN_RESOLVES, env=env)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_development_has_the_admin_by_default():
    result = _manage("shell", "-c", ADMIN_RESOLVES, env={"DJANGO_SETTINGS_MODULE": "qms_portal.settings.local"})
    assert result.returncode == 0, result.stderr
    assert "admin: on" in result.stdout
