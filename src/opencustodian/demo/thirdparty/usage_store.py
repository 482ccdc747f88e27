"""The demo third party's copy of the usage data it fetched, in its own SQLite file.

Per connection: the usage points and meter readings of its feed (keyed by their ``self``
hrefs, so a later fetch updates rather than duplicates them), every interval reading (one per
meter reading and start: a re-fetch after a notification replaces corrected values), the
feed's LocalTimeParameters, and a log of fetches (when, why, outcome). Values are stored as the
exact decimal text the client produced (kWh, CCF …), never as floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from opencustodian.client import IntervalValue, LocalTimeParameters

if TYPE_CHECKING:
    import sqlite3

    from opencustodian.client import MeterReadingSeries, UsageFeed, UsagePointSeries
    from opencustodian.demo.thirdparty.store import Database

EARLIEST = -(2**63)  # SQLite INTEGER range: "no bound" in range queries
LATEST = 2**63 - 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id INTEGER NOT NULL REFERENCES connections (id),
    href TEXT NOT NULL,
    entry_id TEXT,
    title TEXT,
    service_kind INTEGER,
    UNIQUE (connection_id, href)
);
CREATE TABLE IF NOT EXISTS meter_readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    usage_point_id INTEGER NOT NULL REFERENCES usage_points (id),
    href TEXT NOT NULL,
    entry_id TEXT,
    title TEXT,
    unit TEXT NOT NULL,
    uom INTEGER,
    power_of_ten_multiplier INTEGER NOT NULL,
    interval_length INTEGER,
    flow_direction INTEGER,
    UNIQUE (usage_point_id, href)
);
CREATE TABLE IF NOT EXISTS readings (
    meter_reading_id INTEGER NOT NULL REFERENCES meter_readings (id),
    start INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (meter_reading_id, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feed_local_time (
    connection_id INTEGER PRIMARY KEY REFERENCES connections (id),
    tz_offset INTEGER NOT NULL,
    dst_offset INTEGER NOT NULL,
    dst_start_rule INTEGER NOT NULL,
    dst_end_rule INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fetches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id INTEGER NOT NULL REFERENCES connections (id),
    uri TEXT NOT NULL,
    reason TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT,
    readings INTEGER,
    pages INTEGER,
    error TEXT
);
"""


@dataclass(frozen=True, slots=True)
class Fetch:
    """One fetch of a feed: ``reason`` is ``connected``, ``notification`` or ``manual``.

    ``outcome`` is None while it runs, then ``ok``, ``error``, or ``pending`` (the custodian
    answered 202: it prepares the feed as a job and will notify; ``error`` holds the job URI).
    """

    id: int
    connection_id: int
    uri: str
    reason: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    readings: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class StoredSeries:
    """One stored meter reading of a connection, with what the chart page shows about it."""

    id: int
    usage_point_title: str | None
    usage_point_href: str
    service_kind: int | None
    entry_id: str | None
    title: str | None
    unit: str
    interval_length: int | None
    reading_count: int
    first_start: int | None
    last_start: int | None


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class UsageStore:
    """Fetched usage data and the fetch log, in the third party's :class:`Database`."""

    def __init__(self, database: Database) -> None:
        """Create the tables if they are missing."""
        self.database = database
        with database.transaction() as connection:
            connection.executescript(SCHEMA)

    # -- fetch log -----------------------------------------------------------------------------

    def start_fetch(self, connection_id: int, uri: str, reason: str, now: datetime) -> int:
        """Record that a fetch began; returns its id."""
        with self.database.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO fetches (connection_id, uri, reason, started_at) VALUES (?, ?, ?, ?)",
                (connection_id, uri, reason, _text(now)),
            )
        fetch_id = cursor.lastrowid
        assert fetch_id is not None  # noqa: S101 - sqlite3 always sets it after INSERT
        return fetch_id

    def finish_fetch(  # noqa: PLR0913 - one keyword per column of the fetch log
        self,
        fetch_id: int,
        now: datetime,
        *,
        readings: int | None = None,
        pages: int | None = None,
        error: str | None = None,
        outcome: str | None = None,
    ) -> None:
        """Record how a fetch ended: ``ok``, ``error`` (with ``error``) or ``pending``."""
        with self.database.transaction() as connection:
            connection.execute(
                "UPDATE fetches SET finished_at = ?, outcome = ?, readings = ?, pages = ?,"
                " error = ? WHERE id = ?",
                (
                    _text(now),
                    outcome or ("ok" if error is None else "error"),
                    readings,
                    pages,
                    error,
                    fetch_id,
                ),
            )

    def fetches(self, connection_id: int, limit: int = 20) -> list[Fetch]:
        """The latest fetches of a connection, newest first."""
        with self.database.transaction() as connection:
            rows = connection.execute(
                "SELECT id, connection_id, uri, reason, started_at, finished_at, outcome,"
                " readings, error FROM fetches WHERE connection_id = ? ORDER BY id DESC LIMIT ?",
                (connection_id, limit),
            ).fetchall()
        return [
            Fetch(
                row[0],
                row[1],
                row[2],
                row[3],
                datetime.fromisoformat(row[4]),
                None if row[5] is None else datetime.fromisoformat(row[5]),
                row[6],
                row[7],
                row[8],
            )
            for row in rows
        ]

    # -- usage data ----------------------------------------------------------------------------

    def save_feed(self, connection_id: int, feed: UsageFeed) -> None:
        """Merge a fetched feed into the connection's data, in one transaction."""
        with self.database.transaction() as connection:
            for point in feed.usage_points:
                point_id = _upsert_point(connection, connection_id, point)
                for meter in point.meter_readings:
                    meter_id = _upsert_meter(connection, point_id, meter)
                    connection.executemany(
                        "INSERT INTO readings (meter_reading_id, start, duration, value)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (meter_reading_id, start) DO UPDATE"
                        " SET duration = excluded.duration, value = excluded.value",
                        (
                            (meter_id, reading.start, reading.duration, str(reading.value))
                            for reading in meter.readings
                        ),
                    )
            if feed.local_time is not None:
                local = feed.local_time
                connection.execute(
                    "INSERT OR REPLACE INTO feed_local_time (connection_id, tz_offset,"
                    " dst_offset, dst_start_rule, dst_end_rule) VALUES (?, ?, ?, ?, ?)",
                    (
                        connection_id,
                        local.tz_offset,
                        local.dst_offset,
                        local.dst_start_rule,
                        local.dst_end_rule,
                    ),
                )

    def series(self, connection_id: int) -> list[StoredSeries]:
        """The connection's meter readings, in the order they were first fetched."""
        with self.database.transaction() as connection:
            rows = connection.execute(
                "SELECT m.id, p.title, p.href, p.service_kind, m.entry_id, m.title, m.unit,"
                " m.interval_length, COUNT(r.start), MIN(r.start), MAX(r.start)"
                " FROM meter_readings m JOIN usage_points p ON p.id = m.usage_point_id"
                " LEFT JOIN readings r ON r.meter_reading_id = m.id"
                " WHERE p.connection_id = ? GROUP BY m.id ORDER BY p.id, m.id",
                (connection_id,),
            ).fetchall()
        return [StoredSeries(*row) for row in rows]

    def readings(
        self, meter_reading_id: int, first: int | None = None, end: int | None = None
    ) -> list[IntervalValue]:
        """The stored readings of one meter reading starting in [first, end), by start."""
        with self.database.transaction() as connection:
            rows = connection.execute(
                "SELECT start, duration, value FROM readings WHERE meter_reading_id = ?"
                " AND start >= ? AND start < ? ORDER BY start",
                (
                    meter_reading_id,
                    -(2**63) if first is None else first,
                    2**63 - 1 if end is None else end,
                ),
            ).fetchall()
        return [IntervalValue(row[0], row[1], Decimal(row[2])) for row in rows]

    def local_time(self, connection_id: int) -> LocalTimeParameters | None:
        """The LocalTimeParameters the connection's feed declared, if it did."""
        with self.database.transaction() as connection:
            row = connection.execute(
                "SELECT tz_offset, dst_offset, dst_start_rule, dst_end_rule FROM feed_local_time"
                " WHERE connection_id = ?",
                (connection_id,),
            ).fetchone()
        return None if row is None else LocalTimeParameters(*row)


def _upsert_point(
    connection: sqlite3.Connection, connection_id: int, point: UsagePointSeries
) -> int:
    row = connection.execute(
        "INSERT INTO usage_points (connection_id, href, entry_id, title, service_kind)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection_id, href) DO UPDATE"
        " SET entry_id = excluded.entry_id, title = excluded.title,"
        " service_kind = excluded.service_kind RETURNING id",
        (connection_id, point.href, point.entry_id, point.title, point.service_kind),
    ).fetchone()
    return int(row[0])


def _upsert_meter(connection: sqlite3.Connection, point_id: int, meter: MeterReadingSeries) -> int:
    kind = meter.reading_type
    row = connection.execute(
        "INSERT INTO meter_readings (usage_point_id, href, entry_id, title, unit, uom,"
        " power_of_ten_multiplier, interval_length, flow_direction)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (usage_point_id, href) DO UPDATE"
        " SET entry_id = excluded.entry_id, title = excluded.title, unit = excluded.unit"
        " RETURNING id",
        (
            point_id,
            meter.href,
            meter.entry_id,
            meter.title,
            meter.unit,
            kind.uom,
            kind.power_of_ten_multiplier,
            kind.interval_length,
            kind.flow_direction,
        ),
    ).fetchone()
    return int(row[0])
