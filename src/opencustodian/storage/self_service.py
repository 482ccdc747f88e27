"""The customer portal's reads: a customer's service points, meters and third-party reads.

``domain.ports.SelfServiceDirectory`` over an engine; every call runs on a short connection of
its own, like ``storage.usage.SqlUsageStore``, because portal pages stream downloads and must
not hold a transaction open while the browser reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from opencustodian.domain.consent import GrantKind
from opencustodian.domain.events import EventTag
from opencustodian.domain.metering import Commodity
from opencustodian.domain.self_service import (
    DataReadEvent,
    HeldServicePoint,
    MeterFacts,
    ServicePointName,
)
from opencustodian.storage.consent import current_tenure
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AuditEvent,
    EnergyDataAgreement,
    Grant,
    Meter,
    RetailCustomer,
    ServiceLocation,
    ServicePoint,
    ThirdPartyApplication,
    interval_readings,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Sequence
    from datetime import date

    from sqlalchemy import Executable, Row
    from sqlalchemy.engine import Engine

NO_ADDRESS = "(no service address)"
#: The audit tags of third-party reads, by the API that read.
READ_TAGS = (
    EventTag.DATA_READ.value,
    EventTag.CDS_DATA_READ.value,
    EventTag.ECIS_DATA_READ.value,
    EventTag.AGREEMENT_REPORT_READ.value,
)
_API_OF_TAG = {
    EventTag.DATA_READ.value: "espi",
    EventTag.CDS_DATA_READ.value: "cds",
    EventTag.ECIS_DATA_READ.value: "ecis",
    EventTag.AGREEMENT_REPORT_READ.value: "agreement",
}


def _address(street: str | None, city: str | None) -> str:
    return ", ".join(part for part in (street, city) if part) or NO_ADDRESS


_NAMED_POINTS = (
    select(
        ServicePoint.id,
        ServicePoint.uuid,
        ServicePoint.commodity,
        ServicePoint.net_metered,
        ServiceLocation.street,
        ServiceLocation.city,
        Account.account_number,
        AccountServicePoint.move_in,
    )
    .join(AccountServicePoint, AccountServicePoint.service_point_id == ServicePoint.id)
    .join(Account, Account.id == AccountServicePoint.account_id)
    .outerjoin(ServiceLocation, ServiceLocation.id == ServicePoint.service_location_id)
)


def _name(row: Row[Any]) -> ServicePointName:
    return ServicePointName(row.uuid, Commodity(row.commodity), _address(row.street, row.city))


class SqlSelfServiceDirectory:
    """What the portal shows one customer, read through ``engine``."""

    def __init__(self, engine: Engine) -> None:
        """Read through ``engine``."""
        self._engine = engine

    def _all(self, statement: Executable) -> Sequence[Row[Any]]:
        with self._engine.connect() as connection:
            return connection.execute(statement).all()

    def customer_uuid(self, customer_id: int) -> uuid.UUID | None:
        """The customer's public (ESPI RetailCustomer) id."""
        with self._engine.connect() as connection:
            found: uuid.UUID | None = connection.scalar(
                select(RetailCustomer.uuid).where(RetailCustomer.id == customer_id)
            )
            return found

    def held_service_points(
        self, customer_id: int, today: date, account_id: int | None = None
    ) -> list[HeldServicePoint]:
        """Points the customer's open accounts hold today, by account then id.

        ``held_since`` is the move-in of the tenure that covers today: a customer who moved out
        and back in owns only what was recorded since the return.
        """
        statement = (
            _NAMED_POINTS.where(Account.customer_id == customer_id, Account.status == "active")
            .where(current_tenure(today))
            .order_by(Account.account_number, ServicePoint.id, AccountServicePoint.move_in)
        )
        if account_id is not None:
            statement = statement.where(Account.id == account_id)
        held: dict[int, HeldServicePoint] = {}
        for row in self._all(statement):
            # Two open accounts holding one point: the earliest tenure (first row) names it.
            held.setdefault(
                row.id,
                HeldServicePoint(
                    row.id, _name(row), row.net_metered, row.account_number, row.move_in
                ),
            )
        return list(held.values())

    def service_point_names(self, customer_id: int) -> list[ServicePointName]:
        """Every service point the customer's accounts ever held (the access log names them)."""
        statement = _NAMED_POINTS.where(Account.customer_id == customer_id).order_by(
            ServicePoint.id
        )
        names = {row.id: _name(row) for row in self._all(statement)}
        return list(names.values())

    def meters(self, service_point_ids: Iterable[int]) -> list[MeterFacts]:
        """Meters of these points, by point and installation day."""
        wanted = sorted(set(service_point_ids))
        if not wanted:
            return []
        statement = (
            select(ServicePoint.uuid, Meter.meter_number, Meter.installed_on, Meter.removed_on)
            .join(ServicePoint, ServicePoint.id == Meter.service_point_id)
            .where(Meter.service_point_id.in_(wanted))
            .order_by(Meter.service_point_id, Meter.installed_on, Meter.id)
        )
        return [
            MeterFacts(row.uuid, row.meter_number, row.installed_on, row.removed_on)
            for row in self._all(statement)
        ]

    def latest_reading_start(self, channel_ids: Iterable[int], before: int) -> int | None:
        """The last reading start before ``before`` on these channels (the primary-key index)."""
        wanted = sorted(set(channel_ids))
        if not wanted:
            return None
        with self._engine.connect() as connection:
            latest: int | None = connection.scalar(
                select(func.max(interval_readings.c.start)).where(
                    interval_readings.c.meter_reading_id.in_(wanted),
                    interval_readings.c.start < before,
                )
            )
            return latest

    def data_reads(self, customer_id: int, *, skip: int, limit: int) -> list[DataReadEvent]:
        """Data-read events (``READ_TAGS``: ESPI, CDS, ECIS) of the customer's grants, newest first.

        Events name their grant (``grant:{uuid}``); only the customer's own customer grants
        are looked up, so another customer's reads can never appear.
        """
        grants = self._all(
            select(Grant.uuid, ThirdPartyApplication.name)
            .join(ThirdPartyApplication, ThirdPartyApplication.id == Grant.application_id)
            .where(
                Grant.retail_customer_id == customer_id,
                Grant.kind == GrantKind.CUSTOMER.value,
            )
        )
        parties = {f"grant:{row.uuid}": row.name for row in grants}
        parties.update(self._agreement_parties(customer_id))
        if not parties:
            return []
        events = self._all(
            select(AuditEvent.occurred_at, AuditEvent.subject, AuditEvent.tag, AuditEvent.data)
            .where(
                AuditEvent.tag.in_(READ_TAGS),
                AuditEvent.subject.in_(sorted(parties)),
            )
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .offset(skip)
            .limit(limit)
        )
        return [_data_read(row, parties[row.subject]) for row in events]

    def _agreement_parties(self, customer_id: int) -> dict[str, str]:
        """Seed 003: the customer's Energy Data Agreements, by event subject, and their company.

        A one-time agreement's report read is audited under ``agreement:<number>``
        (``services.agreement_reports``); the company is the third party's application.
        """
        rows = self._all(
            select(EnergyDataAgreement.number, ThirdPartyApplication.name)
            .join(
                ThirdPartyApplication,
                ThirdPartyApplication.id == EnergyDataAgreement.application_id,
            )
            .where(EnergyDataAgreement.retail_customer_id == customer_id)
        )
        return {f"agreement:{row.number}": row.name for row in rows}


def _data_read(row: Row[Any], third_party: str) -> DataReadEvent:
    """An audit row as a read.

    ``data`` has ``path`` and, when known, ``usage_points`` (``web.api.espi_usage``,
    ``services.ecis``) and an ECIS ``request_type``.
    """
    data = row.data if isinstance(row.data, dict) else {}
    points = data.get("usage_points")
    request_type = data.get("request_type")
    return DataReadEvent(
        occurred_at=row.occurred_at,
        third_party=third_party,
        path=str(data.get("path", "")),
        usage_points=tuple(str(point) for point in points) if isinstance(points, list) else (),
        api=_API_OF_TAG.get(row.tag, "espi"),
        request_type=str(request_type) if request_type is not None else None,
    )
