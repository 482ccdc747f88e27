"""CDS Usage Segments for the caller's grants, read month by month under each grant's rights.

A grant's usage follows the same rights as its Green Button feed (``domain.usage_rights``):
which channels (net, delivered, received), how far back (history, never before the tenure
began, never after the grant's end), how fine (finer data summed up to the granted interval)
and whether costs are shown. The listing is planned first as *units* — one service point's
channels of one interval length over one local month — so paging and the ``before``/``after``
filters never read a reading they will not serve; each unit's readings are read when the
response streams it, and become one segment or more (``protocols.cds.usage``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from opencustodian.domain.metering import Channel, UnitOfMeasure
from opencustodian.domain.quantities import DisplayUnit, cost_amount, currency_code, display_unit
from opencustodian.domain.usage_rights import coarsened, usage_rights
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import (
    from_epoch,
    local_date,
    local_midnight,
    local_month_bounds,
    to_epoch,
)
from opencustodian.protocols.cds.objects import contract_id
from opencustodian.protocols.cds.usage import Cell, Column, Related, segment_object, segments

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import date, datetime

    from opencustodian.domain.customer_facts import CustomerRecord
    from opencustodian.domain.metering import (
        ChannelFacts,
        Reading,
        ReadingType,
        ServicePointFacts,
    )
    from opencustodian.domain.usage_rights import UsageRights
    from opencustodian.services.cds_records import CdsSettings, ReadGrant

#: Columns in a fixed order: net first (what a solar home is billed on), then each direction.
_CHANNEL_ORDER = {Channel.NET: 0, Channel.FORWARD: 1, Channel.REVERSE: 2}


class CdsUsageReader(Protocol):
    """The reads usage segments need (``storage.usage.SqlUsageStore`` and the customer store)."""

    def service_points(self, ids: Sequence[int]) -> list[ServicePointFacts]:
        """Service points by id."""
        ...

    def channels(self, service_point_ids: Sequence[int]) -> list[ChannelFacts]:
        """Channels of service points."""
        ...

    def readings(self, channel_id: int, first: int, end: int) -> Iterator[Reading]:
        """A channel's readings starting in ``[first, end)``."""
        ...

    def customer_record(
        self, grant_id: int, customer_id: int, held_since: Sequence[tuple[int, date]]
    ) -> CustomerRecord:
        """The grant's customer and what its live service points lead to."""
        ...


@dataclass(frozen=True, slots=True)
class UsageUnit:
    """One service point's channels of one interval over one local month, for one grant."""

    grant: ReadGrant
    rights: UsageRights
    point: ServicePointFacts
    channels: tuple[ChannelFacts, ...]
    first: int
    end: int
    month_end: int
    related: Related
    #: What the listing filters match besides ids: account, service point and meter numbers.
    numbers: dict[str, tuple[str | None, ...]]


def plan_units(
    reader: CdsUsageReader,
    grants: Sequence[ReadGrant],
    settings: CdsSettings,
    *,
    now: datetime,
    period: tuple[datetime | None, datetime | None],
) -> list[UsageUnit]:
    """Every unit the grants serve, in listing order; ``period`` is (``after``, ``before``).

    A query token reads every grant of its client, and a customer who authorized the client
    twice has the same point-months under both: such a unit is listed once, as the record
    listings list an object once (``cds_records.select``), when both grants' rights make it
    the very same segments (same channels, period, interval and costs).
    """
    units: list[UsageUnit] = []
    listed: set[tuple[object, ...]] = set()
    for grant in grants:
        for unit in _grant_units(reader, grant, settings, now, period):
            identity = _identity(unit)
            if identity not in listed:
                listed.add(identity)
                units.append(unit)
    return units


def _identity(unit: UsageUnit) -> tuple[object, ...]:
    """What a unit's segments depend on besides the readings (``unit_segments``)."""
    return (
        unit.point.id,
        tuple(channel.id for channel in unit.channels),
        unit.first,
        unit.end,
        unit.rights.finest_interval,
        unit.rights.costs,
    )


def _grant_units(
    reader: CdsUsageReader,
    grant: ReadGrant,
    settings: CdsSettings,
    now: datetime,
    period: tuple[datetime | None, datetime | None],
) -> Iterator[UsageUnit]:
    rights = usage_rights(grant.scopes, settings.max_history_seconds)
    end = to_epoch(grant.authorized_end) if grant.authorized_end else None
    window = rights.window(to_epoch(now), end)
    after, before = period
    first = window.first if after is None else max(window.first, to_epoch(after))
    last = window.end if before is None else min(window.end, to_epoch(before))
    record = reader.customer_record(grant.grant_id, grant.customer_id, grant.held_since)
    related = _related(record)
    numbers = _numbers(record)
    tenure = {
        point: to_epoch(local_midnight(day, settings.zone)) for point, day in grant.held_since
    }
    points = reader.service_points(grant.live_service_point_ids)
    channels = reader.channels([point.id for point in points]) if points else []
    for point in sorted(points, key=lambda item: str(item.uuid)):
        served = rights.channels(point.commodity, net_metered=point.net_metered)
        mine = [c for c in channels if c.service_point_id == point.id and c.channel in served]
        start = max(first, tenure.get(point.id, first))
        for group in _by_interval(mine):
            # Months before the first stored reading would be empty pages: start at the data.
            data_first = _first_start(reader, group, start, last)
            if data_first is None:
                continue
            for month_first, month_end in _months(data_first, last, settings):
                yield UsageUnit(
                    grant,
                    rights,
                    point,
                    group,
                    max(data_first, month_first),
                    min(last, month_end),
                    month_end,
                    related[point.id],
                    numbers[point.id],
                )


def _first_start(
    reader: CdsUsageReader, channels: Sequence[ChannelFacts], first: int, end: int
) -> int | None:
    starts = [
        reading[0]
        for channel in channels
        for reading in itertools.islice(reader.readings(channel.id, first, end), 1)
    ]
    return min(starts, default=None)


def _by_interval(channels: Sequence[ChannelFacts]) -> list[tuple[ChannelFacts, ...]]:
    groups: dict[int, list[ChannelFacts]] = {}
    for channel in channels:
        groups.setdefault(channel.reading_type.interval_length or 0, []).append(channel)
    return [
        tuple(sorted(group, key=lambda c: _CHANNEL_ORDER.get(c.channel, 9)))
        for _, group in sorted(groups.items())
    ]


def _months(first: int, end: int, settings: CdsSettings) -> Iterator[tuple[int, int]]:
    if end <= first:
        return
    day = local_date(first, settings.zone)
    year, month = day.year, day.month
    while True:
        month_first, month_end = local_month_bounds(year, month, settings.zone)
        if month_first >= end:
            return
        yield month_first, month_end
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)  # noqa: PLR2004


def _related(record: CustomerRecord) -> dict[int, Related]:
    accounts = {account.id: account for account in record.accounts}
    meters: dict[int, list[str]] = {}
    for meter in record.meters:
        meters.setdefault(meter.service_point_id, []).append(str(meter.uuid))
    related = {}
    for point in record.service_points:
        account = accounts.get(point.account_id)
        if account is None:
            continue
        related[point.id] = Related(
            accounts=(str(account.uuid),),
            contracts=(contract_id(account.uuid, point.uuid, point.held_since),),
            points=(str(point.uuid),),
            meters=tuple(meters.get(point.id, ())),
        )
    return related


def _numbers(record: CustomerRecord) -> dict[int, dict[str, tuple[str | None, ...]]]:
    accounts = {account.id: account.number for account in record.accounts}
    meters: dict[int, list[str]] = {}
    for meter in record.meters:
        meters.setdefault(meter.service_point_id, []).append(meter.number)
    return {
        point.id: {
            "account_numbers": (accounts.get(point.account_id),),
            "servicepoint_numbers": (point.esiid,),
            "meter_numbers": tuple(meters.get(point.id, ())) or (None,),
        }
        for point in record.service_points
    }


def unit_segments(
    reader: CdsUsageReader, unit: UsageUnit, settings: CdsSettings, now: datetime
) -> Iterator[dict[str, object]]:
    """The segment objects of one unit, read now."""
    if unit.end <= unit.first or unit.point.id not in {p for p, _ in unit.grant.held_since}:
        return
    columns = [_column(unit, channel) for channel in unit.channels]
    streams = [
        {
            reading[0]: reading
            for reading in coarsened(
                reader.readings(channel.id, unit.first, unit.end),
                unit.rights.finest_interval,
                settings.zone,
                keep_cost=unit.rights.costs,
            )
        }
        for channel in unit.channels
    ]
    rows = _aligned(streams, unit)
    signature = ",".join(f"{c.channel.value}:{c.currency or ''}" for c in columns)
    for segment in segments(rows, len(columns), unit.month_end):
        # The interval is part of what a segment is: one client may hold an hourly and a
        # 15-minute grant of the same point, whose segments start together.
        ident = stable_uuid(
            "cds-usage-segment", unit.point.uuid, signature, segment.interval, segment.start
        )
        stamps = (unit.point.created_at, from_epoch(segment.end), now)
        yield segment_object(str(ident), segment, columns, unit.related, stamps)


def cds_unit(reading_type: ReadingType) -> DisplayUnit:
    """The CDS unit (§10.8.7.1) of a reading type: gas is read in standard cubic feet.

    The everyday units (``domain.quantities``) are CDS units too, except gas: the draft's
    natural gas formats take Btu, therm, Sm3 or scf, so cubic feet are written as scf.
    """
    if reading_type.uom == UnitOfMeasure.CUBIC_FOOT:
        return DisplayUnit("scf", reading_type.power_of_ten_multiplier)
    return display_unit(reading_type)


def _column(unit: UsageUnit, channel: ChannelFacts) -> Column:
    unit_name = cds_unit(channel.reading_type).name
    currency = currency_code(channel.reading_type.currency) if unit.rights.costs else None
    return Column(unit.point.commodity, channel.channel, unit_name, currency)


def _aligned(
    streams: Sequence[dict[int, Reading]], unit: UsageUnit
) -> Iterator[tuple[int, int, tuple[Cell | None, ...]]]:
    units = [cds_unit(channel.reading_type) for channel in unit.channels]
    starts = sorted(set().union(*(stream.keys() for stream in streams)))
    for start in starts:
        cells: list[Cell | None] = []
        duration = 0
        for stream, display in zip(streams, units, strict=True):
            reading = stream.get(start)
            if reading is None:
                cells.append(None)
                continue
            duration = duration or reading[1]
            cost = reading[3]
            cells.append(
                Cell(
                    display.quantity(reading[2]),
                    cost_amount(cost) if cost is not None and unit.rights.costs else None,
                    reading[4],
                )
            )
        yield start, duration, tuple(cells)
