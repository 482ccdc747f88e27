"""What an import source yields, and what an import reports.

Parsers (ESPI XML, CSV) turn a file into a stream of *source records* in dependency order: a
service point before its meter readings, a meter reading before its readings. The ingest service
writes them through the ``IngestTarget`` port; the file's summary counts what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from opencustodian.domain.metering import DURATION, START

if TYPE_CHECKING:
    import uuid
    from collections.abc import Sequence

    from opencustodian.domain.metering import Commodity, Reading, ReadingType


class ImportRejectedError(ValueError):
    """A file cannot be imported; the message names what is wrong and where."""


@dataclass(frozen=True, slots=True)
class SourceServicePoint:
    """A service point named by a source.

    ``key`` identifies it within the file. A feed's service point carries its stable ``uuid`` and
    is created when new; a CSV's names an existing meter by ``meter_number`` instead.
    """

    key: str
    uuid: uuid.UUID | None = None
    title: str | None = None
    commodity: Commodity | None = None
    meter_number: str | None = None


@dataclass(frozen=True, slots=True)
class SourceMeterReading:
    """A channel of readings at a service point, with what its values mean."""

    key: str
    service_point_key: str
    reading_type: ReadingType
    uuid: uuid.UUID | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class SourceReadings:
    """A batch of readings for one meter reading (an ESPI IntervalBlock, or CSV rows)."""

    meter_reading_key: str
    readings: list[Reading]


@dataclass(frozen=True, slots=True)
class SourceWarning:
    """A readable quirk the parser tolerated; it is reported, not fatal."""

    message: str


SourceRecord: TypeAlias = SourceServicePoint | SourceMeterReading | SourceReadings | SourceWarning


@dataclass(slots=True)
class MergeCounts:
    """What merging a batch of readings did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: MergeCounts) -> None:
        """Accumulate another batch's counts."""
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass(frozen=True, slots=True)
class ChangedSpan:
    """Readings an import wrote: from ``first`` to ``end`` (epoch seconds).

    ``shortest`` is the shortest reading's length, which says whether they sit in day or in
    month IntervalBlocks.
    """

    first: int
    end: int
    shortest: int

    @classmethod
    def of(cls, readings: Sequence[Reading]) -> ChangedSpan:
        """The span of a non-empty batch of readings."""
        return cls(
            min(reading[START] for reading in readings),
            max(reading[START] + reading[DURATION] for reading in readings),
            min(reading[DURATION] for reading in readings),
        )

    def union(self, other: ChangedSpan) -> ChangedSpan:
        """The span covering both."""
        return ChangedSpan(
            min(self.first, other.first),
            max(self.end, other.end),
            min(self.shortest, other.shortest),
        )


@dataclass(slots=True)
class ImportSummary:
    """The report of one file: what it held, what changed, and what was tolerated."""

    path: str
    file_format: str
    service_points: int = 0
    meter_readings: int = 0
    readings: MergeCounts = field(default_factory=MergeCounts)
    warnings: list[str] = field(default_factory=list)
    #: Per meter reading whose readings were inserted or changed: the span of them, which
    #: subscriptions are told about (research/espi.md §7).
    changed_spans: dict[int, ChangedSpan] = field(default_factory=dict)

    def note_change(self, meter_reading_id: int, span: ChangedSpan) -> None:
        """Widen a meter reading's changed span to cover ``span`` too."""
        known = self.changed_spans.get(meter_reading_id)
        self.changed_spans[meter_reading_id] = span if known is None else known.union(span)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view, as printed by ``opencustodian import --json``."""
        return {
            "path": self.path,
            "format": self.file_format,
            "usage_points": self.service_points,
            "meter_readings": self.meter_readings,
            "readings_inserted": self.readings.inserted,
            "readings_updated": self.readings.updated,
            "readings_unchanged": self.readings.unchanged,
            "warnings": list(self.warnings),
        }
