"""The storage side of a file import.

It resolves the service points and meter readings a source names and merges readings, all on one
session, so the whole file commits or nothing does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from opencustodian.domain.ingest import (
    ImportRejectedError,
    MergeCounts,
    SourceMeterReading,
    SourceServicePoint,
)
from opencustodian.domain.metering import Commodity, ReadingType, channel_for, infer_commodity
from opencustodian.kit.ids import stable_uuid
from opencustodian.storage.models import (
    AuditEvent,
    Meter,
    MeterReading,
    ServicePoint,
)
from opencustodian.storage.reading_types import ReadingTypeCatalog
from opencustodian.storage.readings import ReadingRepository

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from opencustodian.domain.metering import Reading


class SqlIngestTarget:
    """``domain.ports.IngestTarget`` over a SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        """Write through ``session``; the caller owns the transaction."""
        self._session = session
        self._readings = ReadingRepository(session.connection())
        self._reading_types = ReadingTypeCatalog()

    def resolve_service_point(
        self, source: SourceServicePoint, reading_type: ReadingType | None = None
    ) -> int:
        """The service point a source names; a feed's unknown one is created."""
        if source.meter_number is not None:
            return self._service_point_by_meter(source.meter_number)
        uuid = source.uuid or stable_uuid("import", source.key)
        found = self._session.scalar(select(ServicePoint.id).where(ServicePoint.uuid == uuid))
        if found is not None:
            return found
        commodity = infer_commodity(source.commodity, reading_type) or Commodity.ELECTRICITY
        point = ServicePoint(uuid=uuid, title=source.title, commodity=commodity.value)
        self._session.add(point)
        self._session.flush()
        return point.id

    def _service_point_by_meter(self, meter_number: str) -> int:
        found = self._session.scalar(
            select(Meter.service_point_id).where(Meter.meter_number == meter_number)
        )
        if found is None:
            msg = f"meter {meter_number!r} is not a known meter of this utility"
            raise ImportRejectedError(msg)
        return found

    def resolve_meter_reading(self, service_point_id: int, source: SourceMeterReading) -> int:
        """The meter reading a source names, created (with its reading type) when new."""
        uuid = source.uuid or stable_uuid("import", service_point_id, source.key)
        reading_type_id = self._reading_types.id_for(self._session, source.reading_type)
        existing = self._session.scalar(select(MeterReading).where(MeterReading.uuid == uuid))
        if existing is not None:
            if existing.service_point_id != service_point_id:
                msg = f"meter reading {uuid} already belongs to another service point"
                raise ImportRejectedError(msg)
            existing.reading_type_id = reading_type_id
            return existing.id
        reading = MeterReading(
            uuid=uuid,
            service_point_id=service_point_id,
            reading_type_id=reading_type_id,
            channel=channel_for(source.reading_type).value,
            title=source.title,
        )
        self._session.add(reading)
        self._session.flush()
        return reading.id

    def merge_readings(self, meter_reading_id: int, readings: Sequence[Reading]) -> MergeCounts:
        """Merge a batch through the bulk reading repository."""
        return self._readings.merge_readings(meter_reading_id, readings)

    def record_event(self, tag: str, subject: str, data: dict[str, object]) -> None:
        """Append an audit event in this transaction."""
        self._session.add(AuditEvent(tag=tag, subject=subject, data=data))
