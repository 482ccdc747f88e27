"""UsageSummary over real HTTP (FB 15 and 16): billing periods as the bills state them.

The utility here keeps 75 days of history, so every customer has bills in the window.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from lxml import etree
from sqlalchemy import select

from opencustodian.demo.synthetic import seed_utility
from opencustodian.profile import load_profile
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Bill,
    RetailCustomer,
)
from tests.custodian import SEED_NOW, live_custodian
from tests.functional.espi.test_usage_feeds import ATOM, ESPI
from tests.functional.oauth.flows import customer_tokens, read
from tests.xsd import schema_errors

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian

SUMMARY_ONLY = "FB=1_3_15;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63072000;"
WITH_COST = "FB=1_3_15_16;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63072000;"
USAGE_ONLY = "FB=1_3_4_5;IntervalDuration=900;BlockDuration=Daily;HistoryLength=63072000;"


@pytest.fixture(scope="module")
def server(module_engine: Engine) -> Iterator[LiveCustodian]:
    """A custodian with 75 days of history (two or three bills per service point)."""
    seed_utility(module_engine, load_profile(), customers=3, seed=7, now=SEED_NOW, history_days=75)
    scopes = (SUMMARY_ONLY, WITH_COST, USAGE_ONLY)
    with live_custodian(module_engine, seed=False, scopes=scopes) as running:
        yield running


def stored_bills(engine: Engine, username: str) -> dict[str, tuple[Decimal, Decimal]]:
    """The customer's current bills by id: (usage, total)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Bill.uuid, Bill.usage, Bill.total, Bill.period_start)
            .join(Account, Account.id == Bill.account_id)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .join(
                AccountServicePoint,
                (AccountServicePoint.account_id == Account.id)
                & (AccountServicePoint.service_point_id == Bill.service_point_id),
            )
            .where(RetailCustomer.username == username, AccountServicePoint.move_out.is_(None))
        ).all()
    return {str(row.uuid): (row.usage, row.total) for row in rows}


def summaries(document: bytes) -> dict[str, etree._Element]:
    """UsageSummary contents by entry id."""
    found = {}
    for entry in etree.fromstring(document).iter(f"{ATOM}entry"):
        summary = entry.find(f"{ATOM}content/{ESPI}UsageSummary")
        if summary is not None:
            found[(entry.findtext(f"{ATOM}id") or "").removeprefix("urn:uuid:")] = summary
    return found


def test_summaries_state_each_bill_usage_and_with_fb16_its_amount(server, http):
    tokens = customer_tokens(http, server, server.third_party, WITH_COST)
    response = read(http, tokens["resourceURI"], tokens["access_token"])
    assert response.status_code == 200, response.text
    assert schema_errors(response.content) == []
    served = summaries(response.content)
    bills = stored_bills(server.engine, "customer0001")
    assert served
    assert set(served) <= set(bills)
    for bill_id, summary in served.items():
        usage, total = bills[bill_id]
        measured = summary.find(f"{ESPI}overallConsumptionLastPeriod")
        assert measured is not None
        value = Decimal(measured.findtext(f"{ESPI}value") or "nan")
        power = int(measured.findtext(f"{ESPI}powerOfTenMultiplier") or "nan")
        # Exact, never rounded: value × 10^power of the uom is the bill's usage in its unit
        # (kWh = Wh × 10³, CCF = ft³ × 10², therms × 10⁰).
        unit_power = {"72": 3, "119": 2, "169": 0}[measured.findtext(f"{ESPI}uom") or ""]
        assert value.scaleb(power - unit_power) == usage
        assert Decimal(summary.findtext(f"{ESPI}billLastPeriod") or "0") == total * 100_000
    assert not etree.fromstring(response.content).findall(f".//{ESPI}IntervalReading")


def test_without_fb16_the_amount_is_withheld_and_without_fb15_there_is_no_summary(server, http):
    summary_only = customer_tokens(http, server, server.third_party, SUMMARY_ONLY)
    document = read(http, summary_only["resourceURI"], summary_only["access_token"]).content
    served = summaries(document)
    assert served
    assert all(summary.find(f"{ESPI}billLastPeriod") is None for summary in served.values())
    usage_only = customer_tokens(http, server, server.third_party, USAGE_ONLY)
    assert not summaries(read(http, usage_only["resourceURI"], usage_only["access_token"]).content)


def test_the_usage_summary_collection_and_members_match_the_batch_feed(server, http):
    tokens = customer_tokens(http, server, server.third_party, WITH_COST)
    batch = summaries(read(http, tokens["resourceURI"], tokens["access_token"]).content)
    point = next(
        entry
        for entry in etree.fromstring(
            read(http, tokens["resourceURI"], tokens["access_token"]).content
        ).iter(f"{ATOM}entry")
        if entry.find(f"{ATOM}content/{ESPI}UsagePoint") is not None
    )
    point_id = (point.findtext(f"{ATOM}id") or "").removeprefix("urn:uuid:")
    collection = (
        f"{tokens['resourceURI'].replace('/Batch/', '/')}/UsagePoint/{point_id}/UsageSummary"
    )
    response = read(http, collection, tokens["access_token"])
    assert response.status_code == 200, response.text
    listed = summaries(response.content)
    assert listed
    assert set(listed) <= set(batch)
    member_id = min(listed)
    member = read(http, f"{collection}/{member_id}", tokens["access_token"])
    assert member.status_code == 200
    assert etree.tostring(summaries_of_entry(member.content), method="c14n") == etree.tostring(
        batch[member_id], method="c14n"
    )


def summaries_of_entry(document: bytes) -> etree._Element:
    summary = etree.fromstring(document).find(f"{ATOM}content/{ESPI}UsageSummary")
    assert summary is not None
    return summary
