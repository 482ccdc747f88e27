"""One truth (issue #5 §4): one account-month read through ESPI, CDS and ECIS agrees exactly.

A single CDS consent (which opens the ESPI feeds of its function blocks too) is read three
ways over real HTTP: the ESPI usage feed (IntervalBlocks and UsageSummary, through the client
library's feed reader and an XML parse), the CDS listings (bill statements, bill sections,
usage segments) and ECIS (invoice and invoice detail). Usage must agree to the Wh and money to
the cent, for every bill of the customer's electric service.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree
from sqlalchemy import select

from opencustodian.client.feeds import fetch_usage_feed
from opencustodian.profile import load_profile
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Bill,
    RetailCustomer,
    ServicePoint,
)
from tests.functional.cds.helpers import EVERYTHING, body_of, cds_party, get
from tests.functional.ecis.helpers import answer, claims, ec_key, post, public_set, put_keys, sign
from tests.functional.oauth.flows import customer_tokens

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from tests.custodian import LiveCustodian

ESPI = "{http://naesb.org/espi}"
ATOM = "{http://www.w3.org/2005/Atom}"
#: ESPI ReadingType flowDirection of the billed channel: net for a net-metered home.
FORWARD, NET = 1, 4
MONEY_SCALE = Decimal(100_000)  # ESPI costs are 10⁻⁵ currency units


def electric_points(server: LiveCustodian, username: str) -> dict[str, tuple[bool, str]]:
    """Electric service point uuid → (net metered, account number) of one customer."""
    statement = (
        select(ServicePoint.uuid, ServicePoint.net_metered, Account.account_number)
        .join(AccountServicePoint, AccountServicePoint.service_point_id == ServicePoint.id)
        .join(Account, Account.id == AccountServicePoint.account_id)
        .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
        .where(RetailCustomer.username == username, ServicePoint.commodity == "electricity")
    )
    with server.engine.connect() as connection:
        return {str(uuid): (net, number) for uuid, net, number in connection.execute(statement)}


def stored_bills(
    server: LiveCustodian, point_uuids: set[str]
) -> dict[str, tuple[Decimal, Decimal]]:
    """Bill uuid → (usage in kWh, total) for the bills of these service points."""
    statement = select(Bill.uuid, Bill.usage, Bill.total, ServicePoint.uuid).join(
        ServicePoint, ServicePoint.id == Bill.service_point_id
    )
    with server.engine.connect() as connection:
        return {
            str(bill): (Decimal(usage), Decimal(total))
            for bill, usage, total, point in connection.execute(statement)
            if str(point) in point_uuids
        }


def espi_summaries(http: httpx.Client, url: str, token: str) -> dict[str, tuple[Decimal, Decimal]]:
    """UsageSummary id → (usage in kWh, bill total) from every page of the ESPI feed."""
    found: dict[str, tuple[Decimal, Decimal]] = {}
    next_url: str | None = url
    while next_url:
        response = http.get(next_url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        feed = etree.fromstring(response.content)
        for entry in feed.iter(f"{ATOM}entry"):
            summary = entry.find(f"{ATOM}content/{ESPI}UsageSummary")
            if summary is None:
                continue
            entry_id = (entry.findtext(f"{ATOM}id") or "").removeprefix("urn:uuid:")
            measured = summary.find(f"{ESPI}overallConsumptionLastPeriod")
            assert measured is not None
            value = Decimal(measured.findtext(f"{ESPI}value") or "nan")
            power = int(measured.findtext(f"{ESPI}powerOfTenMultiplier") or "0")
            if measured.findtext(f"{ESPI}uom") != "72":  # not Wh: the gas service's bills
                continue
            kwh = value.scaleb(power - 3)
            total = Decimal(summary.findtext(f"{ESPI}billLastPeriod") or "nan") / MONEY_SCALE
            found[entry_id] = (kwh, total)
        links = feed.findall(f"{ATOM}link[@rel='next']")
        next_url = links[0].get("href") if links else None
    return found


def espi_wh_by_day(
    http: httpx.Client, url: str, token: str, *, net_metered: bool, zone: ZoneInfo
) -> dict[str, dict[date, Decimal]]:
    """UsagePoint id → local day → Wh of the billed channel's interval readings."""
    feed = fetch_usage_feed(url, token, http=http, max_pages=1000)
    wanted = NET if net_metered else FORWARD
    days: dict[str, dict[date, Decimal]] = {}
    for point in feed.usage_points:
        point_id = point.href.rstrip("/").rsplit("/", 1)[-1]
        for meter in point.meter_readings:
            kind = meter.reading_type
            if kind.flow_direction != wanted or kind.uom != 72:
                continue
            to_wh = Decimal(10) ** kind.power_of_ten_multiplier
            per_day = days.setdefault(point_id, defaultdict(Decimal))
            for reading in meter.readings:
                day = datetime.fromtimestamp(reading.start, tz=zone).date()
                per_day[day] += reading.value.scaleb(-meter.reading_type.exponent) * to_wh
    return days


def cds_wh_by_day(
    http: httpx.Client, server: LiveCustodian, token: str, column: str, zone: ZoneInfo
) -> dict[str, dict[date, Decimal]]:
    """Service point id → local day → Wh of one usage column, over every segment page."""
    days: dict[str, dict[date, Decimal]] = {}
    url: str | None = f"{server.base_url}/cds/v1/usage-segments?limit=100"
    while url:
        response = http.get(url, headers={"Authorization": f"Bearer {token}"})
        body = body_of(response)
        for segment in body["usage_segments"]:
            ids = [fmt["id"] for fmt in segment["formats"]]
            if column not in ids:
                continue
            index = ids.index(column)
            assert segment["formats"][index]["units"] == "kWh"
            start = datetime.fromisoformat(segment["segment_start"]).timestamp()
            (point,) = segment["related_servicepoints"]
            per_day = days.setdefault(point, defaultdict(Decimal))
            for row_number, row in enumerate(segment["values"]):
                if row[index] is None:  # a gap
                    continue
                value = row[index]["eu"]  # CDS electric usage value key
                moment = start + row_number * segment["interval"]
                day = datetime.fromtimestamp(moment, tz=zone).date()
                per_day[day] += Decimal(value) * 1000
        url = body["next"]
    return days


def test_espi_cds_and_ecis_agree_to_the_wh_and_the_cent(server: LiveCustodian) -> None:
    zone = load_profile().time_zone
    username = "customer0001"
    points = electric_points(server, username)
    assert points
    party = cds_party(server, EVERYTHING)
    key = ec_key()
    with httpx.Client(timeout=60) as http:
        assert put_keys(http, server, party, {"jwks": public_set(key)}).status_code == 200
        tokens = customer_tokens(http, server, party, EVERYTHING, username=username)
        token = tokens["access_token"]
        summaries = espi_summaries(http, tokens["resourceURI"], token)
        sections = body_of(get(http, server, "bill-sections", token, limit="100"))
        statements = body_of(get(http, server, "bill-statements", token, limit="100"))
        net_metered = any(net for net, _ in points.values())
        espi_days = espi_wh_by_day(
            http, tokens["resourceURI"], token, net_metered=net_metered, zone=zone
        )
        column = "electric_usage_net" if net_metered else "electric_usage_delivered"
        cds_days = cds_wh_by_day(http, server, token, column, zone)
        invoices = _ecis_invoices(http, server, party, key, token=token, points=points)

    bills = stored_bills(server, set(points))
    assert bills, "the seeded history has bills for the electric service"
    by_section = {section["cds_billsection_id"]: section for section in sections["bill_sections"]}
    statement_totals = {
        statement["cds_billstatement_id"]: statement["amount_due"]
        for statement in statements["bill_statements"]
    }
    checked = 0
    for bill_id, (usage_kwh, total) in bills.items():
        section = by_section[bill_id]
        (point,) = section["related_servicepoints"]
        first = date.fromisoformat(section["start_date"])
        last = date.fromisoformat(section["end_date"])
        # Money, to the cent: stored bill = ESPI UsageSummary = CDS bill section.
        assert summaries[bill_id][1] == total
        assert _section_total(section) == total
        # Usage, to the Wh: stored bill = ESPI summary = ESPI readings = CDS segments.
        wh = usage_kwh * 1000
        assert summaries[bill_id][0] * 1000 == wh
        assert Decimal(section["usage_details"][0]["value"]) * 1000 == wh
        assert _between(espi_days[point], first, last) == wh, (bill_id, first, last)
        assert _between(cds_days[point], first, last) == wh, (bill_id, first, last)
        # ECIS: the invoice holding this bill totals its statement, as CDS says.
        statement_id = section["cds_billstatement_id"]
        invoice, detail = invoices[statement_id]
        assert invoice["invoice_total"] == statement_totals[statement_id]
        assert detail["invoice_total"] == invoice["invoice_total"]
        if usage_kwh > 0:
            assert detail["energy_consumption_quantity"] == usage_kwh
            assert detail["delivery_unit"] == "kWh"
        checked += 1
    assert checked >= 2  # two or three months of bills were seeded


def _ecis_invoices(  # noqa: PLR0913 - a signed request needs each of these
    http: httpx.Client,
    server: LiveCustodian,
    party: Any,
    key: Any,
    *,
    token: str,
    points: dict[str, tuple[bool, str]],
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Statement id → (invoice, invoice detail) for every invoice of the customer's accounts."""
    found: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for account in {number for _, number in points.values()}:
        basic = answer(
            post(http, server, token, sign(claims(server, party, account), key)), "basic"
        )
        for invoice_id in basic["system_invoice_ids"]:
            replies = [
                answer(
                    post(
                        http,
                        server,
                        token,
                        sign(claims(server, party, account, kind, invoice_id), key),
                    ),
                    kind,
                )
                for kind in ("invoice", "invoice_detail")
            ]
            found[invoice_id] = (replies[0], replies[1])
    return found


def _section_total(section: dict[str, Any]) -> Decimal:
    costs = [d["cost"] for d in section["cost_details"] if "overall_total" in d["types"]]
    assert len(costs) == 1, section
    return Decimal(costs[0])


def _between(days: dict[date, Decimal], first: date, last: date) -> Decimal:
    """The sum over local days ``first`` … ``last`` inclusive."""
    return sum((value for day, value in days.items() if first <= day <= last), Decimal(0))
