"""What an ECIS request answers about a shared customer's account and invoices (seed 004).

Glossary: an ECIS *invoice* is a bill *statement* (``domain.statements``): every bill of one
account issued on one day, named by the same id (``statement_id``) the CDS API uses. The
*account summary* is the ``basic`` answer.

One service speaks for the account. ECIS describes an account with one ``account_type``
(electric or gas), one ``rate_code`` and one ``meter_number``, but an account here may hold an
electric and a gas service point, billed on the same statement. The account's *ECIS service
point* is therefore its covered electricity point (the one an energy producer shares a
customer through), else its gas point, lowest id first. For an invoice, the service detailed is
the statement's electricity bills, else its gas bills: their rate plan is ``rate_code``, their
point's meter is ``meter_number``, and the quantities, rates and charge totals of the detail
come from their line items only, so kWh and CCF are never added together. ``invoice_total``
is always the whole statement's total: what the customer owes.

Rules (each function's docstring repeats its own):

- ``invoice_date`` is the issue day; ``invoice_due_date`` the statement's latest due day, or
  its issue day when no bill has one (what CDS ``amount_due_date`` says too);
- ``invoice_paid`` is true when every bill of the statement has a paid day (the seed types it
  boolean; a partly paid statement is not paid);
- the service period runs from the first day any bill covers to the *last* day one covers
  (inclusive, as a customer reads a bill);
- a charge group (energy, distribution, transmission, stranded costs, conservation) totals its
  line items; its quantity is their summed quantity when every one has a quantity in one unit;
  its rate is the rate the lines state when they state one and the same, else total ÷
  quantity to five places; a group with no line item is all None;
- credits come from ``credit`` line items: their unit (or the currency when they carry no
  quantity), rate, and amount credited. The stored bills keep no credit bank, so every credit
  is applied on the bill that earns it: ``new`` = ``allocated``, ``carryover`` and
  ``remaining`` are zero; a statement without credits has zeros and no unit or rate;
- the next meter read is the service point's last read (the exclusive end of its latest bill's
  period) plus whole billing cycles (one calendar month, as every bill here is) until it is no
  earlier than today in the utility's zone; without a bill the cycle starts on the first of
  the current month.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Final

from opencustodian.domain.metering import Commodity

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from uuid import UUID

    from opencustodian.domain.customers import AccountClass
    from opencustodian.domain.statements import BillRecord, ChargeRecord, Statement

#: Charge groups an invoice detail states, by line-item category (seed 004 field prefixes
#: live in ``protocols.ecis.vocabulary``).
CHARGE_GROUPS: Final = ("energy", "distribution", "transmission", "stranded_costs", "conservation")
#: The groups that are delivery charges (what ``delivery_unit`` measures).
DELIVERY_GROUPS: Final = ("distribution", "transmission", "stranded_costs", "conservation")
CREDIT: Final = "credit"
RATE_STEP: Final = Decimal("0.00001")
#: Services in the order one is chosen to speak for an account or an invoice.
SERVICE_ORDER: Final = (Commodity.ELECTRICITY, Commodity.GAS)


@dataclass(frozen=True, slots=True)
class EcisPoint:
    """A covered service point of the account, as ECIS describes it."""

    id: int
    uuid: UUID
    commodity: Commodity
    tariff: str | None
    net_metered: bool
    esiid: str | None
    #: The serial of the meter installed there now (the latest installed), if any.
    meter_number: str | None


@dataclass(frozen=True, slots=True)
class EcisAccount:
    """An account a grant covers, with its covered service points (by id)."""

    id: int
    uuid: UUID
    number: str
    account_class: AccountClass
    points: tuple[EcisPoint, ...]

    @property
    def service_point(self) -> EcisPoint | None:
        """The point that speaks for the account (module docstring); None without energy."""
        for commodity in SERVICE_ORDER:
            for point in sorted(self.points, key=lambda item: item.id):
                if point.commodity is commodity:
                    return point
        return None

    def point(self, point_id: int) -> EcisPoint | None:
        """The covered point with this id."""
        return next((point for point in self.points if point.id == point_id), None)


@dataclass(frozen=True, slots=True)
class GrantCoverage:
    """A grant a request reads through: its customer and live points (``AccessRecord``)."""

    grant_id: int
    customer_id: int
    held_since: tuple[tuple[int, date], ...]


@dataclass(frozen=True, slots=True)
class CoveredAccount:
    """The account a request names, as the grants cover it, and which of them do."""

    account: EcisAccount
    grant_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """The ``basic`` answer."""

    account_number: str
    account_type: Commodity
    account_class: AccountClass
    rate_code: str | None
    next_read_date: date
    meter_number: str | None
    producer_projects: tuple[str, ...]
    invoice_ids: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class ChargeGroup:
    """One group of charges: quantity, rate and total (all None when the group is absent)."""

    quantity: Decimal | None
    rate: Decimal | None
    total: Decimal | None


@dataclass(frozen=True, slots=True)
class Credits:
    """Credits on an invoice, in ``unit`` (module docstring)."""

    unit: str | None
    rate: Decimal | None
    carryover: Decimal
    new: Decimal
    allocated: Decimal
    remaining: Decimal


@dataclass(frozen=True, slots=True)
class Invoice:
    """The ``invoice`` answer."""

    id: UUID
    account_number: str
    rate_code: str | None
    next_read_date: date
    meter_number: str | None
    invoice_date: date
    due_date: date
    total: Decimal
    paid: bool
    period_start: date
    period_end: date  # inclusive: the last day billed
    currency: str


@dataclass(frozen=True, slots=True)
class InvoiceDetail:
    """The ``invoice_detail`` answer: the invoice, its service's charges and credits."""

    invoice: Invoice
    delivery_unit: str | None
    service_unit: str | None
    groups: Mapping[str, ChargeGroup]
    credits: Credits


def producer_project(point: EcisPoint) -> str:
    """The project a net-metered point's generation is: ``net-metering:<ESIID or id>``."""
    return f"net-metering:{point.esiid or point.uuid}"


def last_reads(bills: Iterable[BillRecord]) -> dict[int, date]:
    """Per service point, the day of its last read: the latest bill period's exclusive end."""
    reads: dict[int, date] = {}
    for bill in bills:
        reads[bill.service_point_id] = max(
            reads.get(bill.service_point_id, bill.period_end), bill.period_end
        )
    return reads


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, its day of month clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_read_date(last_read: date | None, today: date) -> date:
    """The first monthly read after ``last_read`` that is not before ``today`` (local days).

    Without a read, the cycle is taken to start on the first of ``today``'s month.
    """
    anchor = last_read if last_read is not None else today.replace(day=1)
    months = 1
    while add_months(anchor, months) < today:
        months += 1
    return add_months(anchor, months)


def account_summary(
    account: EcisAccount, statements: Sequence[Statement], today: date
) -> AccountSummary:
    """The ``basic`` answer for ``account`` and its visible statements (newest first).

    Raises ``ValueError`` when the account has no electricity or gas point (ECIS has no
    ``account_type`` for it); callers check ``account.service_point`` first.
    """
    point = account.service_point
    if point is None:
        msg = f"account {account.number} has no electricity or gas service point"
        raise ValueError(msg)
    bills = [bill for statement in statements for bill in statement.bills]
    own = [bill for bill in bills if bill.service_point_id == point.id]
    latest = max(own, key=lambda bill: bill.period_end, default=None)
    return AccountSummary(
        account_number=account.number,
        account_type=point.commodity,
        account_class=account.account_class,
        rate_code=point.tariff or (latest.rate_plan if latest else None),
        next_read_date=next_read_date(last_reads(own).get(point.id), today),
        meter_number=point.meter_number,
        producer_projects=tuple(
            producer_project(item) for item in account.points if item.net_metered
        ),
        invoice_ids=tuple(statement.id for statement in statements),
    )


def service_bills(account: EcisAccount, statement: Statement) -> tuple[BillRecord, ...]:
    """The bills of ``statement`` its detail describes: electricity, else gas, else all."""
    for commodity in SERVICE_ORDER:
        chosen = tuple(
            bill
            for bill in statement.bills
            if (point := account.point(bill.service_point_id)) is not None
            and point.commodity is commodity
        )
        if chosen:
            return chosen
    return statement.bills


def invoice(
    account: EcisAccount, statement: Statement, reads: Mapping[int, date], today: date
) -> Invoice:
    """The ``invoice`` answer for one of the account's statements.

    ``reads`` are the last reads of the account's points (``last_reads`` of every visible
    bill, not only this statement's), for the next read date.
    """
    bills = service_bills(account, statement)
    lead = bills[-1]  # the chosen service's latest period (bills are by point, then period)
    point = account.point(lead.service_point_id) or account.service_point
    return Invoice(
        id=statement.id,
        account_number=account.number,
        rate_code=lead.rate_plan or (point.tariff if point else None),
        next_read_date=next_read_date(reads.get(lead.service_point_id), today),
        meter_number=point.meter_number if point else None,
        invoice_date=statement.issued_on,
        due_date=statement.due_on or statement.issued_on,
        total=statement.total,
        paid=statement.paid,
        period_start=statement.period_start,
        period_end=statement.period_end - timedelta(days=1),
        currency=statement.currency,
    )


def invoice_detail(
    account: EcisAccount, statement: Statement, reads: Mapping[int, date], today: date
) -> InvoiceDetail:
    """The ``invoice_detail`` answer: the invoice plus its service's charge groups and credits."""
    bills = service_bills(account, statement)
    charges = [charge for bill in bills for section in bill.sections for charge in section.charges]
    groups = {
        name: charge_group([charge for charge in charges if charge.category == name])
        for name in CHARGE_GROUPS
    }
    usage_unit = _one({bill.usage_unit for bill in bills})
    delivery = [charge for charge in charges if charge.category in DELIVERY_GROUPS]
    energy = [charge for charge in charges if charge.category == "energy"]
    return InvoiceDetail(
        invoice=invoice(account, statement, reads, today),
        delivery_unit=_unit_of(delivery) or usage_unit,
        service_unit=_unit_of(energy) or usage_unit,
        groups=groups,
        credits=credit_totals(
            [charge for charge in charges if charge.category == CREDIT], statement
        ),
    )


def charge_group(charges: Sequence[ChargeRecord]) -> ChargeGroup:
    """Quantity, rate and total of one group's line items (module docstring)."""
    if not charges:
        return ChargeGroup(None, None, None)
    total = sum((charge.amount for charge in charges), Decimal(0))
    quantity = _quantity(charges)
    return ChargeGroup(quantity, _rate(charges, total, quantity), total)


def credit_totals(charges: Sequence[ChargeRecord], statement: Statement) -> Credits:
    """The credits of ``credit`` line items (module docstring)."""
    zero = Decimal(0)
    if not charges:
        return Credits(None, None, zero, zero, zero, zero)
    credited = sum((abs(charge.amount) for charge in charges), zero)
    quantity = _quantity(charges)
    if quantity is None:
        return Credits(statement.currency, None, zero, credited, credited, zero)
    quantity = abs(quantity)
    return Credits(
        _unit_of(charges), _rate(charges, credited, quantity), zero, quantity, quantity, zero
    )


def _quantity(charges: Sequence[ChargeRecord]) -> Decimal | None:
    """The summed quantity when every charge has one, all in one unit."""
    if _unit_of(charges) is None or any(charge.quantity is None for charge in charges):
        return None
    return sum((charge.quantity or Decimal(0) for charge in charges), Decimal(0))


def _rate(
    charges: Sequence[ChargeRecord], total: Decimal, quantity: Decimal | None
) -> Decimal | None:
    stated = {charge.rate for charge in charges}
    if len(stated) == 1 and None not in stated:
        return stated.pop()
    if quantity is None or not quantity:
        return None
    return (total / quantity).quantize(RATE_STEP, rounding=ROUND_HALF_UP)


def _unit_of(charges: Sequence[ChargeRecord]) -> str | None:
    """The one unit every charge is measured in, if they share one."""
    return _one({charge.unit for charge in charges}) if charges else None


def _one(values: set[str | None]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None
