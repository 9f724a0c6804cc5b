"""A public form whose rate limit answers keeps what the visitor typed (#24), in a real browser:
two real complaints were lost to a bare "too many requests" page."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from apps.complaints.models import Complaint
from apps.feedback.models import Feedback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _send(page: Page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def _fill_complaint(page: Page, what: str) -> None:
    page.get_by_label("Your name").fill("Clara Customer")
    page.get_by_label("Your e-mail").fill("clara@example.org")
    page.get_by_label("What happened?").fill(what)


def test_complaint_sent_past_the_limit_comes_back_filled_in(page: Page, settings) -> None:
    settings.COMPLAINT_PUBLIC_RATE_LIMIT = 1
    page.goto("/complaints/new/")
    _fill_complaint(page, "The pump arrived cracked.")
    _send(page, "Send complaint")
    expect(page).to_have_url(re.compile(r"/complaints/new/done/$"))

    page.goto("/complaints/new/")
    _fill_complaint(page, "The replacement pump leaks at the flange.")
    page.get_by_label("Attachments").set_input_files(
        files=[{"name": "photo.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}]
    )
    _send(page, "Send complaint")

    summary = page.get_by_test_id("error-summary")
    expect(summary).to_contain_text("You have sent several submissions in a short time.")
    expect(summary).to_contain_text("please attach your files again")
    expect(page.get_by_label("What happened?")).to_have_value("The replacement pump leaks at the flange.")
    expect(page.get_by_label("Your name")).to_have_value("Clara Customer")
    assert Complaint.objects.count() == 1


def test_feedback_refused_for_a_missing_field_does_not_use_up_the_limit(
    open_page: Callable[..., Page], settings
) -> None:
    settings.FEEDBACK_PUBLIC_RATE_LIMIT = 1
    page = open_page()
    page.goto("/feedback/")
    _send(page, "Send feedback")  # nothing typed: refused for the missing text
    expect(page.get_by_test_id("error-summary")).to_be_visible()

    page.get_by_label("Your feedback").fill("Quick delivery, friendly driver.")
    _send(page, "Send feedback")
    expect(page).to_have_url(re.compile(r"/feedback/thanks/$"))

    page.goto("/feedback/")
    page.get_by_label("Your feedback").fill("And the invoice was right.")
    _send(page, "Send feedback")
    expect(page.get_by_test_id("error-summary")).to_contain_text("Nothing was recorded this time")
    expect(page.get_by_label("Your feedback")).to_have_value("And the invoice was right.")
    assert Feedback.objects.count() == 1
