"""A public complaint tied to the customer it came from, in a real browser (#24): the portal
proposes the contact with the same e-mail, staff confirm, the customer page lists it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from apps.complaints.models import Complaint
from tests.customers.factories import ContactFactory, CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}


def _axe_violations(page: Page, selector: str) -> list[str]:
    """axe-core's violations inside `selector` (the panel this feature adds, not the whole page)."""
    results = Axe().run(page, context=selector, options=AXE_OPTIONS).response
    return [
        f"{violation['id']} at {', '.join(map(str, node['target']))}: {violation['help']}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


def _submit(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_staff_confirm_the_proposed_customer_and_the_customer_page_shows_the_complaint(
    open_page: Callable[..., Page], sign_in: Callable[..., None], quality_manager: Any
) -> None:
    customer = CustomerFactory(name="Nordwind Logistik GmbH", segment="Enterprise")
    ContactFactory(customer=customer, name="Katrin Vogel", email="k.vogel@nordwind.example")

    public = open_page({"width": 390, "height": 844})
    public.goto("/complaints/new/")
    public.get_by_label("Your name").fill("Katrin Vogel")
    # Typed differently from the contact record: the blind index ignores case and spaces.
    public.get_by_label("Your e-mail").fill("K.Vogel@NORDWIND.example")
    public.get_by_label("What happened?").fill("Two pallets were missing from the delivery.")
    _submit(public, "Send complaint")
    reference = public.get_by_test_id("reference").inner_text()
    complaint = Complaint.objects.get(reference=reference)

    staff = open_page()
    sign_in(staff, quality_manager.email)
    staff.goto(f"/customers/{customer.pk}/")
    expect(staff.get_by_test_id("complaints")).to_contain_text("No complaints from this customer.")

    staff.goto(f"/complaints/{complaint.pk}/")
    proposal = staff.get_by_test_id("proposed-match")
    expect(proposal).to_contain_text("Proposed match: Nordwind Logistik GmbH / Katrin Vogel")
    staff.get_by_text("Choose another customer or contact").click()
    expect(staff.get_by_label("Customer", exact=True)).to_be_visible()
    assert _axe_violations(staff, "[data-testid=customer-link]") == []
    with staff.expect_navigation():
        proposal.get_by_role("button", name="Confirm").click()
    expect(staff.get_by_test_id("linked-customer")).to_contain_text("Linked to Nordwind Logistik GmbH / Katrin Vogel")
    expect(staff.get_by_test_id("proposed-match")).to_have_count(0)

    staff.get_by_test_id("linked-customer").get_by_role("link", name="Nordwind Logistik GmbH").click()
    expect(staff).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    complaints = staff.get_by_test_id("complaints")
    expect(complaints.get_by_role("link", name=reference)).to_be_visible()
    expect(complaints).not_to_contain_text("No complaints from this customer.")
