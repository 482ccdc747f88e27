"""Ports: what services need from storage, as structural protocols.

Storage repositories satisfy these without importing them; services never import storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import uuid
    from collections.abc import Sequence

    from opencustodian.domain.ingest import MergeCounts, SourceMeterReading, SourceServicePoint
    from opencustodian.domain.metering import Reading, ReadingType
    from opencustodian.domain.parties import ApplicationRegistration


class ReadingWriter(Protocol):
    """Merges readings into one meter reading's series, recording every revision."""

    def merge_readings(self, meter_reading_id: int, readings: Sequence[Reading]) -> MergeCounts:
        """Insert new readings, replace changed ones (keeping the old value), count the rest."""
        ...


class IngestTarget(ReadingWriter, Protocol):
    """Everything one file import writes, inside one transaction."""

    def resolve_service_point(
        self, source: SourceServicePoint, reading_type: ReadingType | None = None
    ) -> int:
        """The id of the service point ``source`` names, creating a feed's new one.

        ``reading_type`` (of its first meter reading) lets a new service point's commodity be
        inferred when the source leaves it unstated.
        """
        ...

    def resolve_meter_reading(self, service_point_id: int, source: SourceMeterReading) -> int:
        """The id of the meter reading ``source`` names, creating it (and its type) when new."""
        ...

    def record_event(self, tag: str, subject: str, data: dict[str, object]) -> None:
        """Append an audit event in the same transaction."""
        ...


class ApplicationStore(Protocol):
    """Keeps third-party applications; sees only hashes of their secrets."""

    def add_application(
        self,
        registration: ApplicationRegistration,
        *,
        scopes: tuple[str, ...],
        client_id: str,
        secret_hash: str,
        registration_token_hash: str,
    ) -> uuid.UUID:
        """Store a new application; return its ApplicationInformation id."""
        ...

    def replace_secret_hash(self, client_id: str, secret_hash: str) -> bool:
        """Swap the stored client-secret hash; False when no such client exists."""
        ...
