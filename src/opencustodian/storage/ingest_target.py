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
    ReadingTypeRow,
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
        """The meter reading a source names, created (with its reading type) when new.

        A feed names its meter readings by id. A CSV names only a meter, so its rows join the
        service point's existing channel of the same unit, scale, direction and interval (a
        correction file lands on the readings it corrects) or start a new channel.
        """
        reading_type_id = self._reading_types.id_for(self._session, source.reading_type)
        if source.uuid is None:
            existing = self._matching_channel(service_point_id, source.reading_type)
            uuid = stable_uuid("import", service_point_id, source.key)
        else:
            existing = self._session.scalar(
                select(MeterReading).where(MeterReading.uuid == source.uuid)
            )
            uuid = source.uuid
        if existing is not None:
            self._check_same_meaning(
                existing, service_point_id, reading_type_id, source.reading_type
            )
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

    def _matching_channel(
        self, service_point_id: int, reading_type: ReadingType
    ) -> MeterReading | None:
        return self._session.scalars(
            select(MeterReading)
            .join(ReadingTypeRow, ReadingTypeRow.id == MeterReading.reading_type_id)
            .where(
                MeterReading.service_point_id == service_point_id,
                ReadingTypeRow.uom == reading_type.uom,
                ReadingTypeRow.power_of_ten_multiplier == reading_type.power_of_ten_multiplier,
                ReadingTypeRow.flow_direction == reading_type.flow_direction,
                ReadingTypeRow.interval_length == reading_type.interval_length,
            )
            .order_by(MeterReading.id)
        ).first()

    def _check_same_meaning(
        self,
        existing: MeterReading,
        service_point_id: int,
        reading_type_id: int,
        reading_type: ReadingType,
    ) -> None:
        """Refuse an import that would move a channel or change what its stored values mean."""
        if existing.service_point_id != service_point_id:
            msg = f"meter reading {existing.uuid} already belongs to another service point"
            raise ImportRejectedError(msg)
        stored = self._session.get_one(ReadingTypeRow, existing.reading_type_id)
        if existing.reading_type_id != reading_type_id and (
            stored.uom,
            stored.power_of_ten_multiplier,
        ) != (reading_type.uom, reading_type.power_of_ten_multiplier):
            # Re-scaling would silently reinterpret every reading already stored.
            msg = (
                f"meter reading {existing.uuid} holds readings in uom {stored.uom} × "
                f"10^{stored.power_of_ten_multiplier}; this file says uom {reading_type.uom} × "
                f"10^{reading_type.power_of_ten_multiplier}"
            )
            raise ImportRejectedError(msg)

    def merge_readings(self, meter_reading_id: int, readings: Sequence[Reading]) -> MergeCounts:
        """Merge a batch through the bulk reading repository."""
        return self._readings.merge_readings(meter_reading_id, readings)

    def record_event(self, tag: str, subject: str, data: dict[str, object]) -> None:
        """Append an audit event in this transaction."""
        self._session.add(AuditEvent(tag=tag, subject=subject, data=data))
