"""Signing a customer in to the portal and reading what its pages and the database hold."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from opencustodian.demo.synthetic import DEMO_PASSWORD
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    MeterReading,
    RetailCustomer,
    ServicePoint,
    interval_readings,
)
from tests.custodian import form_value

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian

#: The bundled profile's territory.
ZONE = ZoneInfo("America/New_York")
StoredReading = tuple[int, int, int, int | None, int | None]


@contextmanager
def customer_browser(
    server: LiveCustodian, username: str, path: str
) -> Iterator[tuple[httpx.Client, str]]:
    """A cookie jar signed in as ``username``, and the page at ``path`` it was sent on to."""
    with httpx.Client(timeout=30) as http:
        bounced = http.get(f"{server.base_url}{path}")
        assert bounced.status_code == 303, bounced.text
        login = http.get(f"{server.base_url}{bounced.headers['location']}").text
        signed_in = http.post(
            f"{server.base_url}/login",
            data={
                "csrf": form_value(login, "csrf"),
                "next": form_value(login, "next"),
                "username": username,
                "password": DEMO_PASSWORD,
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == path
        page = http.get(f"{server.base_url}{path}", follow_redirects=True)
        assert page.status_code == 200, page.text
        yield http, page.text


def download_form(
    page: str, points: list[str], first: str, last: str, fmt: str
) -> dict[str, str | list[str]]:
    """The download form's fields as a browser would post them."""
    return {
        "csrf": form_value(page, "csrf"),
        "service_point": points,
        "from": first,
        "to": last,
        "format": fmt,
    }


def point_ids(engine: Engine, username: str) -> list[str]:
    """The ids of the service points a customer's accounts hold."""
    with engine.connect() as connection:
        rows = connection.scalars(
            select(ServicePoint.uuid)
            .join(AccountServicePoint, AccountServicePoint.service_point_id == ServicePoint.id)
            .join(Account, Account.id == AccountServicePoint.account_id)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .where(RetailCustomer.username == username)
            .order_by(ServicePoint.id)
        )
        return [str(point) for point in rows]


def stored_readings(
    engine: Engine, points: list[str], first: int = 0
) -> dict[tuple[str, str], list[StoredReading]]:
    """Every stored reading of these points from ``first``, by (service point, channel)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ServicePoint.uuid,
                MeterReading.channel,
                interval_readings.c.start,
                interval_readings.c.duration,
                interval_readings.c.value,
                interval_readings.c.cost,
                interval_readings.c.quality,
            )
            .join(MeterReading, MeterReading.service_point_id == ServicePoint.id)
            .join(interval_readings, interval_readings.c.meter_reading_id == MeterReading.id)
            .where(interval_readings.c.start >= first)
            .order_by(interval_readings.c.start)
        ).all()
    grouped: dict[tuple[str, str], list[StoredReading]] = defaultdict(list)
    for point, channel, start, duration, value, cost, quality in rows:
        if str(point) in points:
            grouped[str(point), channel].append((start, duration, value, cost, quality))
    return dict(grouped)


def local_midnight_epoch(day: date) -> int:
    """Epoch seconds of local midnight of ``day`` in the territory."""
    return int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp())


def local_day(epoch: int) -> date:
    """The territory's local date at ``epoch``."""
    return datetime.fromtimestamp(epoch, UTC).astimezone(ZONE).date()


def error_message(page: str, element_id: str) -> str:
    """The text of the alert ``element_id`` on a page."""
    match = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert match, page
    return html.unescape(match.group(1))
