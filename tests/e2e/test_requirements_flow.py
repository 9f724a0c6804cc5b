"""A customer requirement from draft to a second version, in a real browser (ISO 9001 8.2.2 to 8.2.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apps.customers import services as customers
from apps.requirements.models import CustomerRequirement

# Transactional: the live server's own connection sees only committed rows.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme(quality_manager: Any):
    """An existing customer with a contact, made through the customers services."""
    customer = customers.customer_create(actor=quality_manager, name="Acme Components AG")
    customers.contact_create(
        customer_id=customer.pk, actor=quality_manager, name="Petra Buyer", email="petra.buyer@acme.example"
    )
    return customer


def _click_and_wait(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_staff_records_a_requirement_the_manager_accepts_then_a_change_makes_version_two(
    open_page: Callable[..., Page],
    sign_in: Callable[..., None],
    staff: Any,
    quality_manager: Any,
    acme: Any,
) -> None:
    # Staff records the requirement for the existing customer and submits it.
    writer = open_page()
    sign_in(writer, staff.email)
    writer.get_by_test_id("main-nav").get_by_role("link", name="Requirements", exact=True).click()
    writer.get_by_role("link", name="New requirement").click()
    writer.locator("select[name=customer]").select_option(label="Acme Components AG")
    writer.locator("input[name=title]").fill("Certificate of conformity with every batch")
    writer.locator("select[name=type]").select_option("stated")
    writer.locator("textarea[name=description]").fill("Each batch is delivered with a certificate on paper.")
    writer.locator("textarea[name=acceptance_criteria]").fill("Certificate in every delivery.")
    writer.locator("select[name=source]").select_option("order")
    writer.locator("input[name=source_reference]").fill("PO 4500123987")
    writer.locator("select[name=priority]").select_option("high")
    _click_and_wait(writer, "Record requirement")

    expect(writer.get_by_test_id("status")).to_have_text("Draft")
    requirement_url = writer.url
    _click_and_wait(writer, "Submit for review")
    expect(writer.get_by_test_id("status")).to_have_text("In review")
    expect(writer.get_by_role("link", name="Review", exact=True)).to_have_count(0)

    # The quality manager finds it in the queue, accepts it, then requests a change.
    manager = open_page()
    sign_in(manager, quality_manager.email)
    manager.get_by_test_id("main-nav").get_by_role("link", name="Awaiting review").click()
    manager.get_by_role("link", name="Certificate of conformity with every batch").click()
    manager.get_by_role("link", name="Review", exact=True).click()
    manager.get_by_label("Decision").select_option("accept")
    manager.get_by_label("The organisation can meet this requirement").check()
    manager.locator("textarea[name=conditions]").fill("Agreed with Petra Buyer: scanned copies are fine.")
    _click_and_wait(manager, "Record review")
    expect(manager.get_by_test_id("status")).to_have_text("Accepted")
    expect(manager.get_by_test_id("reviews")).to_contain_text("Quinn Manager")

    manager.get_by_role("link", name="Request change").click()
    manager.locator("textarea[name=reason]").fill("The customer now wants the certificate as a PDF by e-mail.")
    manager.locator("textarea[name=informed]").fill("Petra Buyer (Acme purchasing)")
    _click_and_wait(manager, "Request change")
    expect(manager.get_by_test_id("status")).to_have_text("Change requested")

    # Staff edits it: the reviewed version 1 stays, the edit becomes version 2.
    writer.goto(requirement_url)
    writer.get_by_role("link", name="Edit", exact=True).click()
    expect(writer.get_by_text("writes version 2")).to_be_visible()
    writer.locator("textarea[name=description]").fill("Each batch is delivered with a certificate as a PDF by e-mail.")
    writer.locator("textarea[name=reason]").fill("Change requested by the customer")
    _click_and_wait(writer, "Save changes")

    expect(writer.get_by_test_id("version")).to_have_text("Version 2")
    versions = writer.get_by_test_id("versions").locator("tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("Version 1")
    expect(versions.nth(1)).to_contain_text("Version 2")
    expect(versions.nth(1)).to_contain_text("The customer now wants the certificate as a PDF by e-mail.")
    diff = writer.get_by_test_id("version-diff")
    expect(diff.locator("del")).to_contain_text(["on paper"])
    expect(diff.locator("ins")).to_contain_text(["as a PDF by e-mail"])
    history = writer.locator("#history-heading + div table")
    expect(history).to_contain_text("Change requested by the customer")

    versions.nth(0).get_by_role("link", name="Version 1").click()
    expect(writer.get_by_text("An earlier version, kept as it was.")).to_be_visible()
    expect(writer.get_by_text("Each batch is delivered with a certificate on paper.")).to_be_visible()

    requirement = CustomerRequirement.objects.get()
    assert (requirement.status, requirement.version, requirement.customer_id) == (
        CustomerRequirement.Status.CHANGE_REQUESTED,
        2,
        acme.pk,
    )
