"""Ports: what services need from storage, as structural protocols.

Storage repositories satisfy these without importing them; services never import storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import date, datetime

    from opencustodian.domain.agreements import (
        AgreementSearch,
        AgreementState,
        AgreementStatus,
        AgreementView,
        InvitationFacts,
        MeterHolder,
        NewAgreement,
    )
    from opencustodian.domain.batches import BatchJob, BatchRequest, SharedGrant
    from opencustodian.domain.consent import AccessRecord, EndedGrant, EndReason
    from opencustodian.domain.customer_facts import CustomerRecord
    from opencustodian.domain.ingest import MergeCounts, SourceMeterReading, SourceServicePoint
    from opencustodian.domain.mail import EmailDraft, OutboxEmail
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


class AgreementMailer(Protocol):
    """Queues the Energy Data Agreement emails (seed 003 EM201–EM205) in the outbox.

    Each call queues in the caller's transaction: a message is never sent for a change that
    did not commit. ``link_token`` is the invitation's secret (accept and reject links).
    """

    def invitation(self, agreement: AgreementView, link_token: str, *, resend: bool) -> None:
        """EM201 (or EM202 when ``resend``) to the customer: accept and reject links."""
        ...

    def accepted(self, agreement: AgreementView) -> None:
        """EM203: confirmation (a copy of the agreement) to the customer, notice to the party."""
        ...

    def rejected(self, agreement: AgreementView) -> None:
        """EM205: the third party learns the customer rejected the agreement."""
        ...

    def report_completed(self, agreement: AgreementView) -> None:
        """EM204: the third party's one-time report is ready to download."""
        ...


class AgreementStore(Protocol):
    """What the agreement use cases need from storage (one transaction)."""

    def meter_holder(self, esiid: str, meter_number: str, today: date) -> MeterHolder | None:
        """Who holds the ESIID's service point today, if that meter is installed there now."""
        ...

    def one_time_created_since(
        self, application_id: int, esiid: str, since: datetime
    ) -> list[datetime]:
        """When the party's one-time agreements for ``esiid`` since ``since`` were initiated."""
        ...

    def company(self, application_id: int) -> tuple[str, str | None]:
        """The third party's company name and privacy-policy link."""
        ...

    def number_taken(self, number: str) -> bool:
        """Whether an agreement already has ``number``."""
        ...

    def add(self, new: NewAgreement) -> int:
        """Insert a Pending agreement; its id."""
        ...

    def add_invitation(
        self,
        agreement_id: int,
        token_hash: str,
        issued_for: AgreementStatus,
        issued_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Keep a new invitation token's hash."""
        ...

    def invitation(self, token_hash: str) -> InvitationFacts | None:
        """The invitation whose token hashes to ``token_hash``."""
        ...

    def use_invitations(self, agreement_id: int, now: datetime) -> None:
        """Void every open invitation link of the agreement."""
        ...

    def change_status(
        self,
        agreement_id: int,
        seen: AgreementStatus,
        status: AgreementStatus,
        now: datetime,
        **fields: object,
    ) -> bool:
        """Move from ``seen`` to ``status``; False when it had moved meanwhile."""
        ...

    def add_report(self, agreement_id: int, start: date, end: date, now: datetime) -> None:
        """Queue a one-time report."""
        ...

    def open_grant(
        self, state: AgreementState, scope: str, start: datetime, end: datetime, now: datetime
    ) -> int:
        """An active grant for the agreement's service point; its id."""
        ...

    def attach_grant(self, agreement_id: int, grant_id: int) -> None:
        """Record the grant an accepted ongoing agreement opened."""
        ...

    def extend_grant(self, grant_id: int, end: datetime, now: datetime) -> None:
        """Move a grant's end."""
        ...

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Audit one event."""
        ...

    def state(self, agreement_id: int) -> AgreementState | None:
        """The rule-relevant facts of one agreement."""
        ...

    def state_by_number(self, number: str) -> AgreementState | None:
        """The agreement with ``number``."""
        ...

    def view(self, agreement_id: int) -> AgreementView:
        """What pages and emails print."""
        ...

    def views(
        self,
        *,
        application_id: int | None = None,
        customer_id: int | None = None,
        search: AgreementSearch | None = None,
        limit: int | None = None,
    ) -> list[AgreementView]:
        """Agreements of a party or a customer, newest first."""
        ...

    def awaiting_past(self, now: datetime) -> list[int]:
        """Agreements whose open invitation is 30 days old."""
        ...

    def ongoing_past_end(self, today: date) -> list[int]:
        """Open ongoing agreements whose end date has come."""
        ...


class MailOutbox(Protocol):
    """Outgoing email (``storage.mail.SqlMailOutbox``); the caller owns the transaction.

    Messages are queued with the change they report and sent afterwards (``services.mail``).
    """

    def queue(self, draft: EmailDraft, *, sealed_secret: str | None, held: bool) -> int:
        """Store a message, due at once (or held for the dev mailbox); returns its id."""
        ...

    def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[OutboxEmail]:
        """Pending messages due at ``now``, oldest first, each claimed until ``lease_until``.

        A claimed message is not due for another caller, so two workers never send it twice;
        a worker that dies mid-send leaves it due again when the lease ends.
        """
        ...

    def record_attempt(
        self, email_id: int, *, now: datetime, error: str | None, retry_at: datetime | None
    ) -> None:
        """Record one attempt: sent (sealed secret dropped), retry at ``retry_at``, or failed."""
        ...

    def next_due(self) -> datetime | None:
        """When the earliest pending message is next due (None: nothing left to send)."""
        ...

    def messages(self, *, to_address: str | None = None, limit: int = 100) -> list[OutboxEmail]:
        """The newest messages first, optionally only those to one recipient."""
        ...

    def message(self, email_id: int) -> OutboxEmail | None:
        """One message by id."""
        ...
