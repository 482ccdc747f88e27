"""Reading the demo third party's usage page, and waiting for its background fetches."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import lxml.html

if TYPE_CHECKING:
    from collections.abc import Callable

#: How long a test waits for a background fetch (generous for a loaded CI machine).
WAIT_SECONDS = 20.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (a background fetch finishing) until it holds or time runs out."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@dataclass
class Chart:
    daily: dict[str, Decimal]
    hourly: dict[str, Decimal]
    daily_table: dict[str, Decimal]


def nodes(node: lxml.html.HtmlElement, path: str) -> list[lxml.html.HtmlElement]:
    found = node.xpath(path)
    assert isinstance(found, list)
    return [item for item in found if isinstance(item, lxml.html.HtmlElement)]


def attr(node: lxml.html.HtmlElement, name: str) -> str:
    value = node.get(name)
    assert isinstance(value, str), name
    return value


def bars(section: lxml.html.HtmlElement, chart_id: str) -> dict[str, Decimal]:
    """A chart's bars as {data-label: data-value}."""
    rects = nodes(section, f".//svg[@id='{chart_id}']//rect[contains(@class, 'bar')]")
    return {attr(rect, "data-label"): Decimal(attr(rect, "data-value")) for rect in rects}


def charts(page: str) -> dict[str, Chart]:
    """Per meter reading uuid on the page: its bars' labels and values, and its daily table."""
    found = {}
    for section in nodes(lxml.html.fromstring(page), "//section[@data-meter-reading]"):
        number = attr(section, "id").removeprefix("series-")
        table = {
            attr(nodes(row, "./th/time")[0], "datetime"): Decimal(
                attr(nodes(row, "./td")[0], "data-value")
            )
            for row in nodes(section, f".//table[@id='daily-table-{number}']/tbody/tr")
        }
        meter = attr(section, "data-meter-reading").removeprefix("urn:uuid:")
        found[meter] = Chart(
            bars(section, f"daily-chart-{number}"), bars(section, f"hourly-chart-{number}"), table
        )
    return found
