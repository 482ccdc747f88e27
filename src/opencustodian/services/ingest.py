"""File import: stream source records into storage, one transaction per file.

Parsers yield records in dependency order (``domain.ingest``); this service resolves each
service point and meter reading once, batches readings so the bulk path stays hot, and reports
what changed. Nothing here knows about XML, CSV or SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opencustodian.domain.events import EventTag
from opencustodian.domain.ingest import (
    ChangedSpan,
    ImportRejectedError,
    ImportSummary,
    SourceMeterReading,
    SourceReadings,
    SourceServicePoint,
    SourceWarning,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from opencustodian.domain.ingest import SourceRecord
    from opencustodian.domain.metering import Reading
    from opencustodian.domain.ports import IngestTarget

DEFAULT_BATCH_SIZE = 50_000


@dataclass(slots=True)
class _Batcher:
    """Collects consecutive readings of one meter reading until the batch is full."""

    target: IngestTarget
    summary: ImportSummary
    batch_size: int
    on_batch: Callable[[], None] | None
    meter_reading_id: int | None = None
    pending: list[Reading] = field(default_factory=list)

    def add(self, meter_reading_id: int, readings: list[Reading]) -> None:
        if meter_reading_id != self.meter_reading_id:
            self.flush()
            self.meter_reading_id = meter_reading_id
        self.pending.extend(readings)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.meter_reading_id is None or not self.pending:
            return
        counts = self.target.merge_readings(self.meter_reading_id, self.pending)
        self.summary.readings.add(counts)
        if counts.inserted or counts.updated:
            self.summary.note_change(self.meter_reading_id, ChangedSpan.of(self.pending))
        self.pending = []
        if self.on_batch is not None:
            self.on_batch()


@dataclass(slots=True)
class _Resolver:
    """Maps a file's keys to stored ids, creating service points at their first use."""

    target: IngestTarget
    summary: ImportSummary
    service_points: dict[str, SourceServicePoint] = field(default_factory=dict)
    service_point_ids: dict[str, int] = field(default_factory=dict)
    meter_reading_ids: dict[str, int] = field(default_factory=dict)

    def declare_service_point(self, source: SourceServicePoint) -> None:
        self.service_points[source.key] = source

    def meter_reading(self, source: SourceMeterReading) -> None:
        point = self.service_points.get(source.service_point_key)
        if point is None:
            msg = f"meter reading {source.key} names unknown usage point {source.service_point_key}"
            raise ImportRejectedError(msg)
        point_id = self.service_point_ids.get(point.key)
        if point_id is None:
            point_id = self.target.resolve_service_point(point, source.reading_type)
            self.service_point_ids[point.key] = point_id
            self.summary.service_points += 1
        self.meter_reading_ids[source.key] = self.target.resolve_meter_reading(point_id, source)
        self.summary.meter_readings += 1

    def meter_reading_id(self, key: str) -> int:
        found = self.meter_reading_ids.get(key)
        if found is None:
            msg = f"readings arrived for unknown meter reading {key}"
            raise ImportRejectedError(msg)
        return found


def import_records(
    records: Iterable[SourceRecord],
    target: IngestTarget,
    summary: ImportSummary,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[], None] | None = None,
) -> ImportSummary:
    """Write every record of one file through ``target`` and fill in ``summary``.

    The caller runs this inside one transaction, so an error anywhere (including one the parser
    raises on a truncated file) leaves the database as it was.
    """
    resolver = _Resolver(target, summary)
    batcher = _Batcher(target, summary, batch_size, on_batch)
    for record in records:
        if isinstance(record, SourceReadings):
            batcher.add(resolver.meter_reading_id(record.meter_reading_key), record.readings)
        elif isinstance(record, SourceMeterReading):
            resolver.meter_reading(record)
        elif isinstance(record, SourceServicePoint):
            resolver.declare_service_point(record)
        elif isinstance(record, SourceWarning):
            summary.warnings.append(record.message)
    batcher.flush()
    target.record_event(str(EventTag.INGEST_FILE_IMPORTED), summary.path, summary.as_dict())
    return summary
