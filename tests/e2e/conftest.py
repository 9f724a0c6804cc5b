"""Headless Chromium (Debian's build, driven by Playwright) against pytest-django's live server.

The browser starts once a run; every test gets a fresh context, so no cookie or storage leaks
from one test into the next. Test modules here mark themselves `browser` and
`django_db(transaction=True)`: the live server answers from its own thread and database
connection, so it sees only what a test has committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect, sync_playwright

from qms_portal.env import BASE_DIR
from tests.factories import PASSWORD

# Playwright's own browser download does not work in this environment, so use the distribution's.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    # Containers and CI runners rarely allow the user namespaces Chromium's sandbox needs.
    "--no-sandbox",
    "--disable-gpu",
    # No calls home: the tests must not depend on, or wait for, the internet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Wide enough for Bootstrap's lg breakpoint, so the navbar shows its entries without the toggler.
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
# Short enough that a broken page fails in seconds rather than after Playwright's 30 s default.
TIMEOUT_MS = 10_000
# Screenshots of failed tests (the directory is git-ignored).
ARTIFACTS = BASE_DIR / "test-results"


# Package scope, not session: Playwright must be gone once the last browser test has run (see below).
# pytest-django runs all transactional tests together, so the browser still starts only once a run.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = "Debian chromium not installed: apt-get install chromium"
        if os.environ.get("QMS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} (QMS_REQUIRE_BROWSER=1 forbids skipping the browser tests)", pytrace=False)
        pytest.skip(reason)
    expect.set_options(timeout=TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an asyncio event loop running in this thread while it lives,
        # so Django's async-safety guard would refuse every ORM call made from here (persona
        # fixtures, the flush after each test); the ORM is still only called synchronously. Set
        # only for Playwright's lifetime: it would leak into subprocesses of other tests, and
        # `check --deploy` there rightly fails with async.E001.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


_reports_key = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Fixture teardown needs to know whether the test body failed, to keep a screenshot of it.
    report = yield
    item.stash.setdefault(_reports_key, {})[report.when] = report
    return report


@pytest.fixture
def open_page(
    browser: Browser, live_server: Any, request: pytest.FixtureRequest, settings: Any
) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh browser context, by default at a desktop size; closed after the test."""
    # Links in e-mails come from SITE_URL alone: here they must lead to the live server.
    settings.SITE_URL = live_server.url
    contexts: list[BrowserContext] = []

    def open_(viewport: ViewportSize = DESKTOP) -> Page:
        # English whatever the machine's locale: the portal now answers in German to a German browser.
        context = browser.new_context(base_url=live_server.url, viewport=viewport, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_

    call = request.node.stash.get(_reports_key, {}).get("call")
    failed = call is not None and call.failed
    for number, context in enumerate(contexts):
        if failed:
            for page in context.pages:
                ARTIFACTS.mkdir(exist_ok=True)
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
                page.screenshot(path=ARTIFACTS / f"{name}-{number}.png", full_page=True)
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """A desktop-sized page whose relative URLs resolve against the live server."""
    return open_page()


@pytest.fixture
def sign_in() -> Callable[..., None]:
    """Sign a user in through the login form, as a person would."""

    def sign_in_(page: Page, email: str, password: str = PASSWORD) -> None:
        page.goto("/accounts/login/")
        page.locator("input[name=username]").fill(email)
        page.locator("input[name=password]").fill(password)
        # Wait for the answer to the POST: a failed sign-in re-renders the same URL.
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()

    return sign_in_


@pytest.fixture
def demo_data() -> None:
    """The demo organisation (`seed_demo`) with its roll-ups built, as `make run` shows it."""
    from django.core.management import call_command

    from apps.analytics import services as analytics
    from tests.migrated_data import ensure_role_groups

    ensure_role_groups()
    call_command("seed_demo")
    analytics.rebuild()
