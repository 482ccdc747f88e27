"""Read side of metering data: service points, channels, readings and bills for feeds.

Readings come back in keyset pages (``start`` after the last one seen), each page on a
connection of its own, so a feed of any length streams with flat memory and holds no
transaction (and no SQLite read snapshot) open while the client reads slowly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from opencustodian.domain.metering import (
    BillFacts,
    Channel,
    ChannelFacts,
    Commodity,
    ReadingType,
    ServicePointFacts,
)
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Base,
    Bill,
    MeterReading,
    ReadingTypeRow,
    ServicePoint,
    interval_readings,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import date

    from sqlalchemy import Row, Select
    from sqlalchemy.engine import Engine

    from opencustodian.domain.metering import Reading

#: Readings per keyset page: 90 days of 15-minute data.
PAGE_SIZE = 8_640

_READING_TYPE_FIELDS = (
    "commodity",
    "kind",
    "uom",
    "power_of_ten_multiplier",
    "accumulation_behaviour",
    "flow_direction",
    "interval_length",
    "currency",
    "data_qualifier",
    "default_quality",
    "measuring_period",
    "phase",
    "time_attribute",
    "tou",
    "aggregate",
    "consumption_tier",
    "cpp",
)
_SERVICE_POINTS = Base.metadata.tables[ServicePoint.__tablename__]
_CHANNELS = Base.metadata.tables[MeterReading.__tablename__]
_READING_TYPES = Base.metadata.tables[ReadingTypeRow.__tablename__]
_BILLS = Base.metadata.tables[Bill.__tablename__]
_READINGS_PAGE = (
    select(
        interval_readings.c.start,
        interval_readings.c.duration,
        interval_readings.c.value,
        interval_readings.c.cost,
        interval_readings.c.quality,
    )
    .where(
        interval_readings.c.meter_reading_id == bindparam("channel_id"),
        interval_readings.c.start >= bindparam("first"),
        interval_readings.c.start < bindparam("end"),
    )
    .order_by(interval_readings.c.start)
    .limit(bindparam("page_size"))
)


class SqlUsageStore:
    """Metering reads over an engine; every call uses a short connection of its own."""

    def __init__(self, engine: Engine) -> None:
        """Read through ``engine``."""
        self._engine = engine

    def service_points(self, ids: Iterable[int]) -> list[ServicePointFacts]:
        """The service points with these ids, ordered by id (a stable feed order)."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        table = _SERVICE_POINTS
        statement = (
            select(
                table.c.id,
                table.c.uuid,
                table.c.title,
                table.c.commodity,
                table.c.net_metered,
                table.c.created_at,
            )
            .where(table.c.id.in_(wanted))
            .order_by(table.c.id)
        )
        rows = self._all(statement)
        return [
            ServicePointFacts(
                row.id,
                row.uuid,
                row.title,
                Commodity(row.commodity),
                row.net_metered,
                row.created_at,
            )
            for row in rows
        ]

    def service_point_ids(self, uuids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        """The ids of the service points with these public ids (unknown ones are absent)."""
        wanted = list(set(uuids))
        if not wanted:
            return {}
        statement = select(_SERVICE_POINTS.c.uuid, _SERVICE_POINTS.c.id).where(
            _SERVICE_POINTS.c.uuid.in_(wanted)
        )
        return {row.uuid: row.id for row in self._all(statement)}

    def account_service_point_ids(self, account_number: str) -> list[int] | None:
        """Every service point an account has held, or None when there is no such account."""
        accounts = Base.metadata.tables[Account.__tablename__]
        tenures = Base.metadata.tables[AccountServicePoint.__tablename__]
        with self._engine.connect() as connection:
            account_id = connection.scalar(
                select(accounts.c.id).where(accounts.c.account_number == account_number)
            )
            if account_id is None:
                return None
            points = connection.scalars(
                select(tenures.c.service_point_id)
                .where(tenures.c.account_id == account_id)
                .distinct()
            )
            return sorted(points)

    def channels(self, service_point_ids: Iterable[int]) -> list[ChannelFacts]:
        """Every channel of these service points with its reading type, ordered by id."""
        wanted = sorted(set(service_point_ids))
        if not wanted:
            return []
        statement = (
            select(
                _CHANNELS.c.id,
                _CHANNELS.c.uuid,
                _CHANNELS.c.service_point_id,
                _CHANNELS.c.channel,
                _CHANNELS.c.title,
                *(_READING_TYPES.c[name] for name in _READING_TYPE_FIELDS),
            )
            .join_from(
                _CHANNELS, _READING_TYPES, _READING_TYPES.c.id == _CHANNELS.c.reading_type_id
            )
            .where(_CHANNELS.c.service_point_id.in_(wanted))
            .order_by(_CHANNELS.c.id)
        )
        rows = self._all(statement)
        return [
            ChannelFacts(
                row.id,
                row.uuid,
                row.service_point_id,
                Channel(row.channel),
                row.title,
                ReadingType(**{name: getattr(row, name) for name in _READING_TYPE_FIELDS}),
            )
            for row in rows
        ]

    def _all(self, statement: Select[Any]) -> Sequence[Row[Any]]:
        """Every row of ``statement``, read on a short connection of its own."""
        with self._engine.connect() as connection:
            return connection.execute(statement).all()

    def readings(self, channel_id: int, first: int, end: int) -> Iterator[Reading]:
        """The channel's readings starting in ``[first, end)``, by start, page by page."""
        cursor = first
        while True:
            with self._engine.connect() as connection:
                result = connection.execute(
                    _READINGS_PAGE,
                    {"channel_id": channel_id, "first": cursor, "end": end, "page_size": PAGE_SIZE},
                )
                # The driver's own tuples, as they come: building a Row per reading and
                # copying it to a tuple cost more than reading it (BENCHMARKS.md, "Bulk").
                page: Sequence[Reading] = result.cursor.fetchall()
            yield from page
            if len(page) < PAGE_SIZE:
                return
            cursor = page[-1][0] + 1

    def bills(self, service_point_ids: Iterable[int], ending_after: date) -> list[BillFacts]:
        """Bills of these service points whose period ends after ``ending_after``."""
        wanted = sorted(set(service_point_ids))
        if not wanted:
            return []
        statement = (
            select(
                _BILLS.c.uuid,
                _BILLS.c.service_point_id,
                _BILLS.c.period_start,
                _BILLS.c.period_end,
                _BILLS.c.issued_on,
                _BILLS.c.usage,
                _BILLS.c.usage_unit,
                _BILLS.c.total,
                _BILLS.c.currency,
            )
            .where(_BILLS.c.service_point_id.in_(wanted), _BILLS.c.period_end > ending_after)
            .order_by(_BILLS.c.service_point_id, _BILLS.c.period_start)
        )
        rows = self._all(statement)
        return [BillFacts(**row._asdict()) for row in rows]
