"""A customer answers a survey in Chromium with the keyboard only (Tab, arrow keys, Space, Enter)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from apps.surveys.models import QuestionKind, Response
from tests.surveys.test_responses import make_invitation, make_wave, questions_by_kind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _focused(page: Page) -> dict:
    return page.evaluate(
        "() => ({name: document.activeElement.name || '', value: document.activeElement.value || '',"
        " tag: document.activeElement.tagName, type: document.activeElement.type || ''})"
    )


def _tab_until(page: Page, wanted: Callable[[dict], bool], *, limit: int = 20) -> None:
    """Press Tab until the focused element is the one wanted (the layout's links come first)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted(_focused(page)):
            return
    raise AssertionError("Tab never reached the element")


def _press(page: Page, key: str, times: int) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def test_customer_answers_with_the_keyboard_only(open_page: Callable[..., Page]) -> None:
    invitation = make_invitation(make_wave())
    questions = {kind: f"q{q.pk}" for kind, q in questions_by_kind(invitation.campaign).items()}
    page = open_page({"width": 390, "height": 844})  # a phone
    page.goto(f"/s/{invitation.token}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("How are we doing?")
    # Every scale value is a target big enough to tap (44 px, WCAG 2.5.5), even "0" and "1".
    for label in page.locator("label.survey-scale-option").all()[:3]:
        box = label.bounding_box()
        assert box is not None
        assert box["width"] >= 44
        assert box["height"] >= 44

    # Sending without the required answers shows the errors next to the questions.
    _tab_until(page, lambda element: element["tag"] == "BUTTON")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("error-summary")).to_contain_text("Please answer this question.")

    _tab_until(page, lambda element: element["name"] == questions[QuestionKind.NPS])
    assert _focused(page)["value"] == "0"  # the group's first option; Tab does not choose it
    _press(page, "ArrowRight", 9)  # arrows move through the radio group and choose
    assert _focused(page) == {"name": questions[QuestionKind.NPS], "value": "9", "tag": "INPUT", "type": "radio"}

    page.keyboard.press("Tab")  # one Tab stop per radio group
    assert _focused(page)["name"] == questions[QuestionKind.CSAT]
    _press(page, "ArrowRight", 3)  # 1 -> 4

    page.keyboard.press("Tab")
    assert _focused(page)["name"] == questions[QuestionKind.CES]
    page.keyboard.press("Space")  # chooses the focused "1"
    _press(page, "ArrowRight", 5)  # -> 6

    page.keyboard.press("Tab")
    assert _focused(page)["name"] == questions[QuestionKind.SINGLE_CHOICE]
    page.keyboard.press("Space")  # Phone
    page.keyboard.press("ArrowDown")  # E-mail

    page.keyboard.press("Tab")  # checkboxes: one Tab stop each
    assert _focused(page)["value"] == "Price"
    page.keyboard.press("Tab")
    assert _focused(page)["value"] == "Speed"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == questions[QuestionKind.TEXT]
    page.keyboard.type("Quick and friendly.")

    page.keyboard.press("Tab")  # the honeypot is out of the tab order: straight to the button
    assert _focused(page)["tag"] == "BUTTON"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.get_by_test_id("survey-thanks")).to_be_visible()
    expect(page.get_by_text("Thank you for your answers.")).to_be_visible()
    response = Response.objects.get(invitation=invitation)
    assert {a.kind: a.score for a in response.answers.all() if a.score is not None} == {
        QuestionKind.NPS: 9,
        QuestionKind.CSAT: 4,
        QuestionKind.CES: 6,
    }
    assert {a.kind: a.choices for a in response.answers.all() if a.choices} == {
        QuestionKind.SINGLE_CHOICE: ["E-mail"],
        QuestionKind.MULTIPLE_CHOICE: ["Speed"],
    }

    page.goto(f"/s/{invitation.token}/")  # the link is used up: the neutral page
    expect(page.get_by_test_id("survey-unavailable")).to_be_visible()

    # Another browser holding the link learns nothing: its thank-you page is the neutral one.
    elsewhere = open_page()
    elsewhere.goto(f"/s/{invitation.token}/thanks/")
    expect(elsewhere.get_by_test_id("survey-unavailable")).to_be_visible()


def test_customer_opts_out_with_the_keyboard(open_page: Callable[..., Page]) -> None:
    from apps.surveys.models import SurveyOptOut

    invitation = make_invitation(make_wave())
    page = open_page({"width": 390, "height": 844})
    page.goto(f"/s/{invitation.token}/opt-out/")
    focused = []
    _tab_until(page, lambda element: focused.append(element) or element["tag"] == "BUTTON")
    assert "website" not in [element["name"] for element in focused]  # the honeypot is out of the tab order
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("opt-out-done")).to_be_visible()
    assert SurveyOptOut.objects.get().contact_id == invitation.contact_id
