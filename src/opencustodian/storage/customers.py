"""Read side of customer information for the retail-customer feed (``domain.ports.CustomerReader``).

Every query is bounded by the grant: the service points come from the access record (those
the grant still covers), the accounts from the grant's own ``grant_service_points`` rows —
and only when they belong to the grant's customer — and meters from those service points,
leaving out any removed before the current tenure began (a previous occupant's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from opencustodian.domain.customer_facts import (
    AccountFacts,
    CustomerFacts,
    CustomerRecord,
    HeldPointFacts,
    LocationFacts,
    MeterFacts,
)
from opencustodian.domain.customers import AccountClass
from opencustodian.domain.metering import Commodity
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    GrantServicePoint,
    Meter,
    RetailCustomer,
    ServiceLocation,
    ServicePoint,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from sqlalchemy import Executable, Row
    from sqlalchemy.orm import Session


class SqlCustomerStore:
    """Customer reads in the caller's session (and transaction)."""

    def __init__(self, session: Session) -> None:
        """Read through ``session``."""
        self._session = session

    def customer_record(
        self, grant_id: int, customer_id: int, held_since: Sequence[tuple[int, date]]
    ) -> CustomerRecord:
        """The grant's customer and what its live service points lead to (module docstring)."""
        tenure_start = dict(held_since)
        covered = self._rows(
            select(
                GrantServicePoint.service_point_id,
                GrantServicePoint.account_id,
                AccountServicePoint.move_in,
                AccountServicePoint.created_at,
                AccountServicePoint.updated_at,
            )
            .join(Account, Account.id == GrantServicePoint.account_id)
            .join(
                AccountServicePoint,
                and_(
                    AccountServicePoint.account_id == GrantServicePoint.account_id,
                    AccountServicePoint.service_point_id == GrantServicePoint.service_point_id,
                ),
            )
            .where(
                GrantServicePoint.grant_id == grant_id,
                GrantServicePoint.service_point_id.in_(sorted(tenure_start)),
                Account.customer_id == customer_id,
            )
        )
        # The tenure the access record found live is the one that began on ``held_since``.
        covered = [row for row in covered if row.move_in == tenure_start[row.service_point_id]]
        holder = {row.service_point_id: row.account_id for row in covered}
        tenures = {row.service_point_id: (row.created_at, row.updated_at) for row in covered}
        points = self._points(holder, tenure_start, tenures)
        return CustomerRecord(
            customer=self._customer(customer_id),
            accounts=self._accounts(sorted(set(holder.values()))),
            service_points=points,
            locations=self._locations(
                sorted({point.location_id for point in points if point.location_id is not None})
            ),
            meters=self._meters(points),
        )

    def _rows(self, statement: Executable) -> Sequence[Row[Any]]:
        return self._session.execute(statement).all()

    def _customer(self, customer_id: int) -> CustomerFacts | None:
        row = self._session.execute(
            select(
                RetailCustomer.uuid,
                RetailCustomer.first_name,
                RetailCustomer.last_name,
                RetailCustomer.email,
                RetailCustomer.phone,
                RetailCustomer.is_business,
                RetailCustomer.created_at,
            ).where(RetailCustomer.id == customer_id)
        ).first()
        return None if row is None else CustomerFacts(*row)

    def _accounts(self, account_ids: list[int]) -> tuple[AccountFacts, ...]:
        if not account_ids:
            return ()
        rows = self._rows(
            select(
                Account.id,
                Account.uuid,
                Account.account_number,
                Account.account_class,
                Account.billing_zip,
                Account.opened_on,
                Account.status,
                Account.created_at,
                Account.updated_at,
            )
            .where(Account.id.in_(account_ids))
            .order_by(Account.id)
        )
        return tuple(
            AccountFacts(
                row.id,
                row.uuid,
                row.account_number,
                AccountClass(row.account_class),
                row.billing_zip,
                row.opened_on,
                row.status,
                row.created_at,
                row.updated_at,
            )
            for row in rows
        )

    def _points(
        self,
        holder: dict[int, int],
        tenure_start: dict[int, date],
        tenures: dict[int, tuple[datetime, datetime]],
    ) -> tuple[HeldPointFacts, ...]:
        if not holder:
            return ()
        rows = self._rows(
            select(
                ServicePoint.id,
                ServicePoint.uuid,
                ServicePoint.service_location_id,
                ServicePoint.commodity,
                ServicePoint.rate_plan,
                ServicePoint.esiid,
                ServicePoint.net_metered,
                ServicePoint.meter_category,
                ServicePoint.created_at,
                ServicePoint.updated_at,
            )
            .where(ServicePoint.id.in_(sorted(holder)))
            .order_by(ServicePoint.id)
        )
        return tuple(
            HeldPointFacts(
                row.id,
                row.uuid,
                holder[row.id],
                row.service_location_id,
                Commodity(row.commodity),
                row.rate_plan,
                tenure_start[row.id],
                row.esiid,
                row.net_metered,
                row.meter_category,
                row.created_at,
                row.updated_at,
                *tenures[row.id],
            )
            for row in rows
        )

    def _locations(self, location_ids: list[int]) -> tuple[LocationFacts, ...]:
        if not location_ids:
            return ()
        rows = self._rows(
            select(
                ServiceLocation.id,
                ServiceLocation.uuid,
                ServiceLocation.street,
                ServiceLocation.city,
                ServiceLocation.state,
                ServiceLocation.zip_code,
            )
            .where(ServiceLocation.id.in_(location_ids))
            .order_by(ServiceLocation.id)
        )
        return tuple(LocationFacts(**row._asdict()) for row in rows)

    def _meters(self, points: tuple[HeldPointFacts, ...]) -> tuple[MeterFacts, ...]:
        if not points:
            return ()
        since = {point.id: point.held_since for point in points}
        rows = self._rows(
            select(
                Meter.uuid,
                Meter.service_point_id,
                Meter.meter_number.label("number"),
                Meter.installed_on,
                Meter.removed_on,
                Meter.created_at,
                Meter.updated_at,
            )
            .where(Meter.service_point_id.in_(sorted(since)))
            .order_by(Meter.service_point_id, Meter.installed_on, Meter.id)
        )
        # A meter taken out before the customer moved in measured someone else's supply.
        return tuple(
            MeterFacts(**row._asdict())
            for row in rows
            if row.removed_on is None or row.removed_on > since[row.service_point_id]
        )
