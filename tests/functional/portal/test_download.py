"""Download My Data in the portal over real HTTP: XML and CSV, and every refusal."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import httpx
from lxml import etree
from sqlalchemy import select, update

from opencustodian.storage.models import Account, AccountServicePoint, RetailCustomer
from tests.conformance.link_rules import certification_problems
from tests.functional.portal.helpers import (
    customer_browser,
    download_form,
    error_message,
    local_midnight_epoch,
    point_ids,
    stored_readings,
)
from tests.xsd import schema_errors

ESPI = "{http://naesb.org/espi}"
ATOM = "{http://www.w3.org/2005/Atom}"
FIRST, LAST = "2026-10-29", "2026-11-01"
#: The test's own unit factors (not the writer's): stored Wh and ft³ per kWh and CCF.
FACTORS = {"kWh": Decimal(1000), "CCF": Decimal(100)}


def xml_readings(document: bytes) -> list[tuple[int, int, int, int | None, int | None]]:
    """Every IntervalReading of a feed as (start, duration, value, cost, quality)."""
    found = []
    for reading in etree.fromstring(document).iter(f"{ESPI}IntervalReading"):
        cost = reading.findtext(f"{ESPI}cost")
        quality = reading.findtext(f"{ESPI}ReadingQuality/{ESPI}quality")
        found.append(
            (
                int(reading.findtext(f"{ESPI}timePeriod/{ESPI}start") or ""),
                int(reading.findtext(f"{ESPI}timePeriod/{ESPI}duration") or ""),
                int(reading.findtext(f"{ESPI}value") or ""),
                int(cost) if cost is not None else None,
                int(quality) if quality is not None else None,
            )
        )
    return sorted(found)


def test_xml_download_is_valid_espi_and_holds_exactly_the_customers_readings(server):
    mine = point_ids(server.engine, "customer0001")
    others = point_ids(server.engine, "customer0002") + point_ids(server.engine, "customer0003")
    with customer_browser(server, "customer0001", "/portal/download") as (http, page):
        assert all(f'value="{point}"' in page for point in mine)
        assert not any(point in page for point in others)
        form = download_form(page, mine, FIRST, LAST, "xml")
        response = http.post(f"{server.base_url}/portal/download", data=form)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="GreenButtonDownload-{FIRST}-to-{LAST}.xml"'
    document = response.content
    assert schema_errors(document) == []
    assert certification_problems(document) == []
    usage_points = [
        entry.findtext(f"{ATOM}id", "")
        for entry in etree.fromstring(document).iter(f"{ATOM}entry")
        if entry.find(f"{ATOM}content/{ESPI}UsagePoint") is not None
    ]
    assert sorted(usage_points) == sorted(f"urn:uuid:{point}" for point in mine)
    expected = sorted(
        reading
        for readings in stored_readings(server.engine, mine).values()
        for reading in readings
    )
    assert expected
    assert xml_readings(document) == expected
    assert not any(point.encode() in document for point in others)


def test_csv_download_values_equal_the_stored_readings_by_an_independent_sum(server):
    mine = point_ids(server.engine, "customer0001")
    with customer_browser(server, "customer0001", "/portal/download") as (http, page):
        response = http.post(
            f"{server.base_url}/portal/download", data=download_form(page, mine, FIRST, LAST, "csv")
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    expected = stored_readings(server.engine, mine)
    sums: dict[tuple[str, str], Decimal] = {}
    costs: dict[tuple[str, str], Decimal] = {}
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["service_point"], row["channel"])
        sums[key] = sums.get(key, Decimal(0)) + Decimal(row["value"])
        costs[key] = costs.get(key, Decimal(0)) + Decimal(row["cost"] or "0")
        counts[key] = counts.get(key, 0) + 1
        assert datetime.fromisoformat(row["start"]).utcoffset() is not None
    assert set(sums) == set(expected)
    for key, readings in expected.items():
        unit = {row["unit"] for row in rows if (row["service_point"], row["channel"]) == key}
        assert len(unit) == 1
        factor = FACTORS[unit.pop()]
        assert counts[key] == len(readings)
        assert sums[key] * factor == sum(value for _, _, value, _, _ in readings)
        assert costs[key] * 100_000 == sum(cost or 0 for _, _, _, cost, _ in readings)


def test_another_customers_service_point_is_refused_and_nothing_leaks(server):
    mine = point_ids(server.engine, "customer0001")
    theirs = point_ids(server.engine, "customer0002")
    with customer_browser(server, "customer0001", "/portal/download") as (http, page):
        for choice in (theirs, [*mine, *theirs], ["not-a-uuid"], []):
            response = http.post(
                f"{server.base_url}/portal/download",
                data=download_form(page, choice, FIRST, LAST, "xml"),
            )
            assert response.status_code == 400, choice
            assert "content-disposition" not in response.headers
            assert response.headers["content-type"].startswith("text/html")
            assert not any(point in response.text for point in theirs)
            assert "IntervalReading" not in response.text
            message = error_message(response.text, "download-error")
            assert message in {
                "One of the chosen services is not on your account.",
                "Choose at least one service.",
            }


def test_bad_dates_and_ranges_get_the_form_back_with_a_clear_message(server):
    mine = point_ids(server.engine, "customer0001")
    cases = {
        ("2026-13-01", LAST, "xml"): "The 'from' day '2026-13-01' is not a date",
        ("", LAST, "xml"): "The 'from' day '' is not a date",
        (LAST, FIRST, "csv"): "The 'to' day is before the 'from' day.",
        ("2023-01-01", LAST, "xml"): "A download covers at most 2 years",
        (FIRST, LAST, "pdf"): "Choose a format",
    }
    with customer_browser(server, "customer0001", "/portal/download") as (http, page):
        for (first, last, fmt), expected in cases.items():
            response = http.post(
                f"{server.base_url}/portal/download",
                data=download_form(page, mine, first, last, fmt),
            )
            assert response.status_code == 400, (first, last, fmt)
            assert error_message(response.text, "download-error").startswith(expected)
            assert f'value="{last}"' in response.text  # the form keeps what was typed
        exactly_two_years = download_form(page, mine, "2024-11-02", LAST, "csv")
        response = http.post(f"{server.base_url}/portal/download", data=exactly_two_years)
        assert response.status_code == 200, response.text


def test_a_range_before_the_move_in_is_refused_and_later_data_starts_at_it(server):
    """customer0003 moved in on 31 October 2026: the 30th is the previous occupant's."""
    moved_in = date(2026, 10, 31)
    with server.engine.begin() as connection:
        account = connection.scalar(
            select(Account.id)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .where(RetailCustomer.username == "customer0003")
        )
        connection.execute(
            update(AccountServicePoint)
            .where(AccountServicePoint.account_id == account)
            .values(move_in=moved_in)
        )
    mine = point_ids(server.engine, "customer0003")
    with customer_browser(server, "customer0003", "/portal/download") as (http, page):
        assert 'value="2026-10-31"' in page  # the form proposes nothing earlier
        early = http.post(
            f"{server.base_url}/portal/download", data=download_form(page, mine, FIRST, LAST, "xml")
        )
        assert early.status_code == 400
        assert "starts on 31 October 2026, when you moved in" in error_message(
            early.text, "download-error"
        )
        allowed = http.post(
            f"{server.base_url}/portal/download",
            data=download_form(page, mine, "2026-10-31", LAST, "csv"),
        )
    assert allowed.status_code == 200, allowed.text
    starts = [
        int(datetime.fromisoformat(row["start"]).timestamp())
        for row in csv.DictReader(io.StringIO(allowed.text))
    ]
    assert starts
    assert min(starts) == local_midnight_epoch(moved_in)
    stored_from_move_in = stored_readings(server.engine, mine, local_midnight_epoch(moved_in))
    assert len(starts) == sum(len(readings) for readings in stored_from_move_in.values())


def test_the_pages_need_a_signed_in_customer_and_a_valid_form(server):
    with httpx.Client(timeout=30) as anonymous:
        for path in ("/portal/download", "/portal/usage", "/portal/access-log"):
            response = anonymous.get(f"{server.base_url}{path}")
            assert response.status_code == 303
            assert response.headers["location"] == f"/login?next={path.replace('/', '%2F')}"
    mine = point_ids(server.engine, "customer0001")
    with customer_browser(server, "customer0001", "/portal/download") as (http, page):
        forged = download_form(page, mine, FIRST, LAST, "xml") | {"csrf": "forged"}
        response = http.post(f"{server.base_url}/portal/download", data=forged)
        assert response.status_code == 403
