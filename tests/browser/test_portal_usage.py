"""The customer's own data in Chromium: the usage chart renders as SVG, and a file downloads.

Seed 001 ("The customer navigates to the data … downloads the data"): sign in at the utility,
open *My usage* from the account page, move between the day and month views, then *Download My
Data* as CSV through the browser's own download.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.browser.test_customer_journey import sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import Apps, Shots

pytestmark = pytest.mark.browser


def test_usage_chart_and_download_my_data(page: Page, apps: Apps, shot: Shots) -> None:
    page.goto(f"{apps.custodian}/login")
    sign_in(page, shot, "customer0001")
    expect(page).to_have_url(f"{apps.custodian}/portal")
    own_data = page.locator("#own-data")
    expect(own_data.get_by_role("link")).to_have_count(3)
    shot("portal")

    own_data.get_by_role("link", name="My usage").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My usage")
    chart = page.locator("#usage-chart")
    expect(chart).to_be_visible()
    # The latest day with data: 1 November 2026, a 25-hour DST day, in quarter hours.
    expect(chart.locator("title").first).to_have_text(
        re.compile(r"^Electricity use on Sunday 1 November 2026, in kWh$")
    )
    bars = chart.locator("rect.bar")
    assert bars.count() > 20
    box = bars.first.bounding_box()
    assert box is not None
    assert box["width"] > 0
    assert box["height"] > 0  # drawn, not just present in the markup
    expect(chart).to_contain_text("kWh")
    shot("usage-day")

    page.locator("#usage-switch").click()
    expect(chart.locator("title").first).to_have_text(re.compile("per day in November 2026"))
    expect(chart.locator("rect.bar")).to_have_count(1)
    page.locator("#usage-previous").click()
    expect(chart.locator("title").first).to_have_text(re.compile("per day in October 2026"))
    expect(chart.locator("rect.bar")).to_have_count(2)
    shot("usage-month")

    page.goto(f"{apps.custodian}/portal")
    page.locator("#own-data").get_by_role("link", name="Download My Data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Download My Data")
    page.get_by_label("From").fill("2026-10-30")
    page.get_by_label("To (included)").fill("2026-11-01")
    page.get_by_label("CSV").check()
    shot("download-form")
    with page.expect_download() as started:
        page.get_by_role("button", name="Download").click()
    download = started.value
    assert download.suggested_filename == "GreenButtonDownload-2026-10-30-to-2026-11-01.csv"
    saved = download.path()
    assert saved is not None
    rows = list(csv.DictReader(io.StringIO(Path(saved).read_text(encoding="utf-8"))))
    assert {row["channel"] for row in rows} == {"forward", "reverse", "net"}
    assert {row["unit"] for row in rows} == {"kWh", "CCF"}
