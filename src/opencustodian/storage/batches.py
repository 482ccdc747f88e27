"""Batch jobs in the database, and the grants a batch reads.

A job's state lives only here (never in a worker's memory), so a restart loses nothing: a job
left pending, or claimed by a process that died, is found by ``runnable`` and run again.
The caller owns the transaction.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from opencustodian.domain.batches import (
    BatchJob,
    BatchKind,
    BatchRequest,
    BatchStatus,
    SharedGrant,
    stale_before,
)
from opencustodian.domain.consent import GrantKind, GrantStatus
from opencustodian.kit.time import utc_now
from opencustodian.storage.consent import current_tenure
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AuditEvent,
    Base,
    Grant,
    GrantServicePoint,
    ThirdPartyApplication,
)
from opencustodian.storage.models import BatchJob as BatchJobRow

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

_OPEN = (BatchStatus.PENDING.value, BatchStatus.RUNNING.value)
_INSERT_EVENT = insert(Base.metadata.tables[AuditEvent.__tablename__])


class SqlBatchStore:
    """Batch jobs and shared grants over one session."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    # -- jobs ---------------------------------------------------------------------------------

    def open_job(self, key: str) -> BatchJob | None:
        """The pending or running job of the request with this key, if any."""
        row = self._session.scalar(select(BatchJobRow).where(BatchJobRow.open_key == key))
        return None if row is None else _job(row)

    def add_job(self, request: BatchRequest, now: datetime) -> BatchJob | None:
        """Store a new pending job; None when an open job with the same key already exists.

        The insert runs in a savepoint: losing the race on ``open_key`` rolls back only it.
        """
        row = BatchJobRow(
            uuid=uuid.uuid4(),
            kind=request.kind.value,
            application_id=request.application_id,
            grant_id=request.grant_id,
            subject=request.subject,
            usage_point=request.usage_point,
            query=request.query,
            self_href=request.self_href,
            request_key=request.key,
            open_key=request.key,
            status=BatchStatus.PENDING.value,
            attempts=0,
            created_at=now,
        )
        try:
            with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError:
            return None
        return _job(row)

    def job(self, job_uuid: uuid.UUID) -> BatchJob | None:
        """The job with this public id."""
        row = self._session.scalar(select(BatchJobRow).where(BatchJobRow.uuid == job_uuid))
        return None if row is None else _job(row)

    def claim(self, job_id: int, now: datetime) -> BatchJob | None:
        """Mark a pending (or stale running) job running; None when it is not to be run.

        One conditional UPDATE: of two workers racing for a job, exactly one changes the row.
        """
        result = self._session.execute(
            update(BatchJobRow)
            .where(BatchJobRow.id == job_id, _waiting(now))
            .values(
                status=BatchStatus.RUNNING.value,
                started_at=now,
                attempts=BatchJobRow.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        row = self._session.get_one(BatchJobRow, job_id, populate_existing=True)
        return _job(row)

    def finish(self, job_id: int, *, file_name: str, byte_count: int, now: datetime) -> None:
        """Record the job's result file; the request may be made again from now on."""
        self._close(
            job_id,
            status=BatchStatus.DONE,
            now=now,
            file_name=file_name,
            byte_count=byte_count,
            error=None,
        )

    def fail(self, job_id: int, error: str, now: datetime, *, final: bool) -> None:
        """Record a failed run: failed for good when ``final``, else pending again."""
        if final:
            self._close(job_id, status=BatchStatus.FAILED, now=now, error=error[:500])
            return
        self._session.execute(
            update(BatchJobRow)
            .where(BatchJobRow.id == job_id)
            .values(status=BatchStatus.PENDING.value, error=error[:500])
            .execution_options(synchronize_session=False)
        )

    def _close(self, job_id: int, *, status: BatchStatus, now: datetime, **values: object) -> None:
        self._session.execute(
            update(BatchJobRow)
            .where(BatchJobRow.id == job_id)
            .values(status=status.value, open_key=None, finished_at=now, **values)
            .execution_options(synchronize_session=False)
        )

    def results_finished_before(self, before: datetime) -> list[tuple[int, str]]:
        """(job id, file name) of every result file of a job that finished before ``before``."""
        rows = self._session.execute(
            select(BatchJobRow.id, BatchJobRow.file_name).where(
                BatchJobRow.status == BatchStatus.DONE.value,
                BatchJobRow.finished_at < before,
                BatchJobRow.file_name.is_not(None),
            )
        )
        return [(job_id, file_name) for job_id, file_name in rows if file_name is not None]

    def forget_result(self, job_id: int) -> None:
        """The job's result file is gone (expired): fetching it now answers that it expired."""
        self._session.execute(
            update(BatchJobRow)
            .where(BatchJobRow.id == job_id)
            .values(file_name=None)
            .execution_options(synchronize_session=False)
        )

    def runnable(self, now: datetime) -> list[int]:
        """Ids of jobs waiting for a run, oldest first: pending, or running but stale."""
        return list(
            self._session.scalars(
                select(BatchJobRow.id).where(_waiting(now)).order_by(BatchJobRow.id)
            )
        )

    # -- the grants a batch reads ------------------------------------------------------------

    def shared_grant(self, grant_id: int, today: date) -> SharedGrant | None:
        """The customer grant when it is active, with the service points it still covers."""
        grants = self._shared(Grant.id == grant_id, today)
        return grants[0] if grants else None

    def shared_grants(self, application_id: int, today: date) -> list[SharedGrant]:
        """Every active customer grant of an application, oldest first.

        Two queries whatever the number of grants (a Bulk may cover tens of thousands).
        """
        return self._shared(Grant.application_id == application_id, today)

    def _shared(self, which: ColumnElement[bool], today: date) -> list[SharedGrant]:
        """The active customer grants ``which`` selects, each with its live service points."""
        live = and_(
            which,
            Grant.kind == GrantKind.CUSTOMER.value,
            Grant.status == GrantStatus.ACTIVE.value,
        )
        rows = self._session.execute(
            select(
                Grant.id,
                Grant.uuid,
                Grant.subscription_uuid,
                Grant.scope,
                Grant.authorized_end,
                Grant.retail_customer_id,
            )
            .where(live)
            .order_by(Grant.id)
        ).all()
        held = _held_since(self._session, live, today) if rows else {}
        return [
            SharedGrant(
                grant_id=grant_id,
                grant_uuid=str(grant_uuid),
                subscription_uuid=str(subscription_uuid),
                scope=scope,
                authorized_end=authorized_end,
                held_since=tuple(held.get(grant_id, ())),
                customer_id=customer_id,
            )
            for grant_id, grant_uuid, subscription_uuid, scope, authorized_end, customer_id in rows
        ]

    def client_id(self, application_id: int) -> str:
        """The application's OAuth client id (how audit events name a third party)."""
        return self._session.get_one(ThirdPartyApplication, application_id).client_id

    def record_events(
        self, tag: str, events: Sequence[tuple[str, dict[str, object]]], actor: str
    ) -> None:
        """Append audit events, (subject, data) each, in one statement (a Bulk has thousands)."""
        if not events:
            return
        now = utc_now()
        self._session.connection().execute(
            _INSERT_EVENT,
            [
                {"occurred_at": now, "tag": tag, "subject": subject, "data": data, "actor": actor}
                for subject, data in events
            ],
        )


def _waiting(now: datetime) -> ColumnElement[bool]:
    """SQL: the job awaits a run (pending, or claimed so long ago its runner must be gone)."""
    return or_(
        BatchJobRow.status == BatchStatus.PENDING.value,
        and_(
            BatchJobRow.status == BatchStatus.RUNNING.value,
            BatchJobRow.started_at < stale_before(now),
        ),
    )


def _held_since(
    session: Session, grants: ColumnElement[bool], today: date
) -> dict[int, list[tuple[int, date]]]:
    """Per grant ``grants`` selects, its points still held today by the sharing account.

    The rule of ``SqlConsentStore.live_service_points`` (an open account, a current tenure,
    and the day that tenure began), for many grants in one query.
    """
    held: dict[int, list[tuple[int, date]]] = {}
    statement = (
        select(
            GrantServicePoint.grant_id,
            GrantServicePoint.service_point_id,
            func.min(AccountServicePoint.move_in),
        )
        .join(Grant, Grant.id == GrantServicePoint.grant_id)
        .join(Account, Account.id == GrantServicePoint.account_id)
        .join(
            AccountServicePoint,
            and_(
                AccountServicePoint.account_id == GrantServicePoint.account_id,
                AccountServicePoint.service_point_id == GrantServicePoint.service_point_id,
            ),
        )
        .where(grants, Account.status == "active", current_tenure(today))
        .group_by(GrantServicePoint.grant_id, GrantServicePoint.service_point_id)
        .order_by(GrantServicePoint.grant_id, GrantServicePoint.service_point_id)
    )
    for grant_id, point_id, move_in in session.execute(statement):
        held.setdefault(grant_id, []).append((point_id, move_in))
    return held


def _job(row: BatchJobRow) -> BatchJob:
    request = BatchRequest(
        kind=BatchKind(row.kind),
        application_id=row.application_id,
        grant_id=row.grant_id,
        subject=row.subject,
        usage_point=row.usage_point,
        query=row.query,
        self_href=row.self_href,
        key=row.request_key,
    )
    return BatchJob(
        id=row.id,
        uuid=row.uuid,
        request=request,
        status=BatchStatus(row.status),
        attempts=row.attempts,
        created_at=row.created_at,
        finished_at=row.finished_at,
        file_name=row.file_name,
        byte_count=row.byte_count,
        error=row.error,
    )
