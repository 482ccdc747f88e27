"""Ports: what services need from storage, as structural protocols.

Storage repositories satisfy these without importing them; services never import storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import date, datetime

    from opencustodian.domain.batches import BatchJob, BatchRequest, SharedGrant
    from opencustodian.domain.consent import AccessRecord, EndedGrant, EndReason
    from opencustodian.domain.customer_facts import CustomerRecord
    from opencustodian.domain.ingest import MergeCounts, SourceMeterReading, SourceServicePoint
    from opencustodian.domain.metering import (
        BillFacts,
        ChannelFacts,
        Reading,
        ReadingType,
        ServicePointFacts,
    )
    from opencustodian.domain.notifications import DataAudience
    from opencustodian.domain.parties import ApplicationRegistration, ApplicationStatus
    from opencustodian.domain.self_service import (
        DataReadEvent,
        HeldServicePoint,
        MeterFacts,
        ServicePointName,
    )


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


class ConsentLifecycleStore(Protocol):
    """Ends grants and records why, in the caller's transaction."""

    def end_grant(self, grant_id: int, reason: EndReason, now: datetime) -> EndedGrant | None:
        """End a grant and revoke its tokens; None when it had already ended."""
        ...

    def grants_past_end(self, now: datetime) -> list[int]:
        """Ids of active or pending grants whose chosen period is over."""
        ...

    def grants_covering(self, account_ids: Iterable[int]) -> list[int]:
        """Ids of active or pending grants that shared a service point from ``account_ids``."""
        ...

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event."""
        ...


class AccessStore(Protocol):
    """Finds what a presented access token may do."""

    def access_record(self, access_hash: str, today: date) -> AccessRecord | None:
        """The token's record, or None when no token has this hash."""
        ...


class NotificationStore(Protocol):
    """The notification outbox."""

    def notification_uri(self, application_id: int) -> str | None:
        """Where an application wants notifications, if anywhere."""
        ...

    def enqueue(self, application_id: int, uri: str, tag: str, body: str) -> None:
        """Queue a notification, due at once."""
        ...

    def record_attempt(
        self, notification_id: int, *, now: datetime, error: str | None, retry_at: datetime | None
    ) -> None:
        """Record one delivery attempt."""
        ...


class DataAudienceStore(Protocol):
    """Who must hear of new readings (research/espi.md §7)."""

    def audiences(self, meter_reading_ids: Iterable[int]) -> list[DataAudience]:
        """The active customer grants covering the service points of these meter readings."""
        ...


class AccountStore(Protocol):
    """Account tenure and status."""

    def account_id(self, account_number: str) -> int | None:
        """The id of the account with this number."""
        ...

    def end_tenure(self, account_id: int, day: date) -> int:
        """Move the account out of its service points on ``day``; how many were held."""
        ...

    def close(self, account_id: int, day: date) -> None:
        """Mark the account closed on ``day``."""
        ...


class ApplicationRegistry(Protocol):
    """What the utility's operators and a third party's registration token change."""

    def status_of(self, application_uuid: uuid.UUID) -> tuple[int, ApplicationStatus] | None:
        """The application's row id and status; None when there is no such application."""
        ...

    def set_status(self, application_id: int, status: ApplicationStatus, now: datetime) -> None:
        """Record a new status and when it changed."""
        ...

    def status_before_suspension(self, application_id: int) -> ApplicationStatus | None:
        """The status the application had when it was last suspended, if it ever was."""
        ...

    def live_grant_ids(self, application_id: int) -> list[int]:
        """Ids of the application's active or pending grants (customer and client)."""
        ...

    def registration_of(self, application_id: int) -> ApplicationRegistration:
        """The application's registration form as it stands."""
        ...

    def update_registration(
        self,
        application_id: int,
        registration: ApplicationRegistration,
        scopes: tuple[str, ...],
    ) -> None:
        """Replace the third party's own fields (never ids, secrets or status)."""
        ...

    def set_secret_hash(self, application_id: int, secret_hash: str | None, now: datetime) -> None:
        """Store a new client-secret hash; None withholds it until delivered by the API."""
        ...

    def claim_secret_delivery(self, application_id: int, secret_hash: str, now: datetime) -> bool:
        """Store ``secret_hash`` only if no secret is set; False when another got there first."""
        ...

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event in the same transaction."""
        ...


class UsageReader(Protocol):
    """The metering reads a feed needs (``storage.usage.SqlUsageStore``)."""

    def service_points(self, ids: Iterable[int]) -> list[ServicePointFacts]:
        """Service points by id."""
        ...

    def channels(self, service_point_ids: Iterable[int]) -> list[ChannelFacts]:
        """Channels of service points."""
        ...

    def readings(self, channel_id: int, first: int, end: int) -> Iterator[Reading]:
        """A channel's readings starting in ``[first, end)``."""
        ...

    def bills(self, service_point_ids: Iterable[int], ending_after: date) -> list[BillFacts]:
        """Bills ending after a date."""
        ...


class CustomerReader(Protocol):
    """The customer information a grant covers (``storage.customers.SqlCustomerStore``)."""

    def customer_record(
        self, grant_id: int, customer_id: int, held_since: Sequence[tuple[int, date]]
    ) -> CustomerRecord:
        """The grant's customer, and the accounts, locations and meters of its live points.

        ``held_since`` is the access record's (service point id, tenure start) of every
        service point the grant still covers; nothing else is read.
        """
        ...


class SelfServiceDirectory(Protocol):
    """What the customer portal reads about one customer (``storage.self_service``)."""

    def customer_uuid(self, customer_id: int) -> uuid.UUID | None:
        """The customer's public (ESPI RetailCustomer) id."""
        ...

    def held_service_points(
        self, customer_id: int, today: date, account_id: int | None = None
    ) -> list[HeldServicePoint]:
        """Service points the customer's open accounts hold today (optionally one account)."""
        ...

    def service_point_names(self, customer_id: int) -> list[ServicePointName]:
        """Every service point the customer's accounts ever held, by name."""
        ...

    def meters(self, service_point_ids: Iterable[int]) -> list[MeterFacts]:
        """The meters installed at these service points, ever."""
        ...

    def latest_reading_start(self, channel_ids: Iterable[int], before: int) -> int | None:
        """The latest reading start before ``before`` on these channels (None: no reading)."""
        ...

    def data_reads(self, customer_id: int, *, skip: int, limit: int) -> list[DataReadEvent]:
        """Third-party reads under the customer's grants, newest first."""
        ...


class AuditLog(Protocol):
    """Audit events written on their own (``storage.audit.SqlAuditLog``)."""

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event in a transaction of its own, committed on return."""
        ...


class BatchStore(Protocol):
    """Batch jobs and the grants they read (``storage.batches.SqlBatchStore``)."""

    def open_job(self, key: str) -> BatchJob | None:
        """The pending or running job of the request with this key, if any."""
        ...

    def add_job(self, request: BatchRequest, now: datetime) -> BatchJob | None:
        """Store a new pending job; None when an open job with the same key already exists."""
        ...

    def job(self, job_uuid: uuid.UUID) -> BatchJob | None:
        """The job with this public id."""
        ...

    def claim(self, job_id: int, now: datetime) -> BatchJob | None:
        """Mark a pending (or stale running) job running; None when it is not to be run."""
        ...

    def finish(self, job_id: int, *, file_name: str, byte_count: int, now: datetime) -> None:
        """Record the job's result file."""
        ...

    def fail(self, job_id: int, error: str, now: datetime, *, final: bool) -> None:
        """Record a failed run: failed for good when ``final``, else pending again."""
        ...

    def runnable(self, now: datetime) -> list[int]:
        """Ids of jobs waiting for a run: pending, or running but claimed too long ago."""
        ...

    def shared_grant(self, grant_id: int, today: date) -> SharedGrant | None:
        """The customer grant when it is active, with the service points it still covers."""
        ...

    def shared_grants(self, application_id: int, today: date) -> list[SharedGrant]:
        """Every active customer grant of an application, oldest first."""
        ...

    def client_id(self, application_id: int) -> str:
        """The application's OAuth client id (how audit events name a third party)."""
        ...

    def record_events(
        self, tag: str, events: Sequence[tuple[str, dict[str, object]]], actor: str
    ) -> None:
        """Append audit events, (subject, data) each, in the same transaction."""
        ...
