"""Monthly bills from stored usage: delivery, supply (or ESCO supply) and sales tax.

One bill per account, service point and fully elapsed local calendar month of the account's
tenure (a move-in or move-out mid-month gives a prorated first or last bill). Usage is the sum
of the readings that start in the period — net usage for a net-metered home, which may be
negative. Every amount is a ``Decimal`` rounded to cents, and the total is the exact sum of the
line items (DESIGN "Money and units"; ``domain.billing.Bill.total``).

Each line item has the category of what it pays for (``domain.statements``): the customer
charge is ``fixed``; delivery is itemised as ``distribution``, ``transmission``,
``stranded_costs`` and ``conservation`` (``tariffs.DeliveryCharge``), each with its quantity
and rate; supply is ``energy``; tax is ``tax``. A net-metered month that exports more than it
uses is charged on zero usage and credited for the net export at the energy price (delivery
plus supply): one ``credit`` line item with its quantity in kWh and its rate.

A bill is due ``DUE_DAYS`` after it is issued; one due before the seed's today was paid
``PAID_DAYS_BEFORE_DUE`` days before its due day, later ones are outstanding.
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
DUE_DAYS = 21
PAID_DAYS_BEFORE_DUE = 4


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
    charged = max(usage, Decimal(0))
    delivery = BillSection(
        SectionKind.DELIVERY,
        "Delivery",
        (
            _customer_charge(plan, period),
            *(
                _metered(charge.name, charged, plan.unit, charge.rate, charge.category)
                for charge in plan.delivery
            ),
        ),
    )
    supply = _supply(plan, charged, esco, exported=max(-usage, Decimal(0)))
    subtotal = delivery.subtotal + supply.subtotal
    issued_on = min(period.end + timedelta(days=ISSUE_LAG_DAYS), today)
    due_on = issued_on + timedelta(days=DUE_DAYS)
    return Bill(
        period_start=period.start,
        period_end=period.end,
        issued_on=issued_on,
        rate_plan=plan.code,
        sections=(delivery, supply, _tax(plan, subtotal)),
        usage=usage,
        usage_unit=plan.unit,
        due_on=due_on,
        paid_on=due_on - timedelta(days=PAID_DAYS_BEFORE_DUE) if due_on < today else None,
    )


def _customer_charge(plan: RatePlan, period: BillPeriod) -> LineItem:
    """The monthly charge, prorated by days when the tenure covers part of the month."""
    month_days = period.month.days
    if period.days == month_days:
        return LineItem("Basic service charge", plan.customer_charge, category="fixed")
    amount = round_money(plan.customer_charge * period.days / month_days)
    return LineItem(
        f"Basic service charge ({period.days} of {month_days} days)",
        amount,
        quantity=Decimal(period.days),
        unit="days",
        category="fixed",
    )


def _metered(description: str, usage: Decimal, unit: str, rate: Decimal, category: str) -> LineItem:
    return LineItem(
        f"{description} {usage} {unit} × ${rate}",
        round_money(usage * rate),
        quantity=usage,
        unit=unit,
        rate=rate,
        category=category,
    )


def _supply(plan: RatePlan, usage: Decimal, esco: Esco | None, *, exported: Decimal) -> BillSection:
    """Utility supply, or the ESCO's supply charge when the account buys from one.

    A net export (``exported`` > 0) is credited at the energy price: delivery plus supply.
    """
    if esco is None:
        rate = plan.supply_rate
        kind, title, name = SectionKind.SUPPLY, "Supply", "Supply"
    else:
        rate = esco.rate_for(plan.commodity)
        kind, title, name = SectionKind.ESCO, f"Supply by {esco.name} (ESCO)", f"{esco.name} supply"
    items = [_metered(name, usage, plan.unit, rate, "energy")]
    if exported:
        price = plan.delivery_rate + rate
        items.append(
            LineItem(
                f"Net metering credit {exported} {plan.unit} × ${price}",
                -round_money(exported * price),
                quantity=exported,
                unit=plan.unit,
                rate=price,
                category="credit",
            )
        )
    return BillSection(kind, title, tuple(items))


def _tax(plan: RatePlan, subtotal: Decimal) -> BillSection:
    """Sales tax on the charges; a net-metering credit is not taxed (no negative tax)."""
    taxable = max(subtotal, Decimal(0))
    item = LineItem(
        f"Sales tax {(plan.sales_tax_rate * 100).normalize()}%",
        round_money(taxable * plan.sales_tax_rate),
        quantity=taxable,
        unit="USD",
        rate=plan.sales_tax_rate,
        category="tax",
    )
    return BillSection(SectionKind.TAX, "Taxes", (item,))
