"""``seed_utility``: write the synthetic utility into a database, batch by batch.

Customers are planned, written and committed in batches, and each meter's readings are
generated a day at a time and handed to the bulk reading repository in chunks, so memory stays
flat whether 50 or 100,000 customers are seeded. Bills are derived from the same integer
readings that were stored, so a bill's usage always equals the sum of its period's readings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select

from opencustodian.demo.synthetic import bills, identity
from opencustodian.demo.synthetic.context import SeedContext, build_context
from opencustodian.demo.synthetic.population import plan_customer
from opencustodian.demo.synthetic.records import CustomerRows, write_customers
from opencustodian.demo.synthetic.series import (
    RAW,
    VALIDATED,
    interval_blocks,
    meter_random,
    monthly_readings,
)
from opencustodian.domain.events import EventTag
from opencustodian.storage import models
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.readings import ReadingRepository

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from opencustodian.demo.synthetic.population import MeterPlan
    from opencustodian.domain.billing import Bill, BillSection, LineItem
    from opencustodian.domain.metering import Reading
    from opencustodian.profile import CustodianProfile

CHUNK_READINGS = 50_000  # readings handed to the repository at once, per channel
BATCH_READINGS = 1_000_000  # about this many readings per transaction
READINGS_PER_CUSTOMER_DAY = 150  # a rough mean over the customer mix, to size batches
MAX_BATCH_CUSTOMERS = 100


class SeedError(RuntimeError):
    """The database cannot take this seed (it already holds synthetic customers)."""


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What a seed run wrote.

    ``customers`` counts the customers asked for; ``former_tenants`` the extra retail customers
    who held a premises before a mid-history move-in.
    """

    customers: int
    accounts: int
    service_points: int
    meter_readings: int
    readings: int
    bills: int
    seconds: float
    former_tenants: int = 0


class PendingBill(NamedTuple):
    """A computed bill waiting to be written, with the rows it belongs to."""

    bill: Bill
    account_id: int
    service_point_id: int
    uuid: uuid.UUID


@dataclass(slots=True)
class _Tally:
    customers: int = 0
    former_tenants: int = 0
    accounts: int = 0
    service_points: int = 0
    meter_readings: int = 0
    readings: int = 0
    bills: int = 0

    def summary(self, seconds: float) -> SeedSummary:
        return SeedSummary(
            customers=self.customers,
            accounts=self.accounts,
            service_points=self.service_points,
            meter_readings=self.meter_readings,
            readings=self.readings,
            bills=self.bills,
            seconds=round(seconds, 3),
            former_tenants=self.former_tenants,
        )


def seed_utility(  # noqa: PLR0913 - the CLI's options, all keyword-only
    engine: Engine,
    profile: CustodianProfile,
    *,
    customers: int = 50,
    seed: int = 1,
    now: datetime | None = None,
    history_days: int = 730,
    progress: Callable[[int, int], None] | None = None,
) -> SeedSummary:
    """Fill an empty database with a deterministic synthetic utility.

    The same ``seed``, ``now`` and ``history_days`` give the same customers, readings and bills
    (row for row; only password hashes, salted, and the audit time differ). Customer ``i`` is
    the same whatever ``customers`` is. History is ``history_days`` local days up to the last
    interval complete before ``now`` (aware; default the current instant): two years is what
    third parties may ask for (seed 000 §3.3h). Two years of 100,000 customers would be about
    seven billion readings, so large seeds pass a short history (e.g. ``history_days=2``).
    ``progress(done, total)`` is called after each committed batch of customers.
    Customers 1 and 2 are the demo logins (``customer0001``: a home with solar and gas;
    ``customer0002``: a business on 5-minute data); every password is ``demo-password``.

    Raises:
        SeedError: the database already holds synthetic customers (seed an empty one).
        ValueError: ``customers`` or ``history_days`` is out of range, or ``now`` is naive.
    """
    if not 1 <= customers <= identity.MAX_CUSTOMERS:
        msg = f"customers must be between 1 and {identity.MAX_CUSTOMERS:,}, not {customers}"
        raise ValueError(msg)
    if history_days < 1:
        msg = f"history_days must be at least 1, not {history_days}"
        raise ValueError(msg)
    began = time.perf_counter()
    context = build_context(profile, seed, now, history_days)
    factory = session_factory(engine)
    _refuse_seeded(factory)
    tally = _Tally()
    for indices in _batches(customers, history_days):
        with transaction(factory) as session:
            _write_batch(session, context, indices, tally)
        if progress is not None:
            progress(indices[-1], customers)
    with transaction(factory) as session:
        session.add(_seed_event(context, tally, history_days))
    return tally.summary(time.perf_counter() - began)


def _refuse_seeded(factory: Callable[[], Session]) -> None:
    first = identity.username(1)
    with factory() as session:
        taken = session.scalar(
            select(models.RetailCustomer.id).where(models.RetailCustomer.username == first)
        )
    if taken is not None:
        msg = f"the database already holds synthetic customers ({first}); seed an empty database"
        raise SeedError(msg)


def _batches(customers: int, history_days: int) -> Iterator[list[int]]:
    """Customer indices 1…N in batches sized to about ``BATCH_READINGS`` readings."""
    size = BATCH_READINGS // (history_days * READINGS_PER_CUSTOMER_DAY)
    size = max(1, min(MAX_BATCH_CUSTOMERS, size))
    for first in range(1, customers + 1, size):
        yield list(range(first, min(customers, first + size - 1) + 1))


def _write_batch(
    session: Session, context: SeedContext, indices: Sequence[int], tally: _Tally
) -> None:
    state = context.profile.state
    plans = [plan_customer(context.seed, index, context.window, state) for index in indices]
    batch = write_customers(session, context, plans)
    repository = ReadingRepository(session.connection())
    pending: list[PendingBill] = []
    for rows in batch:
        _count_rows(rows, tally)
        for position, meter in enumerate(rows.plan.service_points):
            day_totals = _write_readings(repository, context, rows, position, tally)
            pending.extend(_bills(context, rows, meter, rows.points[position].id, day_totals))
    tally.bills += _write_bills(session, pending)


def _count_rows(rows: CustomerRows, tally: _Tally) -> None:
    tally.customers += 1
    tally.former_tenants += len(rows.people) - 1
    tally.accounts += len(rows.accounts)
    tally.service_points += len(rows.points)
    tally.meter_readings += sum(len(channels) for channels in rows.channels)


class _ChannelSink:
    """Buffers one channel's readings (with costs) and hands them over in chunks."""

    def __init__(
        self, repository: ReadingRepository, meter_reading_id: int, meter: MeterPlan
    ) -> None:
        self._repository = repository
        self._id = meter_reading_id
        self._price = meter.rate_plan.cost_units_per_unit()
        self._divisor = meter.rate_plan.raw_per_unit
        self._buffer: list[Reading] = []
        self.written = 0

    def add(
        self,
        starts: Sequence[int],
        durations: Sequence[int] | int,
        values: list[int],
        qualities: int | list[int],
    ) -> None:
        """Append readings; cost = value × price, rounded half up to whole 10⁻⁵ dollars."""
        price, divisor = self._price, self._divisor
        half = divisor // 2
        costs = [(value * price + half) // divisor for value in values]
        spans = repeat(durations) if isinstance(durations, int) else durations
        marks = repeat(qualities) if isinstance(qualities, int) else qualities
        self._buffer.extend(zip(starts, spans, values, costs, marks, strict=False))
        if len(self._buffer) >= CHUNK_READINGS:
            self.flush()

    def flush(self) -> None:
        """Hand the buffered readings to the bulk repository."""
        if self._buffer:
            self.written += self._repository.merge_readings(self._id, self._buffer).inserted
            self._buffer = []


def _write_readings(
    repository: ReadingRepository,
    context: SeedContext,
    rows: CustomerRows,
    position: int,
    tally: _Tally,
) -> list[int]:
    """Generate and store one meter's readings; return its billed channel's per-day totals."""
    meter = rows.plan.service_points[position]
    meter_reading_ids = [channel.id for channel in rows.channels[position]]
    index = rows.plan.index
    window, weather = context.window, context.weather
    sinks = [_ChannelSink(repository, mr_id, meter) for mr_id in meter_reading_ids]
    billed = meter.channels.index(meter.billed_channel)
    totals = [0] * len(window.days)
    rng = meter_random(context.seed, index, meter.service)
    if meter.interval is None:
        for month in monthly_readings(meter, window, weather, rng):
            quality = RAW if month.start >= window.real_time_from else VALIDATED
            sinks[0].add([month.start], [month.duration], [month.value], quality)
            totals[month.day_index] = month.value
    else:
        for block in interval_blocks(meter, window, weather, rng):
            for sink, values in zip(sinks, block.channels, strict=True):
                sink.add(block.starts, meter.interval, values, block.qualities)
            totals[block.day_index] = sum(block.channels[billed])
    for sink in sinks:
        sink.flush()
        tally.readings += sink.written
    return totals


def _bills(
    context: SeedContext,
    rows: CustomerRows,
    meter: MeterPlan,
    point_id: int,
    day_totals: Sequence[int],
) -> Iterator[PendingBill]:
    window = context.window
    for holding, account in zip(rows.plan.holdings, rows.accounts, strict=True):
        for period in bills.bill_periods(holding, window):
            usage = bills.period_usage(period, day_totals, window)
            bill = bills.build_bill(meter.rate_plan, period, usage, holding.esco, window.last_day)
            key = context.uuid("bill", holding.account_number, meter.esiid, period.start)
            yield PendingBill(bill, account.id, point_id, key)


def _write_bills(session: Session, pending: Sequence[PendingBill]) -> int:
    """Insert bills, their sections and line items (three flushes for the whole batch)."""
    heads = [_bill_row(entry) for entry in pending]
    session.add_all(heads)
    session.flush()
    sections = [
        (section, _section_row(head.id, position, section))
        for entry, head in zip(pending, heads, strict=True)
        for position, section in enumerate(entry.bill.sections)
    ]
    session.add_all([row for _, row in sections])
    session.flush()
    session.add_all(
        _line_item_row(row.id, position, line)
        for section, row in sections
        for position, line in enumerate(section.items)
    )
    session.flush()
    return len(heads)


def _bill_row(entry: PendingBill) -> models.Bill:
    bill = entry.bill
    return models.Bill(
        uuid=entry.uuid,
        account_id=entry.account_id,
        service_point_id=entry.service_point_id,
        period_start=bill.period_start,
        period_end=bill.period_end,
        issued_on=bill.issued_on,
        rate_plan=bill.rate_plan,
        usage=bill.usage,
        usage_unit=bill.usage_unit,
        total=bill.total,  # the exact sum of the line items (domain.billing.Bill.total)
        due_on=bill.due_on,
        paid_on=bill.paid_on,
    )


def _section_row(bill_id: int, position: int, section: BillSection) -> models.BillSection:
    return models.BillSection(
        bill_id=bill_id, position=position, kind=section.kind.value, title=section.title
    )


def _line_item_row(section_id: int, position: int, line: LineItem) -> models.BillLineItem:
    return models.BillLineItem(
        section_id=section_id,
        position=position,
        description=line.description,
        amount=line.amount,
        quantity=line.quantity,
        unit=line.unit,
        rate=line.rate,
        category=line.category,
    )


def _seed_event(context: SeedContext, tally: _Tally, history_days: int) -> models.AuditEvent:
    """The audit record of the seed (DESIGN "Audit": ``source:subject:action``)."""
    return models.AuditEvent(
        tag=EventTag.SEED_UTILITY_CREATED,
        actor="system",
        subject=f"seed:{context.seed}",
        data={
            "seed": context.seed,
            "now": context.window.now,
            "history_days": history_days,
            "customers": tally.customers,
            "former_tenants": tally.former_tenants,
            "accounts": tally.accounts,
            "service_points": tally.service_points,
            "meter_readings": tally.meter_readings,
            "readings": tally.readings,
            "bills": tally.bills,
        },
    )
