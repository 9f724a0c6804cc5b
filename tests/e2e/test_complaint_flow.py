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
    # The response goes out only with the decision recorded (ISO 10002): refused on the field.
    staff.locator("#id_to").select_option(label="Response sent")
    _submit(staff, "Change status")
    resolution = staff.locator("#id_transition_resolution")
    expect(resolution).to_have_attribute("aria-invalid", "true")
    expect(staff.locator("#id_transition_resolution_error")).to_contain_text("Record the resolution")
    resolution.fill("A new pump is on its way; keep the cracked one.")
    _move_to(staff, "Response sent")

    # The response e-mail states the decision and links to the tracking page, which states it too
    # and lists the file the customer sent.
    response_email = OutboundEmail.objects.filter(
        idempotency_key__startswith="complaint-status:", concerns_id=complaint.pk
    ).latest("pk")
    assert "A new pump is on its way; keep the cracked one." in response_email.body
    customer.goto(re.search(r"https?://\S+/complaints/track/\S+/", response_email.body).group(0))
    expect(customer.get_by_test_id("decision")).to_contain_text("A new pump is on its way")
    expect(customer.get_by_test_id("attachments")).to_contain_text("crack.png")
    with customer.expect_download() as download:
        customer.get_by_role("link", name="crack.png").click()
    assert download.value.suggested_filename == "crack.png"

    _move_to(staff, "Closed")

    customer.reload()
    expect(customer.get_by_test_id("message")).to_contain_text("We are sending a new pump today.")
    customer.get_by_label("4").check()
    _submit(customer, "Send rating")
    expect(customer.get_by_test_id("rated")).to_contain_text("4 out of 5")
