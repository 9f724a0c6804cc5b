"""A complaint from the public form to the customer's rating, in a real browser (ISO 10002)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apps.complaints.models import Complaint
from apps.core.models import OutboundEmail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _submit(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def _move_to(page: Page, status_label: str) -> None:
    page.locator("#id_to").select_option(label=status_label)
    _submit(page, "Change status")
    expect(page.get_by_test_id("status")).to_have_text(status_label)


def test_customer_files_tracks_and_rates_while_staff_handles_it(
    open_page: Callable[..., Page], sign_in: Callable[..., None], quality_manager: Any
) -> None:
    customer = open_page({"width": 390, "height": 844})  # a phone
    customer.goto("/complaints/new/")
    customer.get_by_label("Your name").fill("Clara Customer")
    customer.get_by_label("Your e-mail").fill("clara@example.org")
    customer.get_by_label("What happened?").fill("The pump arrived cracked.")
    customer.locator("input[name=attachments]").set_input_files(
        files=[{"name": "crack.png", "mimeType": "image/png", "buffer": PNG}]
    )
    _submit(customer, "Send complaint")
    reference = customer.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"CMP-\d{4}-\d{5}", reference)

    complaint = Complaint.objects.get(reference=reference)
    body = OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}").body
    link = re.search(r"https?://\S+/complaints/track/\S+/", body).group(0)
    customer.goto(link)
    expect(customer.get_by_test_id("status")).to_have_text("Received")

    staff = open_page()
    sign_in(staff, quality_manager.email)
    staff.goto(f"/complaints/{complaint.pk}/")
    expect(staff.get_by_test_id("attachments")).to_contain_text("crack.png")
    _move_to(staff, "Acknowledged")
    _move_to(staff, "Under investigation")
    staff.locator("#id_body").fill("We are sending a new pump today.")
    staff.locator("#id_visibility").select_option("customer")
    _submit(staff, "Add message")
    _move_to(staff, "Response sent")
    _move_to(staff, "Closed")

    customer.reload()
    expect(customer.get_by_test_id("message")).to_contain_text("We are sending a new pump today.")
    customer.get_by_label("4").check()
    _submit(customer, "Send rating")
    expect(customer.get_by_test_id("rated")).to_contain_text("4 out of 5")
