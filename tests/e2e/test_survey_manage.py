"""A quality manager writes a questionnaire, runs a campaign and watches its counts move, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from apps.accounts.roles import Role
from apps.surveys import views
from apps.surveys.models import Campaign, Invitation, SurveyTemplate, Wave
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.factories import UserFactory
from tests.surveys.factories import CampaignFactory, TemplateVersionFactory

# Transactional: the live server's own connection sees only committed rows.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submit(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_manager_writes_a_questionnaire_without_javascript_help_and_schedules_a_campaign(
    page: Page, sign_in: Callable[..., None]
) -> None:
    manager = UserFactory(email="qm@example.com", full_name="Quinn Manager", role=Role.QUALITY_MANAGER)
    CustomerFactory(segment="Enterprise")
    sign_in(page, manager.email)

    page.get_by_test_id("main-nav").get_by_role("link", name="Surveys", exact=True).click()
    page.get_by_role("link", name="Questionnaires").click()
    page.get_by_role("link", name="New questionnaire").click()
    page.get_by_label("Name").fill("Onboarding check")
    page.get_by_label("Title shown to customers").fill("How was your start with us?")
    first = page.get_by_role("group", name="Question 1")
    first.get_by_label("Type").select_option("nps")
    first.get_by_label("Question", exact=True).fill("How likely are you to recommend us?")
    third = page.get_by_role("group", name="Question 3")
    third.get_by_label("Type").select_option("single")
    third.get_by_label("Question", exact=True).fill("Which channel do you prefer?")
    third.get_by_label("Choices (one per line)").fill("Phone")
    _submit(page, "Add more rows")
    # The rows come back as typed, with three more blank ones after them.
    expect(page.get_by_test_id("question-row")).to_have_count(5)
    expect(page.get_by_role("group", name="Question 2").get_by_label("Question", exact=True)).to_have_value(
        "Which channel do you prefer?"
    )
    _submit(page, "Save questionnaire")
    expect(page.get_by_test_id("question-errors")).to_contain_text(
        "Question 2: a choice question needs at least 2 choices."
    )
    page.get_by_role("group", name="Question 2").get_by_label("Choices (one per line)").fill("Phone\nE-mail")
    _submit(page, "Save questionnaire")
    expect(page.get_by_role("heading", name="Onboarding check")).to_be_visible()
    expect(page.get_by_test_id("version")).to_contain_text("Which channel do you prefer?")
    assert SurveyTemplate.objects.get().versions.get().questions.count() == 2

    page.get_by_role("link", name="New campaign with it").click()
    page.get_by_label(re.compile(r"^Name")).fill("Onboarding 2030")
    page.get_by_role("group", name="Audience", exact=True).get_by_label("Customers in segments").check()
    page.get_by_label("Enterprise").check()
    page.get_by_label("Next send").fill("2030-03-04T10:00")
    _submit(page, "Create draft")
    expect(page.get_by_test_id("status")).to_have_text("Draft")
    expect(page.get_by_test_id("next-send")).to_contain_text("2030-03-04 10:00")
    _submit(page, "Schedule")
    expect(page.get_by_test_id("status")).to_have_text("Scheduled")
    assert Campaign.objects.get().status == Campaign.Status.SCHEDULED


def test_campaign_page_counts_follow_the_job_while_it_runs(
    page: Page, sign_in: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live server runs in this process: a shorter poll keeps the test quick.
    monkeypatch.setattr(views, "POLL_SECONDS", 1)
    auditor = UserFactory(email="audit@example.com", full_name="Ada Auditor", role=Role.AUDITOR)
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)
    now = timezone.now()
    wave = Wave.objects.create(campaign=campaign, number=1, scheduled_for=now, closes_at=now + timedelta(days=9))
    customer = CustomerFactory()
    contacts = [ContactFactory(customer=customer) for _ in range(4)]
    sign_in(page, auditor.email)

    page.goto(f"/surveys/campaigns/{campaign.pk}/")
    progress = page.get_by_test_id("progress")
    expect(progress.locator("[data-progress-key=sent]")).to_have_text("0")
    expect(progress.locator("[data-progress-key=response_rate]")).to_have_text("—")
    # Read-only for auditors: no buttons.
    expect(page.get_by_test_id("campaign-actions")).to_have_count(0)

    for n, contact in enumerate(contacts):
        Invitation.objects.create(
            wave=wave,
            campaign=campaign,
            contact=contact,
            customer=customer,
            status=Invitation.Status.SENT,
            responded_at=now if n == 0 else None,
        )
    expect(progress.locator("[data-progress-key=sent]")).to_have_text("4")
    expect(progress.locator("[data-progress-key=responded]")).to_have_text("1")
    expect(progress.locator("[data-progress-key=response_rate]")).to_have_text(re.compile(r"^25\.0 %$"))


@pytest.fixture
def page_without_javascript(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, locale="en-US", java_script_enabled=False)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_manager_chooses_contacts_by_pasting_addresses_without_javascript(
    page_without_javascript: Page, sign_in: Callable[..., None]
) -> None:
    page = page_without_javascript
    manager = UserFactory(email="qm@example.com", full_name="Quinn Manager", role=Role.QUALITY_MANAGER)
    customer = CustomerFactory(name="Acme Logistics")
    ContactFactory(customer=customer, name="Paula Pasted", email="paula@example.com", survey_consent=True)
    ContactFactory(customer=customer, name="Nora Notchosen", email="nora@example.com", survey_consent=True)
    version = TemplateVersionFactory()
    sign_in(page, manager.email)

    page.goto(f"/surveys/campaigns/new/?template={version.template_id}")
    # Nobody's name is offered: the addresses are typed or pasted.
    expect(page.get_by_text("Nora Notchosen")).to_have_count(0)
    page.get_by_label(re.compile(r"^Name")).fill("Key accounts")
    page.get_by_role("group", name="Audience", exact=True).get_by_label("Chosen contacts (list or CSV upload)").check()
    page.get_by_label("Add contacts by e-mail").fill("paula@example.com\nnobody@example.com")
    _submit(page, "Create draft")
    # Exact: the error summary above the form also names the field before the same message.
    expect(page.get_by_text("nobody@example.com: No contact has this e-mail address.", exact=True)).to_be_visible()
    page.get_by_label("Add contacts by e-mail").fill("paula@example.com")
    _submit(page, "Create draft")
    expect(page.get_by_test_id("audience")).to_have_text("1 chosen contact")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Paula Pasted (Acme Logistics)")).to_be_checked()
    expect(page.get_by_text("Nora Notchosen")).to_have_count(0)
    page.get_by_label("Add contacts by e-mail").fill("nora@example.com")
    page.get_by_label("Paula Pasted (Acme Logistics)").uncheck()
    _submit(page, "Save campaign")
    expect(page.get_by_test_id("audience")).to_have_text("1 chosen contact")
    campaign = Campaign.objects.get()
    assert [contact.name for contact in campaign.audience_contacts.all()] == ["Nora Notchosen"]
