"""The portal's usage chart over real HTTP: server-side SVG whose bars are the stored data."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

from lxml import etree
from sqlalchemy import select, update

from opencustodian.storage.models import Account, AccountServicePoint, RetailCustomer
from tests.functional.portal.helpers import (
    customer_browser,
    error_message,
    local_day,
    local_midnight_epoch,
    point_ids,
    stored_readings,
)

SVG = "{http://www.w3.org/2000/svg}"
ELECTRIC, GAS = 0, 1  # customer0001's points, by id: a solar home and hourly gas


def chart_of(page: str) -> etree._Element:
    """The chart's ``<svg>`` element, parsed as XML (it must be well-formed on its own)."""
    match = re.search(r'<svg id="usage-chart".*?</svg>', page, re.DOTALL)
    assert match, page
    return etree.fromstring(match.group(0))


def bars(svg: etree._Element) -> dict[int, Decimal]:
    """Bar start → value, from the chart's ``data-*`` attributes."""
    return {
        int(rect.get("data-start") or ""): Decimal(rect.get("data-value") or "")
        for rect in svg.iter(f"{SVG}rect")
        if rect.get("class") == "bar"
    }


def test_month_view_bars_are_the_stored_daily_totals_of_the_billed_channel(server):
    electric = point_ids(server.engine, "customer0001")[ELECTRIC]
    # A net-metered home is billed on its net channel: that is the one drawn.
    net = stored_readings(server.engine, [electric])[electric, "net"]
    daily: dict[date, int] = defaultdict(int)
    for start, _, value, _, _ in net:
        daily[local_day(start)] += value
    with customer_browser(server, "customer0001", "/portal/usage") as (http, _):
        for month in ("2026-10-01", "2026-11-01"):
            page = http.get(
                f"{server.base_url}/portal/usage/{electric}",
                params={"view": "month", "day": month},
            )
            assert page.status_code == 200, page.text
            svg = chart_of(page.text)
            expected = {
                local_midnight_epoch(day): Decimal(total) / 1000
                for day, total in daily.items()
                if day.isoformat()[:7] == month[:7]
            }
            assert expected
            assert bars(svg) == expected
            assert svg.get("role") == "img"
            assert svg.findtext(f"{SVG}title", "").endswith("in kWh")
            assert svg.findtext(f"{SVG}desc", "").startswith(f"{len(expected)} bars")
            assert "kWh" in [text.text for text in svg.iter(f"{SVG}text")]
            assert 'id="usage-table"' in page.text  # the same figures as a table


def test_day_view_draws_each_interval_of_a_25_hour_dst_day(server):
    gas = point_ids(server.engine, "customer0001")[GAS]
    day = date(2026, 11, 1)  # DST ends: 25 local hours
    first, end = local_midnight_epoch(day), local_midnight_epoch(date(2026, 11, 2))
    assert end - first == 90_000
    hourly = [
        reading
        for reading in stored_readings(server.engine, [gas])[gas, "forward"]
        if first <= reading[0] < end
    ]
    with customer_browser(server, "customer0001", "/portal/usage") as (http, _):
        page = http.get(
            f"{server.base_url}/portal/usage/{gas}", params={"view": "day", "day": "2026-11-01"}
        )
    assert page.status_code == 200, page.text
    svg = chart_of(page.text)
    assert bars(svg) == {start: Decimal(value) / 100 for start, _, value, _, _ in hourly}
    assert svg.get("data-unit") == "CCF"
    titles = [rect.findtext(f"{SVG}title") or "" for rect in svg.iter(f"{SVG}rect")]
    # The repeated hour is told apart by its zone abbreviation.
    assert "01:00 EDT–01:00 EST: " in titles[1]
    assert "01:00–02:00 EST: " in titles[2]
    assert 'rel="prev"' in page.text
    assert 'href="/portal/usage/' + gas + '?view=day&amp;day=2026-10-31"' in page.text


def test_the_default_chart_is_the_latest_day_with_data(server):
    with customer_browser(server, "customer0001", "/portal/usage") as (_, page):
        assert 'id="usage-chart"' in page
        svg = chart_of(page)
    assert svg.get("data-view") == "day"
    assert svg.findtext(f"{SVG}title", "").startswith("Electricity use on Sunday 1 November 2026")
    assert bars(svg)


def test_other_customers_points_bad_views_and_days_are_refused(server):
    theirs = point_ids(server.engine, "customer0002")[0]
    mine = point_ids(server.engine, "customer0001")[ELECTRIC]
    with customer_browser(server, "customer0001", "/portal/usage") as (http, _):
        foreign = http.get(f"{server.base_url}/portal/usage/{theirs}")
        assert foreign.status_code == 404
        assert 'id="usage-chart"' not in foreign.text
        assert error_message(foreign.text, "usage-error") == "No such service on your account."
        for params, message in (
            ({"view": "year"}, "The chart view 'year' is not one of: day, month."),
            ({"day": "31/10/2026"}, "The chart day '31/10/2026' is not a date"),
            ({"day": "2999-01-01"}, "There is no data for days after today yet."),
            ({"day": "2020-01-01", "view": "month"}, "Your data for Electricity at"),
        ):
            response = http.get(f"{server.base_url}/portal/usage/{mine}", params=params)
            assert response.status_code == 400, params
            assert error_message(response.text, "usage-error").startswith(message)


def test_nothing_before_the_move_in_is_drawn_or_reachable(server):
    """customer0003 moved in on 31 October 2026: the 30th is the previous occupant's."""
    with server.engine.begin() as connection:
        account = connection.scalar(
            select(Account.id)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .where(RetailCustomer.username == "customer0003")
        )
        connection.execute(
            update(AccountServicePoint)
            .where(AccountServicePoint.account_id == account)
            .values(move_in=date(2026, 10, 31))
        )
    electric, gas = point_ids(server.engine, "customer0003")
    readings = stored_readings(server.engine, [electric])[electric, "forward"]
    assert local_day(readings[0][0]) == date(2026, 10, 30)  # the previous occupant's day
    with customer_browser(server, "customer0003", "/portal/usage") as (http, _):
        url = f"{server.base_url}/portal/usage/{electric}"
        october = http.get(url, params={"view": "month", "day": "2026-10-15"})
        assert october.status_code == 200, october.text
        assert list(bars(chart_of(october.text))) == [local_midnight_epoch(date(2026, 10, 31))]
        assert 'id="usage-previous"' not in october.text
        first_day = http.get(url, params={"day": "2026-10-31"})
        assert first_day.status_code == 200
        assert 'id="usage-previous"' not in first_day.text
        before = http.get(url, params={"day": "2026-10-30"})
        assert before.status_code == 400
        assert "starts on 31 October 2026, when you moved in" in before.text
        assert 'id="usage-chart"' not in before.text
        monthly_gas = http.get(f"{server.base_url}/portal/usage/{gas}", params={"view": "month"})
    assert monthly_gas.status_code == 200, monthly_gas.text
    assert bars(chart_of(monthly_gas.text)) == {}
    assert "No readings were recorded in this period." in monthly_gas.text
