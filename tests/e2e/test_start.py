"""The public start page in a real browser: an anonymous visitor finds the complaint form (#24)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

# Transactional: the live server's own connection sees only committed rows.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_anonymous_visitor_goes_from_the_start_page_to_the_complaint_form(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("link", name="Make a complaint").click()
    expect(page).to_have_url(re.compile(r"/complaints/new/$"))
    expect(page.get_by_test_id("complaint-form")).to_be_visible()
