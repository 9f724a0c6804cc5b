"""What a quality manager saw in #24, in a real browser: a triage board one page long instead of
16,000 pixels, history that names people instead of showing their ids, and an objective whose
only figure is provisional."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.accounts.roles import Role
from apps.feedback.selectors import TRIAGE_PAGE_SIZE
from apps.objectives import services
from tests.complaints.factories import make_complaint
from tests.factories import UserFactory
from tests.feedback.factories import FeedbackFactory
from tests.objectives.factories import make_objective

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_triage_board_pages_its_columns(page: Page, sign_in: Callable[..., None]) -> None:
    manager = UserFactory(email="qm@example.com", full_name="Quinn Manager", role=Role.QUALITY_MANAGER)
    backlog = [FeedbackFactory(actor=manager) for _ in range(TRIAGE_PAGE_SIZE * 3)]
    sign_in(page, manager.email)

    page.goto("/feedback/triage/")
    new = page.get_by_role("region", name="New")
    expect(new.get_by_test_id("card")).to_have_count(TRIAGE_PAGE_SIZE)
    expect(new.get_by_test_id("column-total")).to_have_text(str(len(backlog)))
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 8000, f"the board is {height} px long"

    with page.expect_navigation():
        new.get_by_role("link", name="Next").click()
    expect(new.get_by_test_id("card")).to_have_count(TRIAGE_PAGE_SIZE)
    expect(new.get_by_role("link", name=backlog[TRIAGE_PAGE_SIZE].reference)).to_be_visible()
    expect(new.get_by_role("link", name="Previous")).to_be_visible()


def test_history_names_the_assignee(page: Page, sign_in: Callable[..., None]) -> None:
    manager = UserFactory(email="qm@example.com", full_name="Quinn Manager", role=Role.QUALITY_MANAGER)
    handler = UserFactory(email="sasha@example.com", full_name="Sasha Staff", role=Role.STAFF)
    complaint = make_complaint(assignee=handler, qm=manager)
    sign_in(page, manager.email)

    page.goto(f"/complaints/{complaint.pk}/")
    history = page.get_by_role("region", name="History")

    expect(history).to_contain_text("assignee: — → Sasha Staff")
    expect(history).not_to_contain_text(f"assignee: — → {handler.pk}")


def test_a_running_period_figure_is_not_called_no_data(page: Page, sign_in: Callable[..., None]) -> None:
    manager = UserFactory(email="qm@example.com", full_name="Quinn Manager", role=Role.QUALITY_MANAGER)
    today = timezone.localdate()
    objective = make_objective(
        actor=manager, baseline_date=today.replace(day=1), target_date=date(today.year + 1, today.month, 1)
    )
    services.measurement_record(objective_id=objective.pk, period_start=today, value=Decimal("6.9"), actor=manager)
    sign_in(page, manager.email)

    page.goto("/")
    row = page.get_by_test_id("objectives").get_by_role("row", name=objective.title)
    expect(row).to_contain_text("Not judged yet")
    expect(row).to_contain_text("6.9 days (provisional)")
    expect(row).not_to_contain_text("No data")

    page.goto("/objectives/new/")
    channel = page.get_by_label("Channel filter")
    expect(channel.locator("optgroup[label=Complaints] option", has_text="Web form")).to_have_count(1)
    expect(channel.locator("optgroup[label=Feedback] option", has_text="Web form")).to_have_count(1)
    expect(channel.locator("option", has_text="Web form")).to_have_count(2)
