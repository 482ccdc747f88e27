"""ECIS invoices computed from statements: totals, groups, credits, dates, and their bodies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencustodian.domain.customers import AccountClass
from opencustodian.domain.invoices import (
    EcisAccount,
    EcisPoint,
    account_summary,
    add_months,
    charge_group,
    invoice,
    invoice_detail,
    last_reads,
    next_read_date,
    service_bills,
)
from opencustodian.domain.metering import Commodity
from opencustodian.domain.statements import (
    BillRecord,
    ChargeRecord,
    SectionRecord,
    statement_id,
    statements,
)
from opencustodian.kit import exact_json
from opencustodian.protocols.ecis.vocabulary import (
    basic_body,
    invoice_body,
    invoice_detail_body,
)
from tests.cds_schemas import assert_valid

ACCOUNT_UUID = UUID("6f1c1d0e-0000-4000-8000-000000000001")
STAMP = datetime(2026, 11, 1, tzinfo=UTC)
ELECTRIC = EcisPoint(
    11,
    uuid4(),
    Commodity.ELECTRICITY,
    "EL1 Residential",
    net_metered=False,
    esiid="E-11",
    meter_number="M-11",
)
SOLAR = EcisPoint(
    12, uuid4(), Commodity.ELECTRICITY, None, net_metered=True, esiid="E-12", meter_number="M-12"
)
GAS = EcisPoint(
    21,
    uuid4(),
    Commodity.GAS,
    "G1 Residential Gas",
    net_metered=False,
    esiid="G-21",
    meter_number="M-21",
)
TODAY = date(2026, 11, 22)
_ids = iter(range(1, 10_000))


def account(*points: EcisPoint) -> EcisAccount:
    return EcisAccount(1, ACCOUNT_UUID, "0018-102", AccountClass.RESIDENTIAL, points)


def charge(
    category: str,
    amount: str,
    quantity: str | None = None,
    unit: str | None = None,
    rate: str | None = None,
) -> ChargeRecord:
    return ChargeRecord(
        next(_ids),
        0,
        category,
        category,
        Decimal(amount),
        Decimal(quantity) if quantity is not None else None,
        unit,
        Decimal(rate) if rate is not None else None,
    )


def bill(  # noqa: PLR0913 - a bill has this many facts
    point: EcisPoint,
    charges: list[ChargeRecord],
    *,
    start: date = date(2026, 10, 1),
    end: date = date(2026, 11, 1),
    issued: date = date(2026, 11, 4),
    due: date | None = date(2026, 11, 25),
    paid: date | None = None,
    unit: str = "kWh",
    rate_plan: str = "EL1 Residential",
) -> BillRecord:
    total = sum((item.amount for item in charges), Decimal(0))
    return BillRecord(
        id=next(_ids),
        uuid=uuid4(),
        account_id=1,
        account_uuid=ACCOUNT_UUID,
        account_number="0018-102",
        service_point_id=point.id,
        period_start=start,
        period_end=end,
        issued_on=issued,
        due_on=due,
        paid_on=paid,
        rate_plan=rate_plan,
        usage=Decimal(100),
        usage_unit=unit,
        total=total,
        currency="USD",
        created_at=STAMP,
        updated_at=STAMP,
        sections=(SectionRecord(next(_ids), 0, "delivery", "Delivery", tuple(charges)),),
    )


def electric_charges() -> list[ChargeRecord]:
    return [
        charge("fixed", "18.00"),
        charge("distribution", "61.83", "523.9808", "kWh", "0.11800"),
        charge("transmission", "16.24", "523.9808", "kWh", "0.03100"),
        charge("stranded_costs", "4.45", "523.9808", "kWh", "0.00850"),
        charge("conservation", "3.93", "523.9808", "kWh", "0.00750"),
        charge("energy", "57.64", "523.9808", "kWh", "0.11000"),
        charge("tax", "7.23", "160.59", "USD", "0.045"),
    ]


def gas_charges() -> list[ChargeRecord]:
    return [
        charge("fixed", "24.00"),
        charge("distribution", "31.20", "40", "CCF", "0.78000"),
        charge("energy", "20.80", "40", "CCF", "0.52000"),
    ]


def test_an_invoice_is_the_whole_statement_with_its_electric_service_in_front():
    electric = bill(ELECTRIC, electric_charges(), paid=date(2026, 11, 21))
    gas = bill(GAS, gas_charges(), unit="CCF", rate_plan="G1 Residential Gas", due=None)
    (statement,) = statements([gas, electric])
    answer = invoice(account(ELECTRIC, GAS), statement, last_reads([electric, gas]), TODAY)
    assert answer.id == statement_id(ACCOUNT_UUID, date(2026, 11, 4))
    assert answer.total == electric.total + gas.total == Decimal("245.32")
    assert answer.rate_code == "EL1 Residential"
    assert answer.meter_number == "M-11"
    assert answer.invoice_date == date(2026, 11, 4)
    assert answer.due_date == date(2026, 11, 25)
    assert answer.paid is False  # the gas bill is outstanding
    assert answer.period_start == date(2026, 10, 1)
    assert answer.period_end == date(2026, 10, 31)  # the last day billed
    assert answer.next_read_date == date(2026, 12, 1)


def test_due_date_falls_back_to_the_issue_day_and_paid_needs_every_bill():
    one = bill(ELECTRIC, electric_charges(), due=None, paid=date(2026, 11, 10))
    (statement,) = statements([one])
    answer = invoice(account(ELECTRIC), statement, {}, TODAY)
    assert answer.due_date == answer.invoice_date == date(2026, 11, 4)
    assert answer.paid is True


def test_the_detail_describes_the_electric_bills_and_never_adds_kwh_to_ccf():
    electric = bill(ELECTRIC, electric_charges())
    gas = bill(GAS, gas_charges(), unit="CCF")
    (statement,) = statements([electric, gas])
    detail = invoice_detail(account(ELECTRIC, GAS), statement, {}, TODAY)
    distribution = detail.groups["distribution"]
    assert distribution.quantity == Decimal("523.9808")
    assert distribution.rate == Decimal("0.11800")
    assert distribution.total == Decimal("61.83")
    assert detail.groups["energy"].total == Decimal("57.64")
    assert detail.delivery_unit == detail.service_unit == "kWh"
    assert detail.invoice.total == Decimal("245.32")  # still the whole statement


def test_a_gas_only_statement_is_detailed_in_its_own_unit():
    gas = bill(GAS, gas_charges(), unit="CCF", rate_plan="G1 Residential Gas")
    (statement,) = statements([gas])
    assert service_bills(account(ELECTRIC, GAS), statement) == (gas,)
    detail = invoice_detail(account(ELECTRIC, GAS), statement, {}, TODAY)
    assert detail.delivery_unit == detail.service_unit == "CCF"
    assert detail.invoice.rate_code == "G1 Residential Gas"
    assert detail.invoice.meter_number == "M-21"
    assert detail.groups["transmission"].total is None


def test_charge_groups():
    assert charge_group([]) == charge_group([])
    absent = charge_group([])
    assert (absent.quantity, absent.rate, absent.total) == (None, None, None)
    tiers = charge_group(
        [
            charge("energy", "10.00", "100", "kWh", "0.10000"),
            charge("energy", "6.00", "50", "kWh", "0.12000"),
        ]
    )
    assert tiers.quantity == Decimal(150)
    assert tiers.total == Decimal("16.00")
    assert tiers.rate == Decimal("0.10667")  # 16 / 150 to five places
    same = charge_group(
        [charge("energy", "1.00", "10", "kWh", "0.1"), charge("energy", "2.00", "20", "kWh", "0.1")]
    )
    assert same.rate == Decimal("0.1")
    flat = charge_group([charge("conservation", "3.00")])
    assert (flat.quantity, flat.rate, flat.total) == (None, None, Decimal("3.00"))
    mixed = charge_group(
        [charge("energy", "1.00", "10", "kWh", "0.1"), charge("energy", "2.00", "2", "CCF", "1")]
    )
    assert (mixed.quantity, mixed.rate, mixed.total) == (None, None, Decimal("3.00"))
    unstated = charge_group([charge("energy", "7.00", "70", "kWh")])
    assert unstated.rate == Decimal("0.10000")
    negative = charge_group([charge("energy", "-5.50", "-50", "kWh")])
    assert negative.rate == Decimal("0.11000")


def test_no_credit_lines_means_zero_credits_without_a_unit():
    (statement,) = statements([bill(ELECTRIC, electric_charges())])
    credit = invoice_detail(account(ELECTRIC), statement, {}, TODAY).credits
    assert (credit.unit, credit.rate) == (None, None)
    assert credit.carryover == credit.new == credit.allocated == credit.remaining == 0


def test_a_net_metering_credit_is_new_and_applied_on_its_bill():
    items = [
        charge("fixed", "18.00"),
        charge("energy", "0.00", "0", "kWh", "0.11000"),
        charge("credit", "-58.39", "212.345", "kWh", "0.27500"),
    ]
    (statement,) = statements([bill(SOLAR, items)])
    credit = invoice_detail(account(SOLAR), statement, {}, TODAY).credits
    assert credit.unit == "kWh"
    assert credit.rate == Decimal("0.27500")
    assert credit.new == credit.allocated == Decimal("212.345")
    assert credit.carryover == credit.remaining == 0


def test_a_credit_without_quantity_is_counted_in_currency():
    items = [charge("fixed", "18.00"), charge("credit", "-25.00")]
    (statement,) = statements([bill(ELECTRIC, items)])
    credit = invoice_detail(account(ELECTRIC), statement, {}, TODAY).credits
    assert credit.unit == "USD"
    assert credit.rate is None
    assert credit.new == credit.allocated == Decimal("25.00")


def test_next_read_dates():
    assert next_read_date(date(2026, 11, 1), TODAY) == date(2026, 12, 1)
    assert next_read_date(date(2026, 8, 1), TODAY) == date(2026, 12, 1)  # stale bills
    assert next_read_date(date(2026, 10, 22), TODAY) == TODAY  # the read is today
    assert next_read_date(None, TODAY) == date(2026, 12, 1)
    assert next_read_date(date(2026, 1, 31), date(2026, 2, 3)) == date(2026, 2, 28)
    assert next_read_date(date(2026, 1, 31), date(2026, 3, 1)) == date(2026, 3, 31)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 400))
def test_the_next_read_is_never_past_and_within_a_cycle(last, days_later):
    today = date.fromordinal(last.toordinal() + days_later)
    upcoming = next_read_date(last, today)
    assert upcoming >= today
    assert upcoming > last
    assert (upcoming - today).days <= 31
    assert add_months(last, 0) == last


def test_basic_summary():
    october = bill(ELECTRIC, electric_charges())
    september = bill(
        ELECTRIC,
        electric_charges(),
        start=date(2026, 9, 1),
        end=date(2026, 10, 1),
        issued=date(2026, 10, 4),
    )
    summary = account_summary(
        account(GAS, SOLAR, ELECTRIC), statements([september, october]), TODAY
    )
    assert summary.account_type is Commodity.ELECTRICITY
    assert summary.rate_code == "EL1 Residential"
    assert summary.meter_number == "M-11"
    assert summary.producer_projects == ("net-metering:E-12",)
    assert summary.invoice_ids == (
        statement_id(ACCOUNT_UUID, date(2026, 11, 4)),
        statement_id(ACCOUNT_UUID, date(2026, 10, 4)),
    )
    assert summary.next_read_date == date(2026, 12, 1)
    gas_only = account_summary(account(GAS), [], TODAY)
    assert gas_only.account_type is Commodity.GAS
    assert gas_only.invoice_ids == ()
    untariffed = account_summary(account(SOLAR), statements([bill(SOLAR, [])]), TODAY)
    assert untariffed.rate_code == "EL1 Residential"  # the bill's plan when the point has none


def test_an_account_without_energy_service_has_no_summary():
    water = EcisPoint(
        31, uuid4(), Commodity.WATER, "W1", net_metered=False, esiid=None, meter_number=None
    )
    assert account(water).service_point is None
    with pytest.raises(ValueError, match="no electricity or gas"):
        account_summary(account(water), [], TODAY)


def test_bodies_use_the_seed_names_validate_and_keep_decimals_exact():
    electric = bill(ELECTRIC, electric_charges())
    gas = bill(GAS, gas_charges(), unit="CCF")
    visible = statements([electric, gas])
    acct = account(ELECTRIC, GAS, SOLAR)
    basic = basic_body(account_summary(acct, visible, TODAY))
    assert_valid("EcisBasic", basic)
    assert basic["account_type"] == "electric"
    assert basic["oc_account_class"] == "residential"
    one = invoice_body(invoice(acct, visible[0], {}, TODAY))
    assert_valid("EcisInvoice", one)
    assert "serivce_period_end" not in one
    assert one["service_period_end"] == "2026-10-31"
    detail = invoice_detail_body(invoice_detail(acct, visible[0], {}, TODAY))
    assert_valid("EcisInvoiceDetail", detail)
    assert detail["energy_consumption_quantity"] == Decimal("523.9808")
    assert detail["credit_new"] == 0
    text = exact_json.dumps(detail)
    assert '"invoice_total":245.32' in text
    assert '"distribution_rate":0.11800' in text
    parsed = json.loads(text, parse_float=Decimal)
    assert parsed["invoice_total"] == Decimal("245.32")
    absent = invoice_detail_body(
        invoice_detail(acct, statements([bill(ELECTRIC, [charge("fixed", "18.00")])])[0], {}, TODAY)
    )
    assert_valid("EcisInvoiceDetail", absent)
    assert absent["transmission_total"] is None
