"""Monthly bills from stored usage: delivery, supply (or ESCO supply) and sales tax.

One bill per account, service point and fully elapsed local calendar month of the account's
tenure (a move-in or move-out mid-month gives a prorated first or last bill). Usage is the sum
of the readings that start in the period — net usage for a net-metered home, which may be a
credit. Every amount is a ``Decimal`` rounded to cents, and the total is the exact sum of the
line items (DESIGN "Money and units"; ``domain.billing.Bill.total``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from opencustodian.domain.billing import Bill, BillSection, LineItem, SectionKind, round_money

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opencustodian.demo.synthetic.calendar import HistoryWindow, LocalMonth
    from opencustodian.demo.synthetic.population import Holding
    from opencustodian.demo.synthetic.tariffs import Esco, RatePlan

ISSUE_LAG_DAYS = 3


@dataclass(frozen=True, slots=True)
class BillPeriod:
    """The part of a local month an account held the service point: ``[start, end)``."""

    start: date
    end: date
    month: LocalMonth

    @property
    def days(self) -> int:
        """Days billed."""
        return (self.end - self.start).days


def bill_periods(holding: Holding, window: HistoryWindow) -> list[BillPeriod]:
    """The periods to bill ``holding`` for: its tenure cut by the window's complete months."""
    periods = []
    for month in window.months:
        start = max(month.first_day, holding.move_in)
        end = month.next_first_day
        if holding.move_out is not None:
            end = min(end, holding.move_out)
        if start < end:
            periods.append(BillPeriod(start, end, month))
    return periods


def period_usage(period: BillPeriod, day_totals: Sequence[int], window: HistoryWindow) -> int:
    """The raw usage (Wh or ft³) of readings that start in the period's local days."""
    return sum(day_totals[window.day_index(period.start) : window.day_index(period.end)])


def build_bill(
    plan: RatePlan, period: BillPeriod, raw_usage: int, esco: Esco | None, today: date
) -> Bill:
    """The statement for ``period``: charges at ``plan``'s rates on ``raw_usage``."""
    usage = Decimal(raw_usage) / Decimal(plan.raw_per_unit)
    delivery = BillSection(
        SectionKind.DELIVERY,
        "Delivery",
        (
            _customer_charge(plan, period),
            _metered("Delivery", usage, plan.unit, plan.delivery_rate),
        ),
    )
    supply = _supply(plan, usage, esco)
    subtotal = delivery.subtotal + supply.subtotal
    return Bill(
        period_start=period.start,
        period_end=period.end,
        issued_on=min(period.end + timedelta(days=ISSUE_LAG_DAYS), today),
        rate_plan=plan.code,
        sections=(delivery, supply, _tax(plan, subtotal)),
        usage=usage,
        usage_unit=plan.unit,
    )


def _customer_charge(plan: RatePlan, period: BillPeriod) -> LineItem:
    """The monthly charge, prorated by days when the tenure covers part of the month."""
    month_days = period.month.days
    if period.days == month_days:
        return LineItem("Basic service charge", plan.customer_charge)
    amount = round_money(plan.customer_charge * period.days / month_days)
    return LineItem(
        f"Basic service charge ({period.days} of {month_days} days)",
        amount,
        quantity=Decimal(period.days),
        unit="days",
    )


def _metered(description: str, usage: Decimal, unit: str, rate: Decimal) -> LineItem:
    return LineItem(
        f"{description} {usage} {unit} × ${rate}",
        round_money(usage * rate),
        quantity=usage,
        unit=unit,
        rate=rate,
    )


def _supply(plan: RatePlan, usage: Decimal, esco: Esco | None) -> BillSection:
    """Utility supply, or the ESCO's supply charge when the account buys from one."""
    if esco is None:
        item = _metered("Supply", usage, plan.unit, plan.supply_rate)
        return BillSection(SectionKind.SUPPLY, "Supply", (item,))
    item = _metered(f"{esco.name} supply", usage, plan.unit, esco.rate_for(plan.commodity))
    return BillSection(SectionKind.ESCO, f"Supply by {esco.name} (ESCO)", (item,))


def _tax(plan: RatePlan, subtotal: Decimal) -> BillSection:
    """Sales tax on the charges; a net-metering credit is not taxed (no negative tax)."""
    taxable = max(subtotal, Decimal(0))
    item = LineItem(
        f"Sales tax {(plan.sales_tax_rate * 100).normalize()}%",
        round_money(taxable * plan.sales_tax_rate),
        quantity=taxable,
        unit="USD",
        rate=plan.sales_tax_rate,
    )
    return BillSection(SectionKind.TAX, "Taxes", (item,))
