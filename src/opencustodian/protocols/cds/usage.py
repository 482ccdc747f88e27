"""CDS Usage Segments (CDS-WG3-01 §10.8) from aligned interval readings.

A segment is a run of rows ``interval`` seconds apart from ``segment_start``; each row holds
one value per format column, ``null`` where that column has no reading (a gap). Reading
quality belongs to a *column* (§10.8.5.1.1 ``quality``), so a segment ends where any column's
quality changes: validated history and the provisional last day become separate segments
rather than one segment that would claim a single quality for both. A segment also ends where
the interval changes (a DST day of daily data is 23 or 25 hours) and at the end of each local
month, so segments are month-sized as in the draft's examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from opencustodian.domain.metering import Channel, Commodity
from opencustodian.domain.quality import ReadingQuality
from opencustodian.kit.time import from_epoch
from opencustodian.protocols.cds.objects import instant

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import datetime
    from decimal import Decimal

_Q = ReadingQuality
#: ESPI/IEC 61968-9 reading quality → CDS Reading Quality Type (§10.8.7.6).
QUALITY_NAMES: Final[dict[int, str]] = {
    _Q.VALID: "valid",
    _Q.MANUALLY_EDITED: "manual",
    _Q.ESTIMATED_USING_REFERENCE_DAY: "estimated",
    _Q.ESTIMATED_USING_LINEAR_INTERPOLATION: "estimated",
    _Q.QUESTIONABLE: "raw",
    _Q.DERIVED: "calculated",
    _Q.PROJECTED: "estimated",
    _Q.MIXED: "raw",
    _Q.RAW: "raw",
    _Q.NORMALIZED_FOR_WEATHER: "calculated",
    _Q.VALIDATED: "valid",
    _Q.VERIFIED: "valid",
    _Q.REVENUE_QUALITY: "revenue",
}
_VALUE_TYPES: Final = {
    Commodity.ELECTRICITY: ("electric_usage", "eu"),
    Commodity.GAS: ("natural_gas_usage", "gu"),
    Commodity.WATER: ("water_usage", "wu"),
}


@dataclass(frozen=True, slots=True)
class Column:
    """One usage column: a channel's values in ``unit``; ``priced`` adds a cost column."""

    commodity: Commodity
    channel: Channel
    unit: str
    currency: str | None = None

    @property
    def priced(self) -> bool:
        """Whether a cost column follows the usage columns for this one."""
        return self.currency is not None


@dataclass(frozen=True, slots=True)
class Cell:
    """One reading in a row: usage, cost (or None) and its quality code."""

    value: Decimal
    cost: Decimal | None
    quality: int | None


@dataclass
class SegmentRows:
    """A segment being built: rows of cells, one cell (or None) per column."""

    start: int
    interval: int
    qualities: list[int | None]
    rows: list[tuple[Cell | None, ...]] = field(default_factory=list)

    @property
    def end(self) -> int:
        """Where the segment's last row ends (epoch seconds)."""
        return self.start + self.interval * len(self.rows)


def segments(
    rows: Iterable[tuple[int, int, tuple[Cell | None, ...]]], columns: int, limit_end: int
) -> Iterator[SegmentRows]:
    """Group time-ordered ``(start, duration, cells)`` rows into segments (module docstring).

    ``limit_end`` is where the current local month ends: no segment crosses it.
    """
    current: SegmentRows | None = None
    for start, duration, cells in rows:
        if current is not None and not _continues(current, start, duration, cells, limit_end):
            yield current
            current = None
        if current is None:
            current = SegmentRows(start, duration, [None] * columns)
        _append(current, start, cells)
    if current is not None:
        yield current


def _continues(
    segment: SegmentRows,
    start: int,
    duration: int,
    cells: tuple[Cell | None, ...],
    limit_end: int,
) -> bool:
    if duration != segment.interval or start < segment.end or start >= limit_end:
        return False
    if (start - segment.start) % segment.interval:
        return False
    return all(
        cell is None or known is None or cell.quality == known
        for cell, known in zip(cells, segment.qualities, strict=True)
    )


def _append(segment: SegmentRows, start: int, cells: tuple[Cell | None, ...]) -> None:
    gap = (start - segment.end) // segment.interval
    segment.rows.extend([(None,) * len(cells)] * gap)
    segment.rows.append(cells)
    for index, cell in enumerate(cells):
        if cell is not None and segment.qualities[index] is None:
            segment.qualities[index] = cell.quality


@dataclass(frozen=True, slots=True)
class Related:
    """The ids a segment refers to (§10.8.1 ``related_*``)."""

    accounts: tuple[str, ...]
    contracts: tuple[str, ...]
    points: tuple[str, ...]
    meters: tuple[str, ...]
    aggregations: tuple[str, ...] = ()


def segment_object(
    segment_id: str,
    segment: SegmentRows,
    columns: Sequence[Column],
    related: Related,
    stamps: tuple[datetime, datetime, datetime],
) -> dict[str, object]:
    """A Usage Segment object (§10.8.1)."""
    created, modified, synced = stamps
    priced = [index for index, column in enumerate(columns) if column.priced]
    return {
        "cds_usagesegment_id": segment_id,
        "cds_created": instant(created),
        "cds_modified": instant(max(created, modified)),
        "cds_synced": instant(synced),
        "related_aggregations": list(related.aggregations),
        "related_accounts": list(related.accounts),
        "related_servicecontracts": list(related.contracts),
        "related_servicepoints": list(related.points),
        "related_meterdevices": list(related.meters),
        "related_billsections": [],
        "segment_start": instant(from_epoch(segment.start)),
        "segment_end": instant(from_epoch(segment.end)),
        "interval": segment.interval,
        "formats": _formats(columns, segment.qualities, priced),
        "values": [_row(row, columns, priced) for row in segment.rows],
    }


def _formats(
    columns: Sequence[Column], qualities: Sequence[int | None], priced: Sequence[int]
) -> list[dict[str, object]]:
    formats: list[dict[str, object]] = []
    for column, quality in zip(columns, qualities, strict=True):
        value_type, _ = _VALUE_TYPES[column.commodity]
        described: dict[str, object] = {
            "id": f"{value_type}_{column.channel.value}",
            "type": value_type,
            "units": column.unit,
        }
        if column.commodity is Commodity.ELECTRICITY:
            described["direction"] = column.channel.value
        name = QUALITY_NAMES.get(quality) if quality is not None else None
        if name is not None:
            described["quality"] = name
        formats.append(described)
    formats.extend(
        {
            "id": f"cost_{columns[index].channel.value}",
            "type": "cost",
            "currency": columns[index].currency,
            "indexes": [index],
        }
        for index in priced
    )
    return formats


def _row(
    cells: tuple[Cell | None, ...], columns: Sequence[Column], priced: Sequence[int]
) -> list[dict[str, object] | None]:
    values: list[dict[str, object] | None] = [
        None if cell is None else {_VALUE_TYPES[column.commodity][1]: cell.value}
        for cell, column in zip(cells, columns, strict=True)
    ]
    for index in priced:
        cell = cells[index]
        values.append(None if cell is None or cell.cost is None else {"c": cell.cost})
    return values
