"""New-data notices: who is told, and the window they are told to fetch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from opencustodian.domain.ingest import ChangedSpan
from opencustodian.domain.notifications import DataAudience
from opencustodian.services.data_notices import notify_new_data

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

ZONE = ZoneInfo("America/New_York")
BASE = "https://dc.example"
ROOT = f"{BASE}/espi/1_1/resource/Batch"


class Audiences:
    def __init__(self, audiences: list[DataAudience]) -> None:
        self.rows = audiences

    def audiences(self, meter_reading_ids: Iterable[int]) -> list[DataAudience]:
        wanted = set(meter_reading_ids)
        return [row for row in self.rows if row.meter_reading_id in wanted]


class Outbox:
    def __init__(self, uris: dict[int, str | None]) -> None:
        self.uris = uris
        self.queued: list[tuple[int, str, str, str]] = []

    def notification_uri(self, application_id: int) -> str | None:
        return self.uris.get(application_id)

    def enqueue(self, application_id: int, uri: str, tag: str, body: str) -> None:
        self.queued.append((application_id, uri, tag, body))

    def record_attempt(self, *_: object, **__: object) -> None:
        raise AssertionError


def render(uris: Sequence[str]) -> str:
    return "|".join(uris)


def epoch(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def test_daily_readings_announce_whole_local_months_and_bulk_grants_their_bulk_uri() -> None:
    audiences = Audiences(
        [
            DataAudience(1, "sub-a", "FB=4_5;IntervalDuration=86400;", 10),
            DataAudience(1, "sub-b", "FB=4_5;BR=nightly;", 10),
            DataAudience(1, "sub-c", "FB=4_5;BR=nightly;", 11),
            DataAudience(2, "sub-d", "FB=4_5;", 11),  # no notification URI: skipped
            DataAudience(3, "sub-e", "FB=4_5;", 99),  # nothing changed there
        ]
    )
    outbox = Outbox({1: "https://tp.example/notify", 2: None, 3: "https://tp3.example/n"})
    # Daily readings for 2026-03-05 and 06 (local), 15-minute ones on 2026-03-08 (DST).
    spans = {
        10: ChangedSpan(epoch(2026, 3, 5, 5), epoch(2026, 3, 7, 5), 86_400),
        11: ChangedSpan(epoch(2026, 3, 8, 6), epoch(2026, 3, 8, 7), 900),
    }
    queued = notify_new_data(audiences, outbox, spans, base_url=BASE, zone=ZONE, render=render)
    assert queued == 1
    ((application, uri, _, body),) = outbox.queued
    assert (application, uri) == (1, "https://tp.example/notify")
    assert body.split("|") == [
        f"{ROOT}/Bulk/nightly",
        (
            f"{ROOT}/Subscription/sub-a?published-min=2026-03-01T05:00:00Z"
            "&published-max=2026-04-01T04:00:00Z"
        ),
    ]


def test_sub_daily_readings_announce_their_local_days_dst_included() -> None:
    audiences = Audiences([DataAudience(7, "sub", "FB=4_5;", 1)])
    outbox = Outbox({7: "https://tp.example/notify"})
    # 2026-03-08 is New York's 23-hour day: 05:00Z to 04:00Z the next day.
    spans = {1: ChangedSpan(epoch(2026, 3, 8, 6), epoch(2026, 3, 9, 3, 45), 900)}
    notify_new_data(audiences, outbox, spans, base_url=BASE, zone=ZONE, render=render)
    ((*_, body),) = outbox.queued
    assert body == (
        f"{ROOT}/Subscription/sub?published-min=2026-03-08T05:00:00Z"
        "&published-max=2026-03-09T04:00:00Z"
    )
