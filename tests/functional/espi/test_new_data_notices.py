"""New readings imported → each covering subscription's third party is told what to fetch.

Real parts end to end: ``opencustodian import`` of a CSV, the outbox, a BatchList POSTed to a
real HTTP receiver, and the announced URI fetched with the customer's token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from opencustodian.cli import app
from opencustodian.storage.models import Account, AccountServicePoint, Meter, RetailCustomer
from tests.custodian import SEED_NOW
from tests.functional.espi.test_usage_feeds import ESPI
from tests.functional.oauth.flows import customer_tokens, read, unique_name
from tests.receiver import Receiver, running_receiver

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian, ThirdParty

# SEED_NOW is 2026-11-01 12:00Z, the day New York leaves DST: that local day is 25 hours,
# from 04:00Z to 05:00Z the next day, and the announced window must be exactly that day.
NEW_READINGS = [(SEED_NOW + timedelta(minutes=15 * index), 1000 + index) for index in range(8)]
LOCAL_DAY = (datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 2, 5, tzinfo=UTC))
DAY_WINDOW = "published-min=2026-11-01T04:00:00Z&published-max=2026-11-02T05:00:00Z"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def listening_party(server: LiveCustodian, receiver: Receiver) -> ThirdParty:
    return server.register(unique_name("Notified"), notification_uri=receiver.url)


def electric_meter(engine: Engine, username: str) -> str:
    """The number of the electric meter a customer holds today."""
    with engine.connect() as connection:
        number = connection.scalar(
            select(Meter.meter_number)
            .join(
                AccountServicePoint,
                AccountServicePoint.service_point_id == Meter.service_point_id,
            )
            .join(Account, Account.id == AccountServicePoint.account_id)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .where(
                RetailCustomer.username == username,
                AccountServicePoint.move_out.is_(None),
                Meter.meter_number.startswith("E"),
            )
        )
    assert number is not None
    return number


@pytest.fixture
def import_new_readings(
    server: LiveCustodian, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[], str]:
    """``opencustodian import --json`` of NEW_READINGS for customer0002; the output."""
    meter = electric_meter(server.engine, "customer0002")
    csv_path = tmp_path / "new.csv"
    rows = [
        f"{meter},{start.isoformat()},900,{value / 1000},kWh,14" for start, value in NEW_READINGS
    ]
    csv_path.write_text("meter,start,duration,value,unit,quality\n" + "\n".join(rows) + "\n")
    monkeypatch.setenv(
        "OPENCUSTODIAN_DATABASE_URL", server.engine.url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("OPENCUSTODIAN_BASE_URL", server.base_url)

    def run() -> str:
        result = CliRunner().invoke(app, ["import", "--json", str(csv_path)])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_an_import_notifies_the_covering_subscription_with_the_day_to_fetch(
    server, listening_party, receiver, http, import_new_readings
):
    mine = customer_tokens(http, server, listening_party, username="customer0002")
    with httpx.Client(timeout=30) as browser:  # another customer signs in on their own browser
        other = customer_tokens(browser, server, listening_party, username="customer0003")
    output = import_new_readings()
    assert '"third_parties_notified": 1' in output

    announced = f"{mine['resourceURI']}?{DAY_WINDOW}"
    receiver.wait_for(announced)
    assert not [uri for uri in receiver.resources if other["resourceURI"] in uri]
    feed = read(http, announced, mine["access_token"])
    assert feed.status_code == 200
    served = {
        (
            int(reading.findtext(f"{ESPI}timePeriod/{ESPI}start") or 0),
            reading.findtext(f"{ESPI}value"),
        )
        for reading in etree.fromstring(feed.content).iter(f"{ESPI}IntervalReading")
    }
    assert {(int(start.timestamp()), str(value)) for start, value in NEW_READINGS} <= served
    day_start, day_end = (int(moment.timestamp()) for moment in LOCAL_DAY)
    intervals = [
        (
            int(block.findtext(f"{ESPI}interval/{ESPI}start") or 0),
            int(block.findtext(f"{ESPI}interval/{ESPI}duration") or 0),
        )
        for block in etree.fromstring(feed.content).iter(f"{ESPI}IntervalBlock")
    ]
    assert intervals
    assert all(day_start <= start and start + length <= day_end for start, length in intervals)

    again = import_new_readings()
    assert '"third_parties_notified": 0' in again  # nothing changed: nobody is told
