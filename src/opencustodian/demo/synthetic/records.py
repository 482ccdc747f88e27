"""Low-cardinality rows of a batch of customers, written with the ORM in three flushes.

People and premises first, then accounts and service points (which need their ids), then
meters, tenures and meter readings. Readings themselves never become ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from opencustodian.demo.synthetic.identity import registers
from opencustodian.demo.synthetic.reading_types import electricity_type, gas_type
from opencustodian.domain.customers import AccountStatus
from opencustodian.domain.metering import Channel, Commodity, channel_flow_direction
from opencustodian.kit.time import local_midnight
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Meter,
    MeterReading,
    RetailCustomer,
    ServiceLocation,
    ServicePoint,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from opencustodian.demo.synthetic.context import SeedContext
    from opencustodian.demo.synthetic.population import CustomerPlan, Holding, MeterPlan
    from opencustodian.domain.metering import ReadingType

_UNIT_WORDS = {Commodity.ELECTRICITY: "kWh", Commodity.GAS: "ft³"}
_CHANNEL_WORDS = {
    Channel.FORWARD: "delivered",
    Channel.REVERSE: "received (exported)",
    Channel.NET: "net",
}


@dataclass(slots=True)
class CustomerRows:
    """The stored rows of one customer plan, aligned with its holdings and service points."""

    plan: CustomerPlan
    people: list[RetailCustomer]
    location: ServiceLocation
    accounts: list[Account]
    points: list[ServicePoint]
    channels: list[list[MeterReading]]


def write_customers(
    session: Session, context: SeedContext, plans: Sequence[CustomerPlan]
) -> list[CustomerRows]:
    """Insert every low-cardinality row of ``plans``; ids are assigned on return."""
    batch = [_people_and_premises(context, plan) for plan in plans]
    session.add_all([row for rows in batch for row in (*rows.people, rows.location)])
    session.flush()
    for rows in batch:
        rows.accounts = [
            _account(context, holding, person, rows)
            for holding, person in zip(rows.plan.holdings, rows.people, strict=True)
        ]
        rows.points = [_service_point(context, meter, rows) for meter in rows.plan.service_points]
    session.add_all([row for rows in batch for row in (*rows.accounts, *rows.points)])
    session.flush()
    dependents: list[Meter | AccountServicePoint | MeterReading] = []
    for rows in batch:
        rows.channels = [
            _channel_rows(session, context, meter, point)
            for meter, point in zip(rows.plan.service_points, rows.points, strict=True)
        ]
        dependents.extend(channel for channels in rows.channels for channel in channels)
        dependents.extend(_meters_and_tenures(context, rows))
    session.add_all(dependents)
    session.flush()
    return batch


def _people_and_premises(context: SeedContext, plan: CustomerPlan) -> CustomerRows:
    zone = context.window.zone
    people = [
        RetailCustomer(
            uuid=context.uuid("customer", plan.index, holding.holder),
            username=holding.person.username if registers(plan.index) else None,
            password_hash=context.password_hash if registers(plan.index) else None,
            first_name=holding.person.first_name,
            last_name=holding.person.last_name,
            email=holding.person.email,
            phone=holding.person.phone,
            is_business=holding.person.is_business,
            created_at=local_midnight(holding.move_in, zone),
        )
        for holding in plan.holdings
    ]
    address = plan.address
    location = ServiceLocation(
        uuid=context.uuid("location", plan.index),
        street=address.street,
        city=address.city,
        state=address.state,
        zip_code=address.zip_code,
    )
    return CustomerRows(plan, people, location, [], [], [])


def _account(
    context: SeedContext, holding: Holding, person: RetailCustomer, rows: CustomerRows
) -> Account:
    closed = holding.status is AccountStatus.CLOSED
    return Account(
        uuid=context.uuid("account", rows.plan.index, holding.holder),
        account_number=holding.account_number,
        customer_id=person.id,
        account_class=holding.account_class.value,
        status=holding.status.value,
        billing_zip=rows.location.zip_code,
        opened_on=holding.move_in,
        closed_on=holding.move_out if closed else None,
    )


def _service_point(context: SeedContext, meter: MeterPlan, rows: CustomerRows) -> ServicePoint:
    return ServicePoint(
        uuid=context.uuid("service-point", rows.plan.index, meter.service),
        esiid=meter.esiid,
        title=meter.title,
        service_location_id=rows.location.id,
        commodity=meter.commodity.value,
        meter_category=meter.category.value,
        net_metered=meter.solar is not None,
        rate_plan=meter.rate_plan.code,
        created_at=local_midnight(meter.installed_on, context.window.zone),
    )


def reading_type_of(meter: MeterPlan, channel: Channel) -> ReadingType:
    """The reading type a meter's channel records."""
    if meter.commodity is Commodity.GAS:
        return gas_type(meter.interval)
    return electricity_type(meter.interval, channel_flow_direction(channel))


def _channel_rows(
    session: Session, context: SeedContext, meter: MeterPlan, point: ServicePoint
) -> list[MeterReading]:
    every = f"{meter.interval // 60}-minute" if meter.interval else "monthly"
    return [
        MeterReading(
            uuid=context.uuid("meter-reading", meter.esiid, channel.value),
            service_point_id=point.id,
            reading_type_id=context.reading_type_id(session, reading_type_of(meter, channel)),
            channel=channel.value,
            title=f"{_UNIT_WORDS[meter.commodity]} {_CHANNEL_WORDS[channel]}, {every}",
        )
        for channel in meter.channels
    ]


def _meters_and_tenures(
    context: SeedContext, rows: CustomerRows
) -> list[Meter | AccountServicePoint]:
    made: list[Meter | AccountServicePoint] = []
    for meter, point in zip(rows.plan.service_points, rows.points, strict=True):
        made.append(
            Meter(
                uuid=context.uuid("meter", meter.meter_number),
                service_point_id=point.id,
                meter_number=meter.meter_number,
                installed_on=meter.installed_on,
            )
        )
        made.extend(
            AccountServicePoint(
                account_id=account.id,
                service_point_id=point.id,
                move_in=holding.move_in,
                move_out=holding.move_out,
            )
            for holding, account in zip(rows.plan.holdings, rows.accounts, strict=True)
        )
    return made
