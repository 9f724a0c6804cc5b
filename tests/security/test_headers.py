"""Security headers on every page, and the cookie and session rules of production (#10)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.core.test_settings import PRODUCTION_ENV, _manage
from tests.security.routes import page_patterns


def _plain_pages() -> list[str]:
    """Every page that takes no parameter (the rest share their views' headers)."""
    return [reverse(name) for name, pattern in page_patterns() if not pattern.pattern.converters]


def _directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize("persona", ["anonymous", "quality_manager"])
def test_every_page_sends_the_security_headers(clients, persona):
    missing = []
    for url in _plain_pages():
        response = clients[persona].get(url)
        if response.status_code >= 500:
            missing.append(f"{url}: {response.status_code}")
            continue
        policy = _directives(response.get("Content-Security-Policy", ""))
        checks = {
            "CSP script-src without inline script": policy.get("script-src") == ["'self'"],
            "CSP frame-ancestors none": policy.get("frame-ancestors") == ["'none'"],
            "CSP object-src none": policy.get("object-src") == ["'none'"],
            "X-Frame-Options": response.get("X-Frame-Options") == "DENY",
            "nosniff": response.get("X-Content-Type-Options") == "nosniff",
            "Referrer-Policy": response.get("Referrer-Policy") == "same-origin",
            "Cross-Origin-Opener-Policy": response.get("Cross-Origin-Opener-Policy") == "same-origin",
        }
        missing += [f"{url}: {name}" for name, ok in checks.items() if not ok]
    assert missing == []


def test_pages_carry_no_inline_script_or_style_attribute(clients):
    offending = []
    for url in _plain_pages():
        response = clients["quality_manager"].get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        if " style=" in html or " onclick=" in html or "<script>" in html:
            offending.append(url)
    assert offending == []


def test_sessions_end_after_eight_hours_and_with_the_browser(client, staff, settings):
    client.force_login(staff)
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert client.session.get_expire_at_browser_close()


PRODUCTION_PROBE = """
from django.conf import settings as s
print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT)
print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.SESSION_COOKIE_NAME)
print(s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.CSRF_COOKIE_SAMESITE, s.CSRF_COOKIE_NAME)
"""


def test_production_sends_hsts_and_only_secure_http_only_same_site_cookies():
    result = _manage("shell", "-c", PRODUCTION_PROBE, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    hsts, session, csrf = (line.split() for line in result.stdout.strip().splitlines()[-3:])
    assert int(hsts[0]) >= 365 * 24 * 60 * 60
    assert hsts[1:] == ["True", "True"]
    assert session == ["True", "True", "Lax", "__Host-sessionid"]
    assert csrf == ["True", "True", "Lax", "__Host-csrftoken"]
