"""Signing in and out in a real browser, and the menu each role gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import ConsoleMessage, Page, ViewportSize, expect

# Transactional: the live server's own connection sees only committed users.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MENU = [
    "Dashboard",
    "Customers",
    "Products",
    "Requirements",
    "Awaiting review",
    "Feedback",
    "Triage",
    "Complaints",
    "Surveys",
    "Objectives",
    "Corrective actions",
    "Management reviews",
    "People",
    "Failed e-mails",
    "Audit trail",
    "Evidence by clause",
    "Evidence packs",
    "Integrity",
]
# Below Bootstrap's lg breakpoint, so the navbar collapses behind its toggler.
MOBILE: ViewportSize = {"width": 375, "height": 740}
WRONG_PASSWORD = "not-the-password-at-all"
# Django's AuthenticationForm error, with the e-mail address as the user model's username field.
WRONG_PASSWORD_ERROR = "Please enter a correct e-mail address and password"

# persona fixture, badge text, the menu entries in order; every other entry of MENU must be absent.
ROLES = [
    pytest.param("quality_manager", "Quality manager", MENU, id="quality_manager"),
    pytest.param(
        "staff",
        "Staff",
        [
            "Dashboard",
            "Customers",
            "Products",
            "Requirements",
            "Feedback",
            "Complaints",
            "Surveys",
            "Objectives",
            "Corrective actions",
        ],
        id="staff",
    ),
    pytest.param(
        "auditor",
        "Auditor",
        [
            "Dashboard",
            "Customers",
            "Products",
            "Requirements",
            "Feedback",
            "Complaints",
            "Surveys",
            "Objectives",
            "Corrective actions",
            "Management reviews",
            "People",
            "Audit trail",
            "Evidence by clause",
            "Evidence packs",
            "Integrity",
        ],
        id="auditor",
    ),
]


SIGNED_IN_PAGE = "/customers/"


def _login_url(live_server: Any, next_path: str | None = None) -> str:
    return f"{live_server.url}/accounts/login/" + (f"?next={next_path}" if next_path else "")


def _has_session_cookie(page: Page) -> bool:
    return any(cookie["name"] == settings.SESSION_COOKIE_NAME for cookie in page.context.cookies())


@pytest.mark.parametrize(("persona", "role_label", "menu"), ROLES)
def test_each_role_signs_in_and_sees_its_role_badge_and_exactly_its_menu(
    request: pytest.FixtureRequest,
    live_server: Any,
    page: Page,
    sign_in: Callable[..., None],
    persona: str,
    role_label: str,
    menu: list[str],
) -> None:
    user = request.getfixturevalue(persona)

    sign_in(page, user.email)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_test_id("current-role")).to_have_text(role_label)
    expect(page.get_by_test_id("dashboard-role")).to_have_text(role_label)
    nav = page.get_by_test_id("main-nav")
    expect(nav).to_be_visible()
    # A list of texts matches only the same number of links, in the same order.
    expect(nav.get_by_role("link")).to_have_text(menu)
    for label in menu:
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    # Nowhere on the page, so that a dashboard card does not offer what the menu hides.
    for label in (entry for entry in MENU if entry not in menu):
        expect(page.get_by_role("link", name=label, exact=True)).to_have_count(0)


def test_wrong_password_shows_the_error_stays_on_login_and_signs_nobody_in(
    live_server: Any, page: Page, sign_in: Callable[..., None], staff: Any
) -> None:
    sign_in(page, staff.email, WRONG_PASSWORD)

    expect(page).to_have_url(_login_url(live_server))
    expect(page.locator(".alert-danger")).to_contain_text(WRONG_PASSWORD_ERROR)
    expect(page.get_by_test_id("current-role")).to_have_count(0)
    assert not _has_session_cookie(page)
    # `/` is the public start page for anonymous visitors (#24): ask for a signed-in page.
    page.goto(SIGNED_IN_PAGE)
    expect(page).to_have_url(_login_url(live_server, next_path=SIGNED_IN_PAGE))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


@pytest.mark.parametrize("persona", ["quality_manager", "staff", "auditor"])
def test_sign_out_returns_to_login_and_ends_the_session(
    request: pytest.FixtureRequest, live_server: Any, page: Page, sign_in: Callable[..., None], persona: str
) -> None:
    sign_in(page, request.getfixturevalue(persona).email)
    expect(page.get_by_test_id("current-role")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(_login_url(live_server))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert not _has_session_cookie(page)
    # `/` is the public start page for anonymous visitors (#24): ask for a signed-in page.
    page.goto(SIGNED_IN_PAGE)
    expect(page).to_have_url(_login_url(live_server, next_path=SIGNED_IN_PAGE))


def test_mobile_menu_opens_with_the_toggler_because_bootstrap_js_loads_under_the_csp(
    open_page: Callable[..., Page], sign_in: Callable[..., None], quality_manager: Any
) -> None:
    page = open_page(MOBILE)
    console_errors: list[str] = []

    def keep_error(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(f"{page.url}: {message.text}")

    page.on("console", keep_error)
    sign_in(page, quality_manager.email)
    # Load the dashboard again to read its headers: the policy must really be the strict one.
    response = page.goto("/")
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy

    people = page.get_by_test_id("main-nav").get_by_role("link", name="People", exact=True)
    toggler = page.get_by_role("button", name="Toggle navigation")
    expect(people).to_be_hidden()
    expect(toggler).to_have_attribute("aria-expanded", "false")
    toggler.click()

    # Only Bootstrap's collapse plugin opens the menu; no JavaScript, no People.
    expect(people).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    assert [error for error in console_errors if "Content Security Policy" in error] == []


@pytest.mark.parametrize(
    ("email", "role_label"),
    [
        ("manager@example.com", "Quality manager"),
        ("staff@example.com", "Staff"),
        ("auditor@example.com", "Auditor"),
    ],
)
def test_demo_logins_printed_by_make_run_work(page: Page, sign_in: Callable[..., None], email: str, role_label: str):
    from django.core.management import call_command

    from apps.dashboard.management.commands.seed_demo import DEMO_PASSWORD
    from tests.migrated_data import ensure_role_groups

    ensure_role_groups()
    call_command("seed_demo")

    sign_in(page, email, DEMO_PASSWORD)

    expect(page.get_by_test_id("current-role")).to_have_text(role_label)
