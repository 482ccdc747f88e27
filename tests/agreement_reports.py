"""Helpers for one-time agreement report tests: a seeded utility, agreements, independent sums.

Agreements and their queued reports are inserted straight into the tables (as the agreement
service leaves them after acceptance), so these tests depend only on the report code. Expected
figures are computed here with SQL ``SUM`` over ``interval_readings`` and ``Decimal``
arithmetic, never through ``services.agreement_reports``.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from opencustodian.demo.synthetic import seed_utility
from opencustodian.profile import load_profile
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AgreementReport,
    EnergyDataAgreement,
    Meter,
    MeterReading,
    RetailCustomer,
    ServicePoint,
    ThirdPartyApplication,
    interval_readings,
)
from tests.custodian import register_third_party

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session

#: The seed's "now": two days after the day DST ended in New York (1 November 2026, 25 hours).
REPORT_SEED_NOW = datetime(2026, 11, 3, 12, tzinfo=UTC)
#: Acceptance on the seed's day: a one-month report covers 3 October – 2 November 2026.
ACCEPTED_ON = date(2026, 11, 3)
MONTH_PERIOD = (date(2026, 10, 3), date(2026, 11, 3))
ZONE = load_profile().time_zone
PARTY_NAME = "Sunny Solar Reports"


def seed_report_utility(
    engine: Engine, *, now: datetime = REPORT_SEED_NOW, history_days: int = 40
) -> int:
    """Four customers (solar, 5-minute business, legacy, monthly meter); the party's id."""
    seed_utility(engine, load_profile(), customers=4, seed=7, now=now, history_days=history_days)
    party = register_third_party(engine, PARTY_NAME)
    with engine.connect() as connection:
        found = connection.scalar(
            select(ThirdPartyApplication.id).where(
                ThirdPartyApplication.client_id == party.client_id
            )
        )
    assert found is not None
    return int(found)


@dataclass(frozen=True)
class PointChoice:
    """What a test asks of the seeded service points."""

    commodity: str = "electricity"
    net_metered: bool = False
    interval: int | None = 900


def service_point(engine: Engine, choice: PointChoice) -> int:
    """The first seeded service point whose forward channel matches ``choice``."""
    statement = (
        select(ServicePoint.id)
        .join(MeterReading, MeterReading.service_point_id == ServicePoint.id)
        .where(
            ServicePoint.commodity == choice.commodity,
            ServicePoint.net_metered == choice.net_metered,
            MeterReading.channel == "forward",
        )
        .order_by(ServicePoint.id)
    )
    with engine.connect() as connection:
        for point_id in connection.scalars(statement):
            if choice.interval is None or forward_interval(connection, point_id) == choice.interval:
                return int(point_id)
    msg = f"no seeded service point like {choice}"
    raise AssertionError(msg)


def forward_interval(connection: Connection, point_id: int) -> int:
    """The most common reading duration of the point's forward channel."""
    channel = channel_ids(connection, point_id, "forward")[0]
    found = connection.scalar(
        select(interval_readings.c.duration)
        .where(interval_readings.c.meter_reading_id == channel)
        .group_by(interval_readings.c.duration)
        .order_by(func.count().desc())
        .limit(1)
    )
    return int(found or 0)


def channel_ids(connection: Connection, point_id: int, channel: str) -> list[int]:
    """Ids of the point's channels of one direction."""
    return [
        int(found)
        for found in connection.scalars(
            select(MeterReading.id).where(
                MeterReading.service_point_id == point_id, MeterReading.channel == channel
            )
        )
    ]


@dataclass
class Queued:
    """An inserted agreement and its pending report."""

    agreement_id: int
    report_id: int
    number: str
    customer_id: int
    service_point_id: int
    ready_calls: list[int] = field(default_factory=list)

    def on_ready(self, session: Session, agreement_id: int) -> None:
        """The job's ``on_ready``: remembers the call (and checks it runs inside a session)."""
        assert session.in_transaction()
        self.ready_calls.append(agreement_id)


def queue_report(  # noqa: PLR0913 - a test picks each of these
    engine: Engine,
    application_id: int,
    point_id: int,
    report_type: str,
    period: tuple[date, date] = MONTH_PERIOD,
    *,
    created_at: datetime = REPORT_SEED_NOW,
) -> Queued:
    """Insert an accepted one-time agreement for ``point_id`` and its pending report."""
    with transaction(session_factory(engine)) as session:
        _, account, meter = _holder(session, point_id)
        number = f"{uuid.uuid4().int % 10**12:012d}"
        agreement = EnergyDataAgreement(
            uuid=uuid.uuid4(),
            number=number,
            kind="one_time",
            status="complete",
            application_id=application_id,
            service_point_id=point_id,
            meter_id=meter.id,
            esiid=session.get_one(ServicePoint, point_id).esiid,
            meter_number=meter.meter_number,
            retail_customer_id=account.customer_id,
            account_id=account.id,
            customer_registered=True,
            customer_class="residential",
            first_name="Chika",
            last_name="Akin",
            street="400 N Olive Street",
            city="Sunnyville",
            state="TX",
            zip_code="75012",
            email="chika@example.net",
            contact_name="Jamie Rivera",
            contact_email="jamie@sunny.example",
            report_type=report_type,
            report_duration="1m",
            created_at=created_at,
            invitation_expires_at=created_at + timedelta(days=30),
            start_date=period[1],
        )
        session.add(agreement)
        session.flush()
        report = AgreementReport(
            agreement_id=agreement.id,
            period_start=period[0],
            period_end=period[1],
            created_at=created_at,
        )
        session.add(report)
        session.flush()
        return Queued(agreement.id, report.id, number, account.customer_id, point_id)


def _holder(session: Session, point_id: int) -> tuple[AccountServicePoint, Account, Meter]:
    """The point's current tenure, its account and the meter in service."""
    tenure = session.scalars(
        select(AccountServicePoint)
        .where(
            AccountServicePoint.service_point_id == point_id,
            AccountServicePoint.move_out.is_(None),
        )
        .order_by(AccountServicePoint.move_in.desc())
    ).first()
    assert tenure is not None
    meter = session.scalars(
        select(Meter).where(Meter.service_point_id == point_id, Meter.removed_on.is_(None))
    ).first()
    assert meter is not None
    return tenure, session.get_one(Account, tenure.account_id), meter


def set_move_in(engine: Engine, point_id: int, move_in: date) -> None:
    """Move the point's current holder in on ``move_in`` (a previous occupant before it)."""
    with transaction(session_factory(engine)) as session:
        tenure, _, _ = _holder(session, point_id)
        tenure.move_in = move_in


def report_row(engine: Engine, report_id: int) -> AgreementReport:
    """The report's row as stored."""
    with session_factory(engine)() as session:
        return session.get_one(AgreementReport, report_id)


def csv_rows(content: bytes | None) -> list[dict[str, str]]:
    """The report's data rows as dicts keyed by the header."""
    assert content is not None
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def local_epoch(day: date, zone: ZoneInfo = ZONE) -> int:
    """Epoch seconds of local midnight starting ``day`` (computed with zoneinfo directly)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def sql_sum(engine: Engine, channels: list[int], first: int, end: int) -> int:
    """SQL SUM of the channels' readings wholly inside ``[first, end)`` (0 when none)."""
    statement = select(func.coalesce(func.sum(interval_readings.c.value), 0)).where(
        interval_readings.c.meter_reading_id.in_(channels),
        interval_readings.c.start >= first,
        interval_readings.c.start + interval_readings.c.duration <= end,
    )
    with engine.connect() as connection:
        return int(connection.scalar(statement) or 0)


def sql_qualities(engine: Engine, channels: list[int], first: int, end: int) -> set[int | None]:
    """The distinct stored quality codes of the channels' readings inside ``[first, end)``."""
    statement = (
        select(interval_readings.c.quality)
        .where(
            interval_readings.c.meter_reading_id.in_(channels),
            interval_readings.c.start >= first,
            interval_readings.c.start + interval_readings.c.duration <= end,
        )
        .distinct()
    )
    with engine.connect() as connection:
        return set(connection.scalars(statement))


def kwh(watt_hours: int) -> Decimal:
    """Stored Wh as kWh, exactly."""
    return Decimal(watt_hours) / Decimal(1000)


def customer_of(engine: Engine, customer_id: int) -> RetailCustomer:
    """The customer row."""
    with session_factory(engine)() as session:
        return session.get_one(RetailCustomer, customer_id)
