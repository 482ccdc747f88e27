"""Batch rules without a database: bulk ids, who may Bulk, request identity, size estimates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from opencustodian.domain.batches import BatchKind, SharedGrant
from opencustodian.domain.metering import (
    Channel,
    ChannelFacts,
    Commodity,
    ReadingType,
    ServicePointFacts,
)
from opencustodian.protocols.espi.query import FeedQuery
from opencustodian.services.batches import (
    bulk_grants,
    carries_bulk_id,
    client_may_bulk,
    estimated_readings,
    request_key,
)
from opencustodian.services.usage_feeds import FeedSettings

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from opencustodian.domain.metering import BillFacts, Reading

NOW = datetime(2026, 11, 1, tzinfo=UTC)
DAY = 86_400
NEW_YORK = ZoneInfo("America/New_York")
SETTINGS = FeedSettings("https://dc.example", NEW_YORK, max_history_seconds=2 * 365 * DAY)
QUARTER_HOUR = ReadingType(commodity=1, kind=12, uom=72, interval_length=900)


def grant(grant_id: int, scope: str, *points: int, since: date = date(2020, 1, 1)) -> SharedGrant:
    return SharedGrant(
        grant_id=grant_id,
        grant_uuid=str(uuid.uuid4()),
        subscription_uuid=str(uuid.uuid4()),
        scope=scope,
        authorized_end=None,
        held_since=tuple((point, since) for point in points),
    )


@pytest.mark.parametrize(
    ("scope", "carries"),
    [
        ("FB=1_3_4_5;BR=7;", True),
        ("FB=4_5;HistoryLength=86400;br=7", True),  # term names ignore case, ";" optional
        ("FB=4_5;BR=70;", False),  # the reference's LIKE '%BR=7%' would match this one
        ("FB=4_5;AdditionalScope=BR=7;", False),  # not a BR term at all
        ("FB=4_5;", False),
        ("FB=4_5;BR=8;|FB=15;BR=7;", True),  # one of several |-joined scopes
        ("FB=4_5;BR=7;BR=7;", False),  # unreadable (a repeated term): reads nothing
    ],
)
def test_a_bulk_id_is_read_from_the_parsed_scope(scope: str, *, carries: bool) -> None:
    assert carries_bulk_id(scope, "7") is carries


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [("FB=35_67;", True), ("FB=35;", True), ("FB=67;", False), ("FB=36_40;", False), ("", False)],
)
def test_bulk_needs_function_block_35(scope: str, *, allowed: bool) -> None:
    assert client_may_bulk(scope) is allowed


def test_bulk_grants_keep_the_br_ones_and_each_usage_point_once() -> None:
    older = grant(1, "FB=4_5;BR=7;", 10, 11)
    elsewhere = grant(2, "FB=4_5;BR=8;", 12)
    twice = grant(3, "FB=4_5;BR=7;", 11, 13)  # the customer authorized the party again
    covered = grant(4, "FB=4_5;BR=7;", 10)  # nothing left once the older grant serves it

    chosen = bulk_grants([older, elsewhere, twice, covered], "7")

    assert [one.grant_id for one in chosen] == [1, 3]
    assert chosen[0].live_service_point_ids == (10, 11)
    assert chosen[1].live_service_point_ids == (13,)


def test_a_request_is_identified_by_caller_resource_and_parsed_query() -> None:
    base = {
        "kind": BatchKind.BULK,
        "application_id": 1,
        "grant_id": None,
        "subject": "7",
        "usage_point": None,
        "query": FeedQuery(),
    }
    key = request_key(**base)  # type: ignore[arg-type]
    assert key == request_key(**base)  # type: ignore[arg-type]
    for change in (
        {"application_id": 2},
        {"subject": "8"},
        {"query": FeedQuery(published_min=0)},
        {"kind": BatchKind.SUBSCRIPTION, "grant_id": 5},
    ):
        assert request_key(**{**base, **change}) != key  # type: ignore[arg-type]


@dataclass
class FakeReader:
    """The two reads the estimate makes; readings and bills are never asked for."""

    points: list[ServicePointFacts]
    channel_list: list[ChannelFacts]
    asked: list[str] = field(default_factory=list)

    def service_points(self, ids: Iterable[int]) -> list[ServicePointFacts]:
        wanted = set(ids)
        return [point for point in self.points if point.id in wanted]

    def channels(self, service_point_ids: Iterable[int]) -> list[ChannelFacts]:
        wanted = set(service_point_ids)
        return [channel for channel in self.channel_list if channel.service_point_id in wanted]

    def readings(self, channel_id: int, first: int, end: int) -> Iterator[Reading]:
        self.asked.append(f"readings {channel_id} {first} {end}")
        return iter(())

    def bills(self, service_point_ids: Iterable[int], ending_after: date) -> list[BillFacts]:
        self.asked.append(f"bills {list(service_point_ids)} {ending_after}")
        return []


def reader() -> FakeReader:
    point = ServicePointFacts(
        1, uuid.uuid4(), "home", Commodity.ELECTRICITY, net_metered=False, created_at=NOW
    )
    solar = ServicePointFacts(
        2, uuid.uuid4(), "solar", Commodity.ELECTRICITY, net_metered=True, created_at=NOW
    )
    channels = [
        ChannelFacts(1, uuid.uuid4(), 1, Channel.FORWARD, None, QUARTER_HOUR),
        ChannelFacts(2, uuid.uuid4(), 2, Channel.NET, None, QUARTER_HOUR),
        ChannelFacts(3, uuid.uuid4(), 2, Channel.FORWARD, None, QUARTER_HOUR),  # FB 8 only
    ]
    return FakeReader([point, solar], channels)


def test_the_estimate_is_served_channels_times_window_over_interval() -> None:
    usage = grant(1, "FB=4_5;HistoryLength=864000;", 1, 2)  # ten days
    fake = reader()
    ten_days = estimated_readings(fake, usage, SETTINGS, now=NOW, query=FeedQuery())
    assert ten_days == 2 * 10 * 96  # forward of the home, net of the solar home
    assert fake.asked == []  # an estimate reads no reading


def test_the_estimate_follows_tenure_query_interval_and_page_size() -> None:
    usage = grant(1, "FB=4_5;HistoryLength=864000;", 1, 2)
    moved_in = grant(1, "FB=4_5;HistoryLength=864000;", 1, since=date(2026, 10, 30))
    hourly = grant(1, "FB=4_5;IntervalDuration=3600;HistoryLength=864000;", 1)
    one_day = FeedQuery(published_min=int(NOW.timestamp()) - DAY)
    estimate = estimated_readings

    assert estimate(reader(), usage, SETTINGS, now=NOW, query=one_day) == 2 * 96
    assert estimate(reader(), moved_in, SETTINGS, now=NOW, query=FeedQuery()) < 3 * 96
    assert estimate(reader(), hourly, SETTINGS, now=NOW, query=FeedQuery()) == 10 * 24
    assert estimate(reader(), usage, SETTINGS, now=NOW, query=FeedQuery(max_results=1)) == 300
    fake = reader()
    point = fake.points[0].uuid
    one_point = estimate(fake, usage, SETTINGS, now=NOW, query=FeedQuery(), usage_point=point)
    assert one_point == 10 * 96
