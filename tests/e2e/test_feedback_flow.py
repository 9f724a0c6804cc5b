"""Feedback from the public form through triage into a complaint, in a real browser (ISO 9001 9.1.2)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from apps.complaints.models import Complaint
from apps.feedback import services
from apps.feedback.models import Feedback
from tests.feedback.factories import CategoryFactory, ProductFactory

# Transactional: the live server's own connection sees only committed rows.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Markup that would make an element, and a script that would leave a trace, if either reached the page unescaped.
PAYLOAD = "<script>window.__pwned=1</script><b>bold</b> & 'quotes'"


def _submit(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def _give_feedback(page: Page, *, text: str, name: str = "", email: str = "", consent: bool = False) -> None:
    page.get_by_label("Your feedback").fill(text)
    page.get_by_label("Your name (optional)").fill(name)
    page.get_by_label("Your e-mail (optional)").fill(email)
    page.get_by_label("You may contact me about this feedback").set_checked(consent)
    _submit(page, "Send feedback")


def _card(page: Page, column: str, reference: str) -> Locator:
    return page.get_by_role("region", name=column).get_by_test_id("card").filter(has_text=reference)


def _open_triage_board(page: Page) -> None:
    page.get_by_test_id("main-nav").get_by_role("link", name="Triage", exact=True).click()
    expect(page.get_by_role("heading", name="Feedback triage")).to_be_visible()


def test_public_feedback_gets_the_reference_of_its_stored_row_shown_once(page: Page) -> None:
    product = ProductFactory(code="PUMP-200", name="Pump 200")

    page.goto(f"/feedback/?product={product.code}")
    expect(page.get_by_label("Product or service (optional)")).to_have_value("PUMP-200")
    page.get_by_label("4", exact=True).check()
    _give_feedback(
        page,
        text="Installation was quick.\nThe manual could use more pictures.",
        name="Clara Customer",
        email="clara@example.org",
        consent=True,
    )

    expect(page).to_have_url(re.compile(r"/feedback/thanks/$"))
    reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"FB-\d{4}-\d{5}", reference)
    feedback = Feedback.objects.get()
    assert feedback.reference == reference
    # Browsers send a textarea's line breaks as CRLF; what matters is that both lines arrive.
    assert feedback.text.splitlines() == ["Installation was quick.", "The manual could use more pictures."]
    assert (feedback.rating, feedback.product, feedback.channel) == (4, product, Feedback.Channel.WEB_FORM)
    assert (feedback.submitter_name, feedback.submitter_email) == ("Clara Customer", "clara@example.org")
    assert feedback.consent_to_contact
    assert feedback.consent_at is not None
    assert feedback.status == Feedback.Status.NEW

    # The session hands the reference out once: reloading (or sharing the URL) does not show it again.
    page.reload()
    expect(page.get_by_role("heading", name="Thank you for your feedback")).to_be_visible()
    expect(page.get_by_test_id("reference")).to_have_count(0)


@pytest.mark.parametrize(
    ("text", "consent", "field", "error"),
    [
        ("", False, "Your feedback", "This field is required."),
        ("   ", False, "Your feedback", "This field is required."),
        ("Please call me back.", True, "Your e-mail (optional)", "Give an e-mail address so that we can contact you."),
    ],
    ids=["empty-text", "blank-text", "consent-without-email"],
)
def test_invalid_public_feedback_shows_the_error_at_its_field_and_stores_nothing(
    page: Page, text: str, consent: bool, field: str, error: str
) -> None:
    page.goto("/feedback/")
    _give_feedback(page, text=text, name="Clara Customer", consent=consent)

    expect(page).to_have_url(re.compile(r"/feedback/$"))
    widget = page.get_by_label(field)
    expect(widget).to_have_attribute("aria-invalid", "true")
    # The message sits right after the widget, and assistive technology reads it with the field.
    expect(widget.locator("xpath=following-sibling::div[1]")).to_have_text(error)
    expect(widget).to_have_accessible_description(re.compile(re.escape(error)))
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    # What the visitor typed is kept, so they only fix the one field.
    expect(page.get_by_label("Your name (optional)")).to_have_value("Clara Customer")
    assert not Feedback.objects.exists()


def test_manager_triages_feedback_on_the_board_and_converts_it_into_a_linked_complaint(
    open_page: Callable[..., Page], sign_in: Callable[..., None], quality_manager: Any
) -> None:
    CategoryFactory(name="Product quality")
    customer = open_page({"width": 390, "height": 844})  # a phone
    customer.goto("/feedback/")
    customer.get_by_label("3", exact=True).check()
    _give_feedback(
        customer, text="The pump works, but it leaks at the inlet.", name="Lena Leak", email="lena@example.org"
    )
    reference = customer.get_by_test_id("reference").inner_text()
    feedback = Feedback.objects.get(reference=reference)

    manager = open_page()
    sign_in(manager, quality_manager.email)
    _open_triage_board(manager)
    card = _card(manager, "New", reference)
    expect(card).to_contain_text("The pump works, but it leaks at the inlet.")
    # A rating of 3 suggests neutral: the manager overrides it, which proves the choice is what is stored.
    expect(card.get_by_label("Sentiment")).to_have_value("neutral")
    card.get_by_label("Category").select_option(label="Product quality")
    card.get_by_label("Sentiment").select_option(label="Negative")
    card.get_by_label("Owner").select_option(label="Quinn Manager")
    with manager.expect_navigation():
        card.get_by_role("button", name="Triage", exact=True).click()

    expect(manager.get_by_role("status").filter(has_text=f"{reference} triaged.")).to_be_visible()
    expect(_card(manager, "New", reference)).to_have_count(0)
    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.TRIAGED
    assert (feedback.category.name, feedback.sentiment, feedback.owner) == (
        "Product quality",
        "negative",
        quality_manager,
    )
    triaged = _card(manager, "Triaged", reference)
    expect(triaged.get_by_label("Category")).to_have_value(str(feedback.category_id))
    expect(triaged.get_by_label("Sentiment")).to_have_value("negative")

    with manager.expect_navigation():
        triaged.get_by_role("button", name="Convert to complaint", exact=True).click()

    expect(manager.get_by_role("status").filter(has_text=f"{reference} converted into a complaint.")).to_be_visible()
    # Actioned feedback has left the board.
    expect(manager.get_by_test_id("card").filter(has_text=reference)).to_have_count(0)
    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.ACTIONED
    complaint = Complaint.objects.get(pk=feedback.complaint_id)
    assert complaint.channel == "feedback"
    assert complaint.description == "The pump works, but it leaks at the inlet."

    manager.goto(f"/feedback/{feedback.pk}/")
    expect(manager.get_by_test_id("status")).to_have_text("Actioned")
    expect(manager.get_by_role("button", name="Convert to complaint")).to_have_count(0)
    link = manager.get_by_test_id("complaint-link")
    expect(link).to_have_text(complaint.reference)
    expect(link).to_have_attribute("href", f"/complaints/{complaint.pk}/")
    with manager.expect_navigation():
        link.click()
    expect(manager.get_by_role("heading", level=1)).to_have_text(complaint.reference)
    expect(manager.get_by_test_id("description")).to_have_text("The pump works, but it leaks at the inlet.")
    expect(manager.get_by_test_id("facts")).to_contain_text("Lena Leak")


def test_complaint_converted_from_feedback_links_back_to_the_feedback(
    page: Page, sign_in: Callable[..., None], quality_manager: Any
) -> None:
    feedback = services.feedback_submit_public(text="The lid does not close.", rating=1)
    feedback = services.feedback_convert_to_complaint(feedback_id=feedback.pk, actor=quality_manager)

    sign_in(page, quality_manager.email)
    page.goto(f"/complaints/{feedback.complaint_id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(feedback.complaint.reference)
    back = page.get_by_role("link", name=feedback.reference, exact=True)
    expect(back).to_have_attribute("href", f"/feedback/{feedback.pk}/", timeout=2_000)


def test_markup_typed_into_the_public_form_is_shown_as_text_to_staff(
    open_page: Callable[..., Page], sign_in: Callable[..., None], quality_manager: Any
) -> None:
    visitor = open_page()
    visitor.goto("/feedback/")
    _give_feedback(visitor, text=PAYLOAD, name=PAYLOAD)
    reference = visitor.get_by_test_id("reference").inner_text()
    feedback = Feedback.objects.get(reference=reference)
    assert feedback.text == PAYLOAD

    manager = open_page()
    sign_in(manager, quality_manager.email)
    manager.goto(f"/feedback/{feedback.pk}/")
    text = manager.get_by_test_id("text")
    expect(text).to_have_text(PAYLOAD)
    expect(manager.get_by_test_id("submitter")).to_have_text(PAYLOAD)
    # The CSP alone would stop the script, so also check that no <b> (or <script>) element was built.
    expect(text.locator("b, script")).to_have_count(0)
    expect(manager.get_by_test_id("submitter").locator("b, script")).to_have_count(0)
    assert manager.evaluate("typeof window.__pwned") == "undefined"

    _open_triage_board(manager)
    card_text = _card(manager, "New", reference).locator(".card-text")
    expect(card_text).to_have_text(PAYLOAD)
    expect(card_text.locator("b, script")).to_have_count(0)
    assert manager.evaluate("typeof window.__pwned") == "undefined"
