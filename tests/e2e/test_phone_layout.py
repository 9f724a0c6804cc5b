"""The portal on a 390 x 844 phone: legible charts, tables that scroll in their own box, rows before filters (#24)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE: ViewportSize = {"width": 390, "height": 844}
MIN_CHART_TEXT_PX = 11

# The rendered size of every label of every chart: the SVG's font size times the factor its
# viewBox is scaled by on screen.
CHART_TEXT_SIZES = """() => [...document.querySelectorAll('.chart-canvas svg.chart-svg')].flatMap(svg => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text')].map(text => ({
    chart: svg.id, text: text.textContent,
    px: parseFloat(text.getAttribute('font-size') || getComputedStyle(text).fontSize) * scale,
  }));
})"""
PAGE_WIDTH = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@pytest.fixture
def phone(open_page: Callable[..., Page], sign_in: Callable[..., None], demo_data: None) -> Page:
    from apps.dashboard.management.commands.seed_demo import DEMO_PASSWORD

    page = open_page(PHONE)
    sign_in(page, "manager@example.com", DEMO_PASSWORD)
    return page


def test_dashboard_charts_stay_legible_and_its_wide_table_scrolls_in_its_own_box(phone: Page) -> None:
    phone.goto("/")

    sizes = phone.evaluate(CHART_TEXT_SIZES)
    assert {size["chart"] for size in sizes}, "the dashboard drew no chart"
    too_small = [size for size in sizes if size["px"] < MIN_CHART_TEXT_PX]
    assert not too_small, too_small[:5]

    box = phone.get_by_test_id("objectives").locator(".table-responsive").first
    table_width = box.locator("table").evaluate("table => table.scrollWidth")
    assert table_width > box.evaluate("box => box.clientWidth"), "nothing to scroll"
    box.evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    assert box.evaluate("box => box.scrollLeft") > 0
    scroll_width, client_width = phone.evaluate(PAGE_WIDTH)
    assert scroll_width <= client_width, f"the dashboard is {scroll_width} px wide on a {client_width} px screen"


def test_lists_and_a_customer_page_fit_and_complaints_show_rows_before_filters(phone: Page) -> None:
    phone.goto("/customers/")
    customer_page = phone.locator("main table a[href^='/customers/']").first.get_attribute("href")
    for path in [customer_page, "/customers/", "/feedback/", "/objectives/", "/surveys/", "/complaints/"]:
        phone.goto(path or "")
        scroll_width, client_width = phone.evaluate(PAGE_WIDTH)
        assert scroll_width <= client_width, f"{phone.url} is {scroll_width} px wide on a {client_width} px screen"

    phone.goto("/complaints/?q=CMP")
    filters = phone.get_by_role("form", name="Filter complaints")
    toggle = phone.get_by_role("button", name="Filters (1 active)")
    expect(filters).to_be_hidden()
    expect(phone.locator("main table tbody tr").first).to_be_in_viewport()

    toggle.click()
    expect(filters).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(filters.get_by_label("Reference")).to_have_value("CMP")


def test_on_a_desktop_the_filters_are_open_without_a_toggle(
    page: Page, sign_in: Callable[..., None], quality_manager: Any
) -> None:
    sign_in(page, quality_manager.email)
    page.goto("/complaints/")

    expect(page.get_by_role("form", name="Filter complaints")).to_be_visible()
    expect(page.get_by_role("button", name="Filters")).to_be_hidden()
