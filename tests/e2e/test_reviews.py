"""A management review from the prepared inputs to the next review, in a real browser (ISO 9001 9.3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.reviews.models import ReviewDecision
from qms_portal.celery import app
from qms_portal.env import BASE_DIR
from tests.reviews.conftest import compiled, make_review
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
SCREENSHOT = BASE_DIR / "var" / "test-artifacts" / "review-report.png"


def _click_and_wait(page: Page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_manager_fills_the_sections_decides_closes_and_the_next_review_shows_the_action(
    open_page: Callable[..., Page], sign_in: Callable[..., None], quality_manager: Any, staff: Any, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    review = make_review(quality_manager, title="Q1 2026 review")
    compiled(quality_manager, review)
    following = make_review(
        quality_manager, title="Q2 2026 review", start=date(2026, 4, 1), end=date(2026, 6, 30), meeting=date(2026, 7, 6)
    )
    page = open_page()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sign_in(page, quality_manager.email)
        page.get_by_test_id("main-nav").get_by_role("link", name="Management reviews", exact=True).click()
        page.get_by_role("link", name="Q1 2026 review").click()
        expect(page.get_by_test_id("status")).to_have_text("Inputs compiled")

        page.get_by_test_id("edit").click()
        page.locator("textarea[name=audit_results]").fill("Internal audit: one minor finding in complaint handling.")
        page.locator("textarea[name=improvement_opportunities]").fill("Self-service complaint tracking.")
        _click_and_wait(page, "Save changes")
        expect(page.get_by_test_id("section-audit_results")).to_have_text(
            "Internal audit: one minor finding in complaint handling."
        )

        page.get_by_test_id("hold-form").locator("textarea[name=attendees]").fill("Quinn Manager, Maria Director")
        _click_and_wait(page, "Record the meeting as held")
        expect(page.get_by_test_id("status")).to_have_text("Held")

        form = page.get_by_test_id("decision-form")
        form.locator("select[name=kind]").select_option(label="Opportunity for improvement")
        form.locator("textarea[name=text]").fill("Offer key accounts self-service complaint tracking.")
        form.locator("input[name=action_title]").fill("Build the tracking page for key accounts")
        form.locator("select[name=action_owner]").select_option(label=staff.display_name)
        form.locator("input[name=action_due]").fill((timezone.localdate() + timedelta(days=30)).isoformat())
        _click_and_wait(page, "Record decision")
        action = ReviewDecision.objects.get().action
        expect(page.get_by_test_id("decisions")).to_contain_text(action.reference)

        _click_and_wait(page, "Close the review and send the final report")
        expect(page.get_by_test_id("status")).to_have_text("Closed")
        assert wait_for(lambda: review.reports.count() == 2, timeout=60)

        page.goto(f"/reviews/{following.pk}/")
        _click_and_wait(page, "Compile now")
        assert wait_for(lambda: following.reports.exists(), timeout=60)
        page.reload()
        page.get_by_test_id("reports").get_by_role("link", name="View").click()
        previous = page.get_by_test_id("section-previous-actions")
        expect(previous).to_contain_text(action.reference)
        expect(previous).to_contain_text(staff.display_name)
        expect(page.get_by_test_id("report-body").locator("svg").first).to_be_visible()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=True)


def test_planning_an_overlapping_period_warns_and_the_same_period_twice_is_refused(
    open_page: Callable[..., Page], sign_in: Callable[..., None], quality_manager: Any
) -> None:
    """#24: overlapping periods are allowed with a warning naming the other review; an exact
    duplicate stays on the form with the reason, and nothing is saved."""
    existing = make_review(quality_manager, title="Q1 2026 review", start=date(2026, 1, 1), end=date(2026, 3, 31))
    page = open_page()
    sign_in(page, quality_manager.email)

    def plan(title: str, start: str, end: str) -> None:
        page.goto("/reviews/new/")
        page.locator("input[name=title]").fill(title)
        page.locator("input[name=period_start]").fill(start)
        page.locator("input[name=period_end]").fill(end)
        page.locator("input[name=meeting_date]").fill("2026-07-06")
        _click_and_wait(page, "Plan review")

    plan("Half-year review", "2026-03-01", "2026-06-30")
    warning = page.locator(".messages .alert-warning")
    expect(warning).to_contain_text(existing.reference)
    expect(warning).to_contain_text("2026-01-01 \N{EN DASH} 2026-03-31")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Half-year review")

    plan("Q1 again", "2026-01-01", "2026-03-31")
    expect(page.get_by_role("heading", level=1)).to_have_text("New management review")
    expect(page.locator("main")).to_contain_text(f"{existing.reference} already covers 2026-01-01 to 2026-03-31")
    assert existing.__class__.objects.filter(title="Q1 again").count() == 0
