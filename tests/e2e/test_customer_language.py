"""The customer's language in a real browser (#24): a link we e-mailed opens in the language
of the contact or complaint it was sent for, whatever the computer's; pages found without a
link follow the browser, and the German sign-in page is German throughout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.complaints.factories import make_complaint
from tests.customers.factories import ContactFactory
from tests.e2e.conftest import TIMEOUT_MS
from tests.surveys.test_responses import make_invitation, make_wave

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def german_browser_page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, locale="de-DE")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_survey_link_of_a_german_contact_opens_in_german_on_an_english_computer(
    open_page: Callable[..., Page],
) -> None:
    invitation = make_invitation(make_wave(), contact=ContactFactory(preferred_language="de"))
    page = open_page()  # an en-US browser
    page.goto(f"/s/{invitation.token}/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("button", name="Antworten senden")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Antworten senden").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("Bitte prüfen Sie Ihre Antworten")


def test_tracking_link_of_a_german_complaint_opens_in_german_on_an_english_computer(
    open_page: Callable[..., Page],
) -> None:
    complaint = make_complaint(language="de")
    page = open_page()
    page.goto(f"/complaints/track/{complaint.tracking_token}/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ihre Reklamation {complaint.reference}")


def test_german_sign_in_page_asks_for_the_e_mail_address_in_german(german_browser_page: Page) -> None:
    page = german_browser_page
    page.goto("/accounts/login/")
    expect(page.get_by_label("E-Mail-Adresse")).to_be_visible()
    expect(page.get_by_label("Passwort")).to_be_visible()
    expect(page.get_by_text("E-mail address")).to_have_count(0)
