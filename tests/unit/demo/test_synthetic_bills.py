"""Synthetic bills: categorised line items, itemised delivery, due and paid days, credits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from opencustodian.demo.synthetic import tariffs
from opencustodian.demo.synthetic.bills import BillPeriod, build_bill
from opencustodian.demo.synthetic.calendar import LocalMonth
from opencustodian.domain.billing import round_money
from opencustodian.domain.statements import LINE_ITEM_CATEGORIES

OCTOBER = LocalMonth(date(2026, 10, 1), date(2026, 11, 1), 0, 0)
FULL = BillPeriod(date(2026, 10, 1), date(2026, 11, 1), OCTOBER)
DELIVERY = ("distribution", "transmission", "stranded_costs", "conservation")
PLANS = (
    tariffs.RESIDENTIAL_ELECTRIC,
    tariffs.RESIDENTIAL_NET_METERING,
    tariffs.COMMERCIAL_ELECTRIC,
    tariffs.RESIDENTIAL_GAS,
    tariffs.COMMERCIAL_GAS,
)


def items(bill):
    return [item for section in bill.sections for item in section.items]


@pytest.mark.parametrize("plan", PLANS, ids=lambda plan: plan.code)
def test_delivery_is_itemised_and_every_item_has_a_category(plan):
    raw = 523_457 if plan.unit == "kWh" else 8_765
    bill = build_bill(plan, FULL, raw, None, date(2026, 11, 22))
    lines = items(bill)
    assert {line.category for line in lines} <= set(LINE_ITEM_CATEGORIES)
    by_category = {line.category: line for line in lines}
    assert set(by_category) == {
        "fixed",
        "distribution",
        "transmission",
        "stranded_costs",
        "conservation",
        "energy",
        "tax",
    }
    usage = Decimal(raw) / plan.raw_per_unit
    delivery = [by_category[name] for name in DELIVERY]
    assert sum(line.rate for line in delivery) == plan.delivery_rate
    for line in delivery:
        assert line.quantity == usage
        assert line.unit == plan.unit
        assert line.amount == round_money(usage * line.rate)
    assert bill.total == sum((line.amount for line in lines), Decimal(0))
    assert all(line.amount == round_money(line.amount) for line in lines)  # whole cents


def test_due_three_weeks_after_issue_and_paid_four_days_early_when_due_before_today():
    paid = build_bill(tariffs.RESIDENTIAL_ELECTRIC, FULL, 400_000, None, date(2026, 12, 31))
    assert paid.issued_on == date(2026, 11, 4)
    assert paid.due_on == date(2026, 11, 25)
    assert paid.paid_on == date(2026, 11, 21)
    outstanding = build_bill(tariffs.RESIDENTIAL_ELECTRIC, FULL, 400_000, None, date(2026, 11, 22))
    assert outstanding.due_on == date(2026, 11, 25)
    assert outstanding.paid_on is None
    on_the_day = build_bill(tariffs.RESIDENTIAL_ELECTRIC, FULL, 400_000, None, date(2026, 11, 25))
    assert on_the_day.paid_on is None  # due today is not yet overdue, nor paid


def test_a_net_export_is_one_credit_at_the_energy_price_and_no_negative_charge():
    plan = tariffs.RESIDENTIAL_NET_METERING
    bill = build_bill(plan, FULL, -212_345, None, date(2026, 12, 31))
    lines = items(bill)
    (credit,) = [line for line in lines if line.category == "credit"]
    assert credit.quantity == Decimal("212.345")
    assert credit.unit == "kWh"
    assert credit.rate == plan.delivery_rate + plan.supply_rate
    assert credit.amount == -round_money(Decimal("212.345") * credit.rate)
    assert all(line.amount >= 0 for line in lines if line.category != "credit")
    assert bill.usage == Decimal("-212.345")
    assert bill.total == sum((line.amount for line in lines), Decimal(0))
    (tax,) = [line for line in lines if line.category == "tax"]
    assert tax.amount == 0  # a credit month is not taxed below zero


def test_an_esco_supplies_the_energy_line():
    esco = tariffs.ESCOS[0]
    bill = build_bill(tariffs.RESIDENTIAL_ELECTRIC, FULL, 300_000, esco, date(2026, 11, 22))
    (energy,) = [line for line in items(bill) if line.category == "energy"]
    assert energy.rate == esco.electric_rate
    assert esco.name in energy.description
