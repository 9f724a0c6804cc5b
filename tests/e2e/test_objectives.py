"""A quality objective from creation to a corrective action, in a real browser (ISO 9001 6.2, 9.1.3, 10.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apps.objectives.models import QualityObjective
from qms_portal.env import BASE_DIR

# Transactional: the live server's own connection sees only committed rows.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Kept after the run as evidence of what the objective page looked like (var/ is git-ignored).
SCREENSHOT = BASE_DIR / "var" / "test-artifacts" / "objective.png"


def _click_and_wait(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_manager_sets_an_objective_the_owner_measures_it_off_track_and_an_action_is_raised(
    open_page: Callable[..., Page], sign_in: Callable[..., None], staff: Any, quality_manager: Any
) -> None:
    manager = open_page()
    sign_in(manager, quality_manager.email)
    manager.get_by_test_id("main-nav").get_by_role("link", name="Objectives", exact=True).click()
    manager.get_by_role("link", name="New objective").click()
    manager.locator("input[name=title]").fill("Cut delivery time from 7 to 5 days")
    manager.locator("textarea[name=plan]").fill("Second dispatch shift.")
    manager.locator("select[name=owner]").select_option(label=staff.display_name)
    manager.get_by_label("Manual (entered measurements)").check()
    manager.locator("input[name=kpi_label]").fill("Average delivery time in days")
    manager.locator("input[name=baseline_value]").fill("7")
    manager.locator("input[name=baseline_date]").fill("2026-01-01")
    manager.locator("input[name=target_value]").fill("5")
    manager.locator("input[name=target_date]").fill("2026-07-01")
    manager.get_by_label("Lower is better").check()
    manager.locator("input[name=unit]").fill("days")
    _click_and_wait(manager, "Create objective")
    expect(manager.get_by_test_id("status")).to_have_text("Draft")
    _click_and_wait(manager, "Activate")
    expect(manager.get_by_test_id("status")).to_have_text("Active")
    expect(manager.get_by_test_id("rule")).to_contain_text("exactly on the path counts as on track")
    objective_url = manager.url

    owner = open_page()
    sign_in(owner, staff.email)
    owner.goto(objective_url)
    owner.get_by_role("link", name="Record a measurement").click()
    owner.locator("input[name=period_start]").fill("2026-02-01")
    owner.locator("input[name=value]").fill("7.4")
    _click_and_wait(owner, "Record")
    expect(owner.get_by_test_id("performance")).to_have_text("Off track")
    expect(owner.get_by_test_id("measurements")).to_contain_text("7.4 days")
    expect(owner.get_by_test_id("chart").locator("svg")).to_be_visible()
    expect(owner.get_by_role("button", name="Raise corrective action")).to_have_count(0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    owner.screenshot(path=SCREENSHOT, full_page=True)

    manager.reload()
    expect(manager.get_by_test_id("action-proposed")).to_be_visible()
    _click_and_wait(manager, "Raise corrective action")
    objective = QualityObjective.objects.get()
    expect(manager.get_by_test_id("source")).to_contain_text(objective.reference)
    manager.get_by_test_id("source").get_by_role("link").click()
    expect(manager.get_by_test_id("actions")).to_contain_text(objective.corrective_actions.get().reference)
    expect(manager.get_by_test_id("action-proposed")).to_have_count(0)
