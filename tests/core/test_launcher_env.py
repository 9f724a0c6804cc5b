"""What `make run` hands its web, worker and beat processes (the processes themselves:
tests/core/test_launcher.py)."""

import pytest

from qms_portal.launcher import children_env, mail_destination


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", "8100", "http://127.0.0.1:8100"),
        ("localhost", "8000", "http://localhost:8000"),
        ("::1", "8100", "http://[::1]:8100"),
        # Bound to every interface: a browser on this machine reaches it as localhost.
        ("0.0.0.0", "8100", "http://localhost:8100"),  # noqa: S104 - a value under test, nothing binds it
    ],
)
def test_site_url_follows_host_and_port(host, port, expected):
    env = children_env({"PATH": "/usr/bin"}, settings="qms_portal.settings.local", host=host, port=port)
    assert env["SITE_URL"] == expected
    assert env["DJANGO_SETTINGS_MODULE"] == "qms_portal.settings.local"
    assert env["PATH"] == "/usr/bin"


def test_a_site_url_set_by_the_user_is_kept():
    environ = {"SITE_URL": "https://qms.example.com"}
    env = children_env(environ, settings="qms_portal.settings.local", host="127.0.0.1", port="8100")
    assert env["SITE_URL"] == "https://qms.example.com"


def test_the_banner_says_where_development_e_mails_go():
    from qms_portal.embedded import VAR_DIR

    local = children_env({}, settings="qms_portal.settings.local", host="127.0.0.1", port="8100")
    assert mail_destination(local) == f"written as files to {VAR_DIR / 'mail'}"
    smtp = {**local, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    assert mail_destination(smtp) == "sent by django.core.mail.backends.smtp.EmailBackend"
