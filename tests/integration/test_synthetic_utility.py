"""The synthetic utility behind ``opencustodian seed``: DST days, solar channels, gas units,
bills, determinism, real-time quality, gaps and estimates, monthly meters (seed 000 §3.3g–h).

Runs on the shared ``engine`` fixture (SQLite, or PostgreSQL when
``OPENCUSTODIAN_TEST_DATABASE_URL`` is set). Each test seeds only the few customers and days it
needs; customers 1–6 are fixed showcases (1: home with solar and hourly gas; 2: business on
5-minute AMI; 3: legacy meter, monthly gas, ESCO, former tenant; 4: monthly electric; 5: closed
business; 6: suspended home with ESCO).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from opencustodian.demo.synthetic import SeedError, seed_utility
from opencustodian.demo.synthetic.identity import esiid
from opencustodian.domain.billing import round_money
from opencustodian.kit.time import local_day_bounds, local_midnight, to_epoch
from opencustodian.profile import load_profile
from opencustodian.storage import db
from opencustodian.storage.models import (
    AuditEvent,
    Base,
    Bill,
    BillLineItem,
    BillSection,
    ServicePoint,
)

PROFILE = load_profile()
ZONE = ZoneInfo("America/New_York")
NOW = datetime(2025, 11, 20, 15, 7, 30, tzinfo=UTC)
# A window from 2024-11-02 that holds both DST changes of the 2024–25 winter.
DST_NOW = datetime(2025, 3, 12, 18, 0, tzinfo=UTC)
FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2025, 3, 9)
ELECTRIC, GAS = 1, 2

SERIES_SQL = text(
    "SELECT ir.start, ir.duration, ir.value, ir.cost, ir.quality FROM interval_readings ir"
    " JOIN meter_readings mr ON mr.id = ir.meter_reading_id"
    " JOIN service_points sp ON sp.id = mr.service_point_id"
    " WHERE sp.esiid = :esiid AND mr.channel = :channel ORDER BY ir.start"
)


def _seed(engine, customers, *, seed=1, now=NOW, history_days=400):
    return seed_utility(
        engine, PROFILE, customers=customers, seed=seed, now=now, history_days=history_days
    )


def _series(engine, customer, service, channel="forward"):
    with engine.connect() as connection:
        params = {"esiid": esiid(customer, service), "channel": channel}
        return [tuple(row) for row in connection.execute(SERIES_SQL, params)]


def _on_local_day(series, day):
    start, end = local_day_bounds(day, ZONE)
    return [row for row in series if start <= row[0] < end]


@pytest.mark.parametrize(
    ("customer", "service", "interval", "counts"),
    [
        (1, ELECTRIC, 900, (92, 100)),  # residential AMI, 15 minutes
        (2, ELECTRIC, 300, (276, 300)),  # commercial AMI, 5 minutes
        (1, GAS, 3600, (23, 25)),  # gas AMI, hourly
    ],
)
def test_dst_days_hold_their_local_number_of_intervals(engine, customer, service, interval, counts):
    _seed(engine, 2, now=DST_NOW, history_days=130)
    series = _series(engine, customer, service)

    spring, fall = _on_local_day(series, SPRING_FORWARD), _on_local_day(series, FALL_BACK)

    assert (len(spring), len(fall)) == counts
    for day in (spring, fall):
        starts = [row[0] for row in day]
        assert all(b - a == interval for a, b in pairwise(starts))
        assert {row[1] for row in day} == {interval}
    assert spring[0][0] == to_epoch(local_midnight(SPRING_FORWARD, ZONE))


def test_solar_home_has_forward_reverse_and_net_channels(engine):
    _seed(engine, 1, history_days=60)
    channels = {name: _series(engine, 1, ELECTRIC, name) for name in ("forward", "reverse", "net")}
    forward, reverse, net = (
        {row[0]: row[2] for row in channels[name]} for name in ("forward", "reverse", "net")
    )

    assert forward.keys() == reverse.keys() == net.keys()
    assert all(value >= 0 for value in forward.values())
    assert all(value >= 0 for value in reverse.values())
    assert all(net[start] == forward[start] - reverse[start] for start in net)
    exporting_hours = {
        datetime.fromtimestamp(start, ZONE).hour for start, value in net.items() if value < 0
    }
    assert exporting_hours & {11, 12, 13}  # the roof out-produces the house around noon
    assert not exporting_hours & {0, 1, 2, 3, 4, 22, 23}  # and never at night


def test_gas_is_stored_in_cubic_feet_and_billed_in_ccf(engine):
    _seed(engine, 1, history_days=70)
    with engine.connect() as connection:
        reading_type = connection.execute(
            text(
                "SELECT rt.commodity, rt.kind, rt.uom, rt.power_of_ten_multiplier,"
                " rt.interval_length FROM reading_types rt"
                " JOIN meter_readings mr ON mr.reading_type_id = rt.id"
                " JOIN service_points sp ON sp.id = mr.service_point_id WHERE sp.esiid = :e"
            ),
            {"e": esiid(1, GAS)},
        ).one()
        bill = connection.execute(
            select(Bill.id, Bill.period_start, Bill.period_end, Bill.usage, Bill.usage_unit)
            .join(ServicePoint, ServicePoint.id == Bill.service_point_id)
            .where(ServicePoint.esiid == esiid(1, GAS))
            .order_by(Bill.period_start)
        ).first()
        assert bill is not None
        units = connection.execute(
            select(BillLineItem.unit)
            .distinct()
            .join(BillSection, BillSection.id == BillLineItem.section_id)
            .where(
                BillSection.bill_id == bill.id,
                BillLineItem.quantity.is_not(None),
                BillSection.kind != "tax",
            )
        ).all()

    assert tuple(reading_type) == (7, 58, 119, 0, 3600)  # gas, volume, ft³, ×10⁰, hourly
    cubic_feet = _sum_between(engine, 1, GAS, "forward", (bill.period_start, bill.period_end))
    assert bill.usage_unit == "CCF"
    assert bill.usage == Decimal(cubic_feet) / 100
    assert cubic_feet > 0
    assert [row.unit for row in units] == ["CCF"]


def _sum_between(engine, customer, service, channel, period):
    """The independent SQL sum of a channel's readings starting in local days ``[first, end)``."""
    first, end = period
    start, stop = to_epoch(local_midnight(first, ZONE)), to_epoch(local_midnight(end, ZONE))
    with engine.connect() as connection:
        total = connection.execute(
            text(
                "SELECT SUM(ir.value) FROM interval_readings ir"
                " JOIN meter_readings mr ON mr.id = ir.meter_reading_id"
                " JOIN service_points sp ON sp.id = mr.service_point_id"
                " WHERE sp.esiid = :e AND mr.channel = :c AND ir.start >= :a AND ir.start < :b"
            ),
            {"e": esiid(customer, service), "c": channel, "a": start, "b": stop},
        ).scalar_one()
    return int(total)


def _bills_with_items(engine):
    with engine.connect() as connection:
        bills = connection.execute(
            select(
                Bill.id,
                Bill.period_start,
                Bill.period_end,
                Bill.usage,
                Bill.usage_unit,
                Bill.total,
                ServicePoint.esiid,
                ServicePoint.net_metered,
            )
            .join(ServicePoint, ServicePoint.id == Bill.service_point_id)
            .order_by(Bill.id)
        ).all()
        items = connection.execute(
            select(
                BillSection.bill_id,
                BillSection.kind,
                BillLineItem.amount,
                BillLineItem.quantity,
                BillLineItem.rate,
            )
            .join(BillSection, BillSection.id == BillLineItem.section_id)
            .order_by(BillSection.bill_id, BillSection.position, BillLineItem.position)
        ).all()
    by_bill: dict[int, list[Any]] = {}
    for item in items:
        by_bill.setdefault(item.bill_id, []).append(item)
    return bills, by_bill


def test_bill_totals_are_their_line_items_and_usage_is_the_stored_readings(engine):
    _seed(engine, 6, history_days=200)
    bills, items = _bills_with_items(engine)

    assert len(bills) > 20
    kinds = set()
    for bill in bills:
        lines = items[bill.id]
        assert bill.total == sum((line.amount for line in lines), Decimal(0))
        kinds.add(frozenset(line.kind for line in lines))
        taxable = sum((line.amount for line in lines if line.kind != "tax"), Decimal(0))
        (tax,) = [line for line in lines if line.kind == "tax"]
        assert tax.amount == round_money(max(taxable, Decimal(0)) * tax.rate)
        customer, service = int(bill.esiid[-7:-1]), int(bill.esiid[-1])
        channel = "net" if bill.net_metered else "forward"
        raw = _sum_between(engine, customer, service, channel, (bill.period_start, bill.period_end))
        per_unit = 1000 if bill.usage_unit == "kWh" else 100
        assert bill.usage == Decimal(raw) / per_unit
    # Utility supply on most bills, an ESCO's instead on the ESCO customers' bills.
    assert frozenset({"delivery", "supply", "tax"}) in kinds
    assert frozenset({"delivery", "esco", "tax"}) in kinds


def test_net_metered_bills_charge_net_usage(engine):
    _seed(engine, 1, history_days=400)
    bills, _ = _bills_with_items(engine)
    solar = [bill for bill in bills if bill.net_metered]

    assert len(solar) == 12
    assert min(bill.usage for bill in solar) < 0  # a sunny month exports more than it uses
    assert max(bill.usage for bill in solar) > 0  # a dark one does not


def _dump(engine):
    with engine.connect() as connection:
        queries = [
            (
                "SELECT mr.uuid, ir.start, ir.duration, ir.value, ir.cost, ir.quality"
                " FROM interval_readings ir JOIN meter_readings mr ON mr.id = ir.meter_reading_id"
                " ORDER BY mr.uuid, ir.start"
            ),
            (
                "SELECT b.uuid, b.period_start, b.period_end, b.issued_on, b.rate_plan, b.usage,"
                " b.usage_unit, b.total, s.position, s.kind, s.title, li.position, li.description,"
                " li.amount, li.quantity, li.unit, li.rate FROM bills b"
                " JOIN bill_sections s ON s.bill_id = b.id"
                " JOIN bill_line_items li ON li.section_id = s.id"
                " ORDER BY b.uuid, s.position, li.position"
            ),
            (
                "SELECT c.uuid, c.username, c.first_name, c.last_name, c.email, c.phone, a.uuid,"
                " a.account_number, a.account_class, a.status, a.opened_on, a.closed_on"
                " FROM retail_customers c JOIN accounts a ON a.customer_id = c.id ORDER BY a.uuid"
            ),
            (
                "SELECT sp.uuid, sp.esiid, sp.title, sp.commodity, sp.meter_category,"
                " sp.net_metered, sp.rate_plan, m.meter_number, m.installed_on"
                " FROM service_points sp JOIN meters m ON m.service_point_id = sp.id"
                " ORDER BY sp.uuid"
            ),
        ]
        return [[tuple(map(str, row)) for row in connection.execute(text(sql))] for sql in queries]


def _empty(engine):
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not(engine, empty_database_url):
    other = db.make_engine(empty_database_url)
    db.upgrade(other)
    try:
        _seed(engine, 3, seed=7, history_days=60)
        _seed(other, 3, seed=7, history_days=60)
        first, second = _dump(engine), _dump(other)
        assert first == second
        assert all(first)  # readings, bills, customers and service points were all written

        _empty(other)
        _seed(other, 3, seed=8, history_days=60)
        different = _dump(other)
    finally:
        other.dispose()
    assert different[0] != first[0]
    assert different[1] != first[1]
    assert different[2] != first[2]


def test_a_customer_does_not_depend_on_how_many_are_seeded(engine, empty_database_url):
    other = db.make_engine(empty_database_url)
    db.upgrade(other)
    try:
        _seed(engine, 2, history_days=10)
        _seed(other, 4, history_days=10)
        few = _series(engine, 2, ELECTRIC)
        many = _series(other, 2, ELECTRIC)
    finally:
        other.dispose()
    assert few
    assert few == many


def test_last_24_hours_are_provisional_and_older_readings_validated(engine):
    _seed(engine, 2, history_days=10)
    boundary = to_epoch(NOW - PROFILE.limits.real_time_window)
    now = to_epoch(NOW)
    for customer, service, channel in [
        (1, ELECTRIC, "net"),
        (2, ELECTRIC, "forward"),
        (1, GAS, "forward"),
    ]:
        series = _series(engine, customer, service, channel)
        recent = [row for row in series if row[0] >= boundary]
        older = [row for row in series if row[0] + row[1] <= boundary]
        assert recent
        assert {row[4] for row in recent} == {14}
        assert {row[4] for row in older} <= {17, 8, 9}
        assert 17 in {row[4] for row in older}
        last_start, duration = series[-1][0], series[-1][1]
        assert now - duration < last_start + duration <= now  # the last complete interval


def test_meters_have_outages_and_estimated_readings(engine):
    _seed(engine, 1, history_days=400)
    series = _series(engine, 1, ELECTRIC)
    starts = [row[0] for row in series]

    holes = [later - earlier for earlier, later in pairwise(starts) if later - earlier != 900]
    assert holes  # some expected quarter hours are missing (an outage of 2–6 hours)
    assert all(2 * 3600 < hole <= 6 * 3600 + 900 for hole in holes)
    estimated = [row for row in series if row[4] in {8, 9}]
    assert estimated
    assert all(row[2] >= 0 for row in estimated)


def test_monthly_meters_have_one_reading_per_local_month(engine):
    _seed(engine, 4, history_days=400)
    first_month = date(2024, 11, 1)  # the first whole month after the window starts (Oct 16)
    months = []
    day = first_month
    while day < date(2025, 11, 1):
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)

    for customer, service in [(3, GAS), (4, ELECTRIC)]:
        series = _series(engine, customer, service)
        assert len(series) == len(months) == 12
        for row, month in zip(series, months, strict=True):
            start = to_epoch(local_midnight(month, ZONE))
            following = (month + timedelta(days=32)).replace(day=1)
            assert row[0] == start
            assert row[1] == to_epoch(local_midnight(following, ZONE)) - start
            assert row[4] == 17
    by_start = {row[0]: row[1] for row in _series(engine, 4, ELECTRIC)}
    assert by_start[to_epoch(local_midnight(date(2025, 3, 1), ZONE))] == 31 * 86_400 - 3_600
    assert by_start[to_epoch(local_midnight(date(2024, 11, 1), ZONE))] == 30 * 86_400 + 3_600


def test_summary_matches_the_rows_and_the_seed_is_audited(engine):
    summary = _seed(engine, 5, history_days=40)
    with engine.connect() as connection:
        counts = {
            table: connection.execute(
                select(func.count()).select_from(Base.metadata.tables[table])
            ).scalar_one()
            for table in (
                "retail_customers",
                "accounts",
                "service_points",
                "meter_readings",
                "interval_readings",
                "bills",
            )
        }
        events = connection.execute(
            select(AuditEvent.tag, AuditEvent.data).where(AuditEvent.tag == "seed:utility:created")
        ).all()

    assert counts == {
        "retail_customers": summary.customers + summary.former_tenants,
        "accounts": summary.accounts,
        "service_points": summary.service_points,
        "meter_readings": summary.meter_readings,
        "interval_readings": summary.readings,
        "bills": summary.bills,
    }
    assert summary.customers == 5
    assert len(events) == 1
    assert events[0].data["readings"] == summary.readings


def test_seeding_a_seeded_database_is_refused(engine):
    _seed(engine, 1, history_days=2)
    with pytest.raises(SeedError, match="customer0001"):
        _seed(engine, 1, history_days=2)


def test_naive_now_is_refused(engine):
    with pytest.raises(ValueError, match="naive"):
        _seed(engine, 1, now=datetime(2025, 1, 1), history_days=2)  # noqa: DTZ001
