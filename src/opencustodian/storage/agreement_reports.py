"""Agreement reports in the database: claims, the reads a report needs, results and failures.

A report's state lives only in ``agreement_reports`` (never in a worker's memory), so a restart
loses nothing: a report left pending, or claimed by a process that died, is found by
``waiting`` and run again. Two workers never both run one attempt: a claim is one conditional
UPDATE, and a run stores its outcome only while its attempt is still the report's current one
(a later run that took a stale claim over fences the earlier one out). The caller owns the
transaction.

Readings move as the driver's plain tuples (``domain.metering.Reading``), never ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Final

from sqlalchemy import and_, or_, select, update

from opencustodian.domain.agreements import ReportType
from opencustodian.domain.metering import Channel, ChannelFacts, Commodity, ReadingType
from opencustodian.domain.self_service import MeterFacts
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.models import (
    AccountServicePoint,
    AgreementReport,
    EnergyDataAgreement,
    Meter,
    MeterReading,
    ReadingTypeRow,
    ServicePoint,
    ThirdPartyApplication,
    interval_readings,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Sequence
    from datetime import date, datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

    from opencustodian.domain.metering import Reading

# The table's status vocabulary (its CHECK constraint; ``services.agreement_reports``'s
# ``ReportStatus`` names the same four).
PENDING: Final = "pending"
RUNNING: Final = "running"
READY: Final = "ready"
FAILED: Final = "failed"

_READING_TYPE_FIELDS: Final = tuple(field.name for field in fields(ReadingType))


#: A report with what its agreement says about it (``StoredReport``).
_REPORT_FACTS: Final = (
    select(
        AgreementReport.id,
        AgreementReport.agreement_id,
        AgreementReport.period_start,
        AgreementReport.period_end,
        EnergyDataAgreement.number,
        EnergyDataAgreement.report_type,
        EnergyDataAgreement.esiid,
        EnergyDataAgreement.service_point_id,
        EnergyDataAgreement.account_id,
        ServicePoint.uuid,
        ServicePoint.commodity,
        ServicePoint.net_metered,
        ThirdPartyApplication.client_id,
    )
    .join(EnergyDataAgreement, EnergyDataAgreement.id == AgreementReport.agreement_id)
    .join(ServicePoint, ServicePoint.id == EnergyDataAgreement.service_point_id)
    .join(ThirdPartyApplication, ThirdPartyApplication.id == EnergyDataAgreement.application_id)
)


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A queued report and the agreement it serves (``services.agreement_reports.ReportFacts``)."""

    id: int
    agreement_id: int
    agreement_number: str
    report_type: ReportType
    esiid: str
    service_point_id: int
    service_point_uuid: uuid.UUID
    commodity: Commodity
    net_metered: bool
    account_id: int
    period_start: date
    period_end: date
    client_id: str


def _waiting(stale_before: datetime, max_attempts: int) -> ColumnElement[bool]:
    """SQL condition: the report awaits a run (pending, or running but abandoned)."""
    return and_(
        AgreementReport.attempts < max_attempts,
        or_(
            AgreementReport.status == PENDING,
            and_(AgreementReport.status == RUNNING, AgreementReport.created_at < stale_before),
        ),
    )


class SqlAgreementReportStore:
    """Agreement reports and their reads over one session."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    # -- claims and outcomes ------------------------------------------------------------------

    def report_id_of(self, agreement_id: int) -> int | None:
        """The report of an agreement (one at most), None when there is none."""
        found: int | None = self._session.scalar(
            select(AgreementReport.id).where(AgreementReport.agreement_id == agreement_id)
        )
        return found

    def claim(self, report_id: int, *, stale_before: datetime, max_attempts: int) -> int | None:
        """Mark a waiting report running; its attempt number, or None when it is not to run.

        One conditional UPDATE: of two workers racing for a report, exactly one changes the
        row (PostgreSQL re-checks the condition after the first commits; SQLite serializes).
        ``stale_before``: a report still running that was queued before it was abandoned.
        """
        result = self._session.execute(
            update(AgreementReport)
            .where(AgreementReport.id == report_id, _waiting(stale_before, max_attempts))
            .values(status=RUNNING, attempts=AgreementReport.attempts + 1, error=None)
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            return None
        attempt: int | None = self._session.scalar(
            select(AgreementReport.attempts).where(AgreementReport.id == report_id)
        )
        return attempt

    def store_result(  # noqa: PLR0913 - a result has these parts
        self,
        report_id: int,
        attempt: int,
        *,
        file_name: str,
        content: bytes,
        row_count: int,
        sha256: str,
        now: datetime,
    ) -> bool:
        """Mark the report ready with its file, if run ``attempt`` still holds it."""
        return self._finish_attempt(
            report_id,
            attempt,
            status=READY,
            finished_at=now,
            file_name=file_name,
            content=content,
            row_count=row_count,
            sha256=sha256,
            error=None,
        )

    def store_failure(
        self, report_id: int, attempt: int, error: str, now: datetime, *, final: bool
    ) -> bool:
        """Record a failed run: failed for good when ``final``, else pending for a retry."""
        if final:
            return self._finish_attempt(
                report_id, attempt, status=FAILED, finished_at=now, error=error
            )
        return self._finish_attempt(report_id, attempt, status=PENDING, error=error)

    def _finish_attempt(self, report_id: int, attempt: int, **values: object) -> bool:
        """Update the report only while it is running ``attempt`` (the run's fence)."""
        result = self._session.execute(
            update(AgreementReport)
            .where(
                AgreementReport.id == report_id,
                AgreementReport.status == RUNNING,
                AgreementReport.attempts == attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def waiting(self, *, stale_before: datetime, max_attempts: int) -> list[int]:
        """Ids of reports awaiting a run, oldest first: pending, or running but abandoned."""
        return list(
            self._session.scalars(
                select(AgreementReport.id)
                .where(_waiting(stale_before, max_attempts))
                .order_by(AgreementReport.id)
            )
        )

    def abandon_exhausted(
        self, *, stale_before: datetime, max_attempts: int, now: datetime, error: str
    ) -> int:
        """Fail abandoned runs that were the last allowed attempt; how many."""
        result = self._session.execute(
            update(AgreementReport)
            .where(
                AgreementReport.status == RUNNING,
                AgreementReport.created_at < stale_before,
                AgreementReport.attempts >= max_attempts,
            )
            .values(status=FAILED, finished_at=now, error=error)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event in the same transaction."""
        SqlConsentStore(self._session).record_event(tag, subject, data, actor)

    # -- what a report reads ------------------------------------------------------------------

    def report(self, report_id: int) -> StoredReport:
        """The report with its agreement's facts; raises ``LookupError`` when it is gone."""
        row = self._session.execute(
            _REPORT_FACTS.where(AgreementReport.id == report_id)
        ).one_or_none()
        if row is None:
            msg = f"agreement report {report_id} does not exist"
            raise LookupError(msg)
        return StoredReport(
            id=row.id,
            agreement_id=row.agreement_id,
            agreement_number=row.number,
            report_type=ReportType(row.report_type),
            esiid=row.esiid,
            service_point_id=row.service_point_id,
            service_point_uuid=row.uuid,
            commodity=Commodity(row.commodity),
            net_metered=row.net_metered,
            account_id=row.account_id,
            period_start=row.period_start,
            period_end=row.period_end,
            client_id=row.client_id,
        )

    def tenure(
        self, account_id: int, service_point_id: int, before: date
    ) -> tuple[date, date | None] | None:
        """The account's latest tenure at the point that began before ``before``.

        A customer who moved out and back in shares only what was recorded since the return
        (the rule of the portal and the Connect My Data feeds).
        """
        row = self._session.execute(
            select(AccountServicePoint.move_in, AccountServicePoint.move_out)
            .where(
                AccountServicePoint.account_id == account_id,
                AccountServicePoint.service_point_id == service_point_id,
                AccountServicePoint.move_in < before,
            )
            .order_by(AccountServicePoint.move_in.desc())
            .limit(1)
        ).one_or_none()
        return None if row is None else (row.move_in, row.move_out)

    def channels(self, service_point_id: int) -> list[ChannelFacts]:
        """Every channel of the service point with its reading type, by id."""
        rows = self._session.execute(
            select(
                MeterReading.id,
                MeterReading.uuid,
                MeterReading.service_point_id,
                MeterReading.channel,
                MeterReading.title,
                *(getattr(ReadingTypeRow, name) for name in _READING_TYPE_FIELDS),
            )
            .join(ReadingTypeRow, ReadingTypeRow.id == MeterReading.reading_type_id)
            .where(MeterReading.service_point_id == service_point_id)
            .order_by(MeterReading.id)
        )
        return [
            ChannelFacts(
                row.id,
                row.uuid,
                row.service_point_id,
                Channel(row.channel),
                row.title,
                ReadingType(**{name: getattr(row, name) for name in _READING_TYPE_FIELDS}),
            )
            for row in rows
        ]

    def readings(self, channel_id: int, first: int, end: int) -> Sequence[Reading]:
        """The channel's readings starting in ``[first, end)``, by start, as plain tuples."""
        result = self._session.connection().execute(
            select(
                interval_readings.c.start,
                interval_readings.c.duration,
                interval_readings.c.value,
                interval_readings.c.cost,
                interval_readings.c.quality,
            )
            .where(
                interval_readings.c.meter_reading_id == channel_id,
                interval_readings.c.start >= first,
                interval_readings.c.start < end,
            )
            .order_by(interval_readings.c.start)
        )
        # The driver's own tuples: a Row per reading costs more than reading it
        # (BENCHMARKS.md, "Bulk"); a year of 5-minute data is 105,000 readings.
        readings: Sequence[Reading] = result.cursor.fetchall()
        result.close()
        return readings

    def meters(self, service_point_id: int) -> list[MeterFacts]:
        """Every meter installed at the service point, by installation day."""
        rows = self._session.execute(
            select(ServicePoint.uuid, Meter.meter_number, Meter.installed_on, Meter.removed_on)
            .join(ServicePoint, ServicePoint.id == Meter.service_point_id)
            .where(Meter.service_point_id == service_point_id)
            .order_by(Meter.installed_on, Meter.id)
        )
        return [
            MeterFacts(row.uuid, row.meter_number, row.installed_on, row.removed_on) for row in rows
        ]
