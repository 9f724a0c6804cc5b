"""The quality manager's dashboard on the demo data, in a real browser (ISO 9001 5.1.2)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from qms_portal.env import BASE_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Kept after the run as evidence of what the dashboard looked like (var/ is git-ignored).
SCREENSHOT = BASE_DIR / "var" / "test-artifacts" / "dashboard.png"
CHARTS = ("chart-surveys", "chart-complaints", "chart-pareto", "chart-control")


def test_dashboard_shows_every_chart_and_tiles_open_their_lists(
    page: Page, sign_in: Callable[..., None], demo_data: None
) -> None:
    from apps.dashboard.management.commands.seed_demo import DEMO_PASSWORD

    sign_in(page, "manager@example.com", DEMO_PASSWORD)
    page.goto("/")

    expect(page.get_by_test_id("dashboard")).to_be_visible()
    for key in CHARTS:
        svg = page.get_by_test_id(key).locator("svg.chart-svg").first
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box is not None, key
        assert box["width"] > 200, key
        assert box["height"] > 80, key
    expect(page.get_by_test_id("refreshed-at")).to_contain_text(re.compile(r"Figures as of \d\d:\d\d"))
    expect(page.get_by_test_id("tile-open_complaints").get_by_test_id("tile-value")).to_have_text(re.compile(r"\d+"))
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)

    with page.expect_navigation():
        page.get_by_test_id("tile-link-open_complaints").click()

    assert re.search(r"/complaints/\?open=true$", page.url), page.url
    expect(page.locator("#id_open")).to_have_value("true")


def test_control_chart_draws_the_running_month_as_partial(
    page: Page, sign_in: Callable[..., None], demo_data: None
) -> None:
    """The running month is a hollow point named in the legend, not a finished month (#24)."""
    from apps.dashboard.management.commands.seed_demo import DEMO_PASSWORD

    sign_in(page, "manager@example.com", DEMO_PASSWORD)
    page.goto("/")

    chart = page.get_by_test_id("chart-control")
    partial = chart.locator("circle.chart-partial")
    expect(partial).to_have_count(1)
    expect(partial).to_have_attribute("fill", "#fff")
    expect(chart.locator("svg.chart-svg").first).to_contain_text("Running month (partial)")
    # a screen reader hears it too
    expect(chart.locator("svg.chart-svg desc").first).to_contain_text("is partial and not in the centre line or limits")
