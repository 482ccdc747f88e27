"""Real-time usage over real HTTP (seed 000 §3.3e–g): the last day, electricity, provisional.

The utility here is seeded up to the wall clock (not the fixed ``SEED_NOW``), because the
real-time window is measured back from the moment the request is served.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from lxml import etree
from sqlalchemy import select

from opencustodian.demo.synthetic import seed_utility
from opencustodian.domain.quality import ReadingQuality
from opencustodian.kit.time import to_epoch, utc_now
from opencustodian.profile import load_profile
from opencustodian.storage.models import MeterReading, ServicePoint, interval_readings
from tests.custodian import live_custodian
from tests.functional.espi.test_usage_feeds import ATOM, ESPI, other_customer_tokens
from tests.functional.oauth.flows import customer_tokens, read
from tests.xsd import schema_errors

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian

LIMITS = load_profile().limits
LATENCY = int(LIMITS.real_time_latency.total_seconds())
WINDOW = int(LIMITS.real_time_window.total_seconds())


@pytest.fixture(scope="module")
def server(module_engine: Engine) -> Iterator[LiveCustodian]:
    """A custodian whose readings run up to now."""
    now = utc_now().replace(second=0, microsecond=0)
    seed_utility(module_engine, load_profile(), customers=3, seed=7, now=now, history_days=2)
    with live_custodian(module_engine, seed=False) as running:
        yield running


def real_time_uri(tokens: dict[str, str], usage_point: str | None = None) -> str:
    base = tokens["resourceURI"]
    return f"{base}/UsagePoint/{usage_point}/RealTime" if usage_point else f"{base}/RealTime"


def readings(document: bytes) -> list[tuple[int, int, int, int]]:
    """(start, duration, value, quality) of every IntervalReading."""

    def field(reading: etree._Element, path: str) -> int:
        return int(reading.findtext(path) or "-1")

    return [
        (
            field(reading, f"{ESPI}timePeriod/{ESPI}start"),
            field(reading, f"{ESPI}timePeriod/{ESPI}duration"),
            field(reading, f"{ESPI}value"),
            field(reading, f"{ESPI}ReadingQuality/{ESPI}quality"),
        )
        for reading in etree.fromstring(document).iter(f"{ESPI}IntervalReading")
    ]


def usage_points(engine: Engine, commodity: str) -> list[uuid.UUID]:
    """The seeded service points of one commodity."""
    with engine.connect() as connection:
        return list(
            connection.scalars(select(ServicePoint.uuid).where(ServicePoint.commodity == commodity))
        )


def stored_net(engine: Engine, point: uuid.UUID, first: int, end: int) -> list[tuple[int, int]]:
    """(start, value) of a solar home's net channel for readings ending in ``(first, end]``."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(interval_readings.c.start, interval_readings.c.value)
            .join(MeterReading, MeterReading.id == interval_readings.c.meter_reading_id)
            .join(ServicePoint, ServicePoint.id == MeterReading.service_point_id)
            .where(
                ServicePoint.uuid == point,
                MeterReading.channel == "net",
                interval_readings.c.start >= first,
                interval_readings.c.start + interval_readings.c.duration <= end,
            )
        ).all()
    return sorted((row.start, row.value) for row in rows)


def test_real_time_is_the_last_day_of_electricity_offered_after_the_latency(server, party, http):
    tokens = customer_tokens(http, server, party)  # customer0001: a solar home and gas
    before = to_epoch(utc_now())
    response = read(http, real_time_uri(tokens), tokens["access_token"])
    after = to_epoch(utc_now())
    assert response.status_code == 200, response.text
    document = response.content
    assert schema_errors(document) == []
    categories = [
        node.findtext(f"{ESPI}kind")
        for node in etree.fromstring(document).iter(f"{ESPI}ServiceCategory")
    ]
    assert categories == ["0"]  # the electric usage point only; its gas one is left out
    served = readings(document)
    assert served
    assert all(start >= before - WINDOW for start, *_ in served)
    assert all(start + duration <= after - LATENCY for start, duration, *_ in served)
    latest_end = max(start + duration for start, duration, *_ in served)
    assert latest_end > before - LATENCY - 900  # up to the latency, not short of it
    assert {quality for *_, quality in served} <= {int(ReadingQuality.RAW), *range(7, 14)}
    (solar,) = [
        point
        for point in usage_points(server.engine, "electricity")
        if stored_net(server.engine, point, 0, after)
    ]
    first = min(start for start, *_ in served)
    expected = stored_net(server.engine, solar, first, latest_end)
    assert [(start, value) for start, _, value, _ in served] == expected


def test_real_time_of_a_gas_usage_point_is_a_clear_client_error(server, party, http):
    tokens = customer_tokens(http, server, party)
    batch = read(http, tokens["resourceURI"], tokens["access_token"]).content
    gas = [
        (entry.findtext(f"{ATOM}id") or "").removeprefix("urn:uuid:")
        for entry in etree.fromstring(batch).iter(f"{ATOM}entry")
        if entry.findtext(f".//{ESPI}ServiceCategory/{ESPI}kind") == "1"
    ]
    assert len(gas) == 1
    response = read(http, real_time_uri(tokens, gas[0]), tokens["access_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "electricity only" in response.json()["error_description"]


def test_real_time_of_another_subscription_is_forbidden(server, party, http):
    mine = customer_tokens(http, server, party)
    theirs = other_customer_tokens(server, party)
    response = read(http, real_time_uri(theirs), mine["access_token"])
    assert response.status_code == 403
    assert b"IntervalReading" not in response.content
    assert read(http, real_time_uri(mine), "x" * 40).status_code == 401


def test_real_time_is_also_bounded_by_the_grants_history_length(server, party, http):
    """A one-hour HistoryLength leaves at most that hour of the real-time day."""
    scope = "FB=1_3_4_5;IntervalDuration=900;BlockDuration=Daily;HistoryLength=3600;"
    tokens = customer_tokens(http, server, party, scope)
    before = to_epoch(utc_now())
    response = read(http, real_time_uri(tokens), tokens["access_token"])
    assert response.status_code == 200, response.text
    served = readings(response.content)
    assert all(start >= before - 3600 - 60 for start, *_ in served)
    assert len(served) <= int(timedelta(hours=1).total_seconds()) // 900
