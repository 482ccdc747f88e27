"""The demo journey in Chromium ends on a usage chart drawn from real ESPI fetches.

The customer connects SunSpark Solar at the utility, lands back on the connection page, opens
the usage chart and picks a day. Every bar's period and value is compared with sums taken
straight from the custodian's database (``tests.served_usage``), so the chart can only be right
if the third party really fetched, parsed and stored the customer's Batch/Subscription feed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.browser.test_customer_journey import (
    ELECTRIC,
    choose_data_at_third_party,
    expect_connected,
    expect_consent_page,
    sign_in,
)
from tests.served_usage import daily_sums, grant_uuid_of, hourly_sums, served_channels

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.browser.conftest import Apps, Shots

pytestmark = pytest.mark.browser

BARS_SCRIPT = "bars => bars.map(bar => [bar.dataset.label, bar.dataset.value])"


def bars_of(chart: Locator) -> dict[str, Decimal]:
    """The bars of an SVG chart as {period: value}, read from the live page."""
    pairs = chart.locator("rect.bar").evaluate_all(BARS_SCRIPT)
    return {label: Decimal(value) for label, value in pairs}


def test_the_journey_ends_on_a_chart_of_real_readings(page: Page, apps: Apps, shot: Shots):
    choose_data_at_third_party(page, apps, shot, ELECTRIC)
    sign_in(page, shot, "customer0001")
    expect_consent_page(page, apps, ELECTRIC)
    shot("consent")
    page.get_by_role("button", name="Allow sharing").click()
    authorization_uri = expect_connected(page, apps, ELECTRIC)
    expect(page.locator("#usage-status")).to_contain_text("readings")
    shot("thirdparty-connection")

    page.get_by_role("link", name="See your usage chart").click()
    expect(page).to_have_url(
        re.compile(re.escape(f"{apps.thirdparty}/connections/") + r"\d+/usage$")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Your usage")
    stored = served_channels(apps.engine, grant_uuid_of(authorization_uri))
    assert stored
    sections = page.locator("section[data-meter-reading]")
    expect(sections).to_have_count(len(stored))
    latest = max(day for readings in stored.values() for day in daily_sums(readings))
    expect(page.locator("#selected-day")).to_have_text(latest)
    shot("usage-chart")

    for index in range(len(stored)):
        section = sections.nth(index)
        meter = (section.get_attribute("data-meter-reading") or "").removeprefix("urn:uuid:")
        daily = section.locator("svg.chart").first
        expect(daily.locator("rect.bar").first).to_be_visible()
        assert bars_of(daily) == daily_sums(stored[meter])
        hourly = section.locator("svg.chart").nth(1)
        assert bars_of(hourly) == hourly_sums(stored[meter], latest)
        # The bars are drawn to scale: the largest day is the tallest bar.
        heights = daily.locator("rect.bar").evaluate_all(
            "bars => bars.map(bar => bar.getBBox().height)"
        )
        values = list(daily_sums(stored[meter]).values())
        assert heights.index(max(heights)) == values.index(max(values))

    # A day's bar leads to that day's hours.
    first = sections.first
    meter = (first.get_attribute("data-meter-reading") or "").removeprefix("urn:uuid:")
    first.locator('svg.chart a:has(rect[data-label="2026-10-31"])').click()
    expect(page).to_have_url(re.compile(r"/usage\?day=2026-10-31$"))
    expect(page.locator("#selected-day")).to_have_text("2026-10-31")
    hourly = page.locator("section[data-meter-reading]").first.locator("svg.chart").nth(1)
    expect(hourly.locator("rect.bar")).to_have_count(24)
    assert bars_of(hourly) == hourly_sums(stored[meter], "2026-10-31")
    shot("usage-chart-2026-10-31")
