"""axe-core on every page each role may open (#24): WCAG 2.x A and AA plus axe's best practices,
zero violations.

The pages come from the URLconf (tests/security/routes.py) and who may open them from the route
x role matrix (tests/security/matrix.py), so a new page is checked for every role that may see it
without anyone adding it here. The demo organisation (tests/security/world.py) fills in the ids.
"""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.http import HttpResponse
from django.urls import URLPattern, get_resolver, path, reverse
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.migrated_data import ensure_role_groups
from tests.security import matrix
from tests.security.access import PERSONAS, make_personal
from tests.security.routes import page_patterns
from tests.security.world import demo_world, page_kwargs

# Transactional: the live server's own connection sees only committed rows.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}

# Routes whose answer is not an HTML page, so there is nothing for axe to read. Every other route
# a role may GET is visited.
NOT_HTML = {
    "complaints:attachment": "the file the complainant uploaded, sent as a download",
    "complaints:track_attachment": "the same file, for the customer through their tracking link",
    "customers:contact_export": "a contact's personal data as a JSON download (GDPR art. 15)",
    "evidence:pack_download": "the evidence pack's ZIP file",
    "reviews:report_download": "the management review report's PDF",
    "surveys:campaign_export": "the campaign's responses as CSV",
    "surveys:campaign_progress": "the campaign's live counts as JSON, polled by static/js/survey-progress.js",
    "healthz": "plain-text health check for the load balancer",
    "metrics": "Prometheus text exposition, not for people",
}

# The people the issue walked through, and whose column of the matrix says what they may open.
# Anonymous visitors are the matrix's customer: no account, holding their own tracking and survey
# links, so the tracking and survey answer pages are visited with a real token.
ROLES = {
    "anonymous": "customer",
    "staff": "staff",
    "auditor": "auditor",
    "quality_manager": "quality_manager",
}


def pages_for(role: str) -> list[tuple[str, URLPattern]]:
    """The HTML page routes `role` may GET, by the matrix, from the URLconf in use."""
    column = PERSONAS.index(ROLES[role])
    return [
        (name, pattern)
        for name, pattern in page_patterns()
        # An undeclared route is test_access_matrix's to report, with what to do about it.
        if name not in NOT_HTML and name in matrix.PAGES and matrix.PAGES[name][0][column] == "allow"
    ]


def _violations(page: Page, axe: Axe, where: str) -> list[str]:
    results = axe.run(page, options=AXE_OPTIONS).response
    return [
        f"{where}: {violation['id']} ({violation['impact']}) at {', '.join(map(str, node['target']))}"
        f" - {violation['help']}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


@pytest.fixture
def world(settings, tmp_path) -> dict:
    """The demo organisation; tests ask for it before `personas`, as seed_demo wants an empty database."""
    # The previous browser test's flush took the role groups that seed_demo assigns.
    ensure_role_groups()
    settings.MEDIA_ROOT = str(tmp_path)
    return demo_world()


# Seeding the demo takes about as long as visiting a role's pages, so the roles share a seed in
# two runs of about equal length (the quality manager sees as many pages as the other three
# together), which `make test -n 2` spreads over its two processes.
RUNS = [
    pytest.param(("anonymous", "staff", "auditor"), id="public-staff-auditor"),
    pytest.param(("quality_manager",), id="quality_manager"),
]


def _visit_every_page(page: Page, role: str, world: dict, tokens: dict) -> list[str]:
    axe = Axe()
    problems: list[str] = []
    for name, pattern in pages_for(role):
        mine = tokens if role == "anonymous" else None
        url = reverse(name, kwargs=page_kwargs(name, pattern, world, tokens=mine))
        where = f"{role} {name} {url}"
        try:
            response = page.goto(url)
        except PlaywrightError as error:
            problems.append(f"{where}: {error.message.splitlines()[0]}; if it is no page, say why in NOT_HTML")
            continue
        if response is None or not response.ok:
            problems.append(f"{where}: answered {response.status if response else 'nothing'}, not a page")
        elif not response.header_value("content-type").startswith("text/html"):
            problems.append(f"{where}: not HTML; if that is right, say why in NOT_HTML")
        else:
            problems += _violations(page, axe, where)
    return problems


# Up to about four minutes on a busy two-core machine: above the suite's five-minute default
# only under heavy load, which this guards against failing.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("roles", RUNS)
def test_every_page_a_role_may_open_has_no_axe_violations(
    roles: tuple[str, ...],
    world: dict,
    personas: dict,
    open_page: Callable[..., Page],
    sign_in: Callable[..., None],
    capsys: Any,
) -> None:
    tokens = make_personal(world, personas)
    problems: list[str] = []
    for role in roles:
        # One browser context per role, signed in once.
        page = open_page()
        if role != "anonymous":
            sign_in(page, personas[role].email)
        started = time.monotonic()
        problems += _visit_every_page(page, role, world, tokens)
        with capsys.disabled():
            print(f"\naxe: {role} {len(pages_for(role))} pages in {time.monotonic() - started:.1f} s")
    if problems:
        pytest.fail(f"{len(problems)} accessibility problems:\n" + "\n".join(problems), pytrace=False)


def _brand_new_page(request):
    return HttpResponse("<!doctype html><title>New</title><main><h1>New</h1></main>")


@pytest.mark.usefixtures("db")
def test_a_page_added_to_the_urlconf_is_visited_for_every_role_the_matrix_lets_in(settings, monkeypatch) -> None:
    urls = types.ModuleType("tests.e2e.urls_with_a_new_page")
    urls.urlpatterns = [*get_resolver().url_patterns, path("brand-new/", _brand_new_page, name="brand_new")]
    monkeypatch.setitem(sys.modules, urls.__name__, urls)
    settings.ROOT_URLCONF = urls.__name__
    monkeypatch.setitem(matrix.PAGES, "brand_new", (matrix.CASE_WORK, matrix.CASE_WORK_NOT_TAKEN))

    visited_by = {role for role in ROLES if "brand_new" in dict(pages_for(role))}

    assert visited_by == {"staff", "quality_manager"}


def test_every_skipped_route_still_exists() -> None:
    assert sorted(NOT_HTML.keys() - dict(page_patterns()).keys()) == [], "drop these from NOT_HTML"


def _focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_a_refused_staff_form_puts_focus_on_its_error_summary(
    page: Page, staff: Any, sign_in: Callable[..., None]
) -> None:
    sign_in(page, staff.email)
    page.goto(reverse("customers:customer_create"))
    with page.expect_navigation():
        page.get_by_role("button", name="Create customer").click()

    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Name")
    assert _violations(page, Axe(), "refused customer form") == []
    summary.get_by_role("link").first.click()
    assert _focused_id(page) == "id_name"


def test_a_refused_public_complaint_puts_focus_on_its_error_summary(page: Page) -> None:
    page.goto(reverse("complaints:public_new"))
    with page.expect_navigation():
        page.get_by_role("button", name="Send complaint").click()

    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    assert _focused_id(page) == "error-summary"
    assert _violations(page, Axe(), "refused complaint form") == []
    first_link = summary.get_by_role("link").first
    target = first_link.get_attribute("href")
    first_link.click()
    assert f"#{_focused_id(page)}" == target


def test_a_refused_survey_answer_puts_focus_on_its_error_summary(page: Page) -> None:
    from tests.surveys.test_responses import make_invitation, make_wave

    invitation = make_invitation(make_wave())
    page.goto(reverse("surveys_public:answer", args=[invitation.token]))
    with page.expect_navigation():
        page.get_by_role("button", name="Send my answers").click()

    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.tagName") == "INPUT"
