"""Bill statements: an account's bills issued on one day, with their sections and charges.

The stored ``bills`` are one per account, service point and period (what ESPI UsageSummary
serves). A customer receives them together: every bill of an account issued on the same day
is one *statement* (CDS-WG3-01 §10.5 Bill Statement; ECIS "invoice"), and each bill is one
*section* of it (§10.6 Bill Section). The statement's id is derived from the account and the
issue day, so CDS and ECIS name the same statement with the same id.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from opencustodian.kit.ids import stable_uuid

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date, datetime
    from uuid import UUID

#: What a charge pays for (the ``bill_line_items.category`` values).
LINE_ITEM_CATEGORIES = (
    "fixed",
    "energy",
    "distribution",
    "transmission",
    "stranded_costs",
    "conservation",
    "tax",
    "credit",
    "other",
)


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    """One line item; ``category`` says what it pays for (``LINE_ITEM_CATEGORIES``)."""

    id: int
    position: int
    description: str
    category: str
    amount: Decimal
    quantity: Decimal | None
    unit: str | None
    rate: Decimal | None


@dataclass(frozen=True, slots=True)
class SectionRecord:
    """A titled group of charges on a bill (delivery, supply, ESCO supply, tax)."""

    id: int
    position: int
    kind: str
    title: str
    charges: tuple[ChargeRecord, ...]


@dataclass(frozen=True, slots=True)
class BillRecord:
    """One stored bill: an account's charges for one service point and period."""

    id: int
    uuid: UUID
    account_id: int
    account_uuid: UUID
    account_number: str
    service_point_id: int
    period_start: date
    period_end: date  # exclusive
    issued_on: date
    due_on: date | None
    paid_on: date | None
    rate_plan: str
    usage: Decimal
    usage_unit: str
    total: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    sections: tuple[SectionRecord, ...]


def statement_id(account_uuid: UUID, issued_on: date) -> UUID:
    """The stable id of an account's statement issued on ``issued_on``."""
    return stable_uuid("bill-statement", account_uuid, issued_on.isoformat())


@dataclass(frozen=True, slots=True)
class Statement:
    """Every bill of one account issued on one day."""

    account_uuid: UUID
    account_number: str
    issued_on: date
    bills: tuple[BillRecord, ...]

    @property
    def id(self) -> UUID:
        """The statement's stable id."""
        return statement_id(self.account_uuid, self.issued_on)

    @property
    def total(self) -> Decimal:
        """The amount of all its bills."""
        return sum((bill.total for bill in self.bills), Decimal(0))

    @property
    def currency(self) -> str:
        """The currency of its bills (one account bills in one currency)."""
        return self.bills[0].currency

    @property
    def due_on(self) -> date | None:
        """When payment is due: the latest due day of its bills (None when none is set)."""
        days = [bill.due_on for bill in self.bills if bill.due_on is not None]
        return max(days) if days else None

    @property
    def paid(self) -> bool:
        """Whether every bill of it is paid."""
        return all(bill.paid_on is not None for bill in self.bills)

    @property
    def period_start(self) -> date:
        """The first day any of its bills covers."""
        return min(bill.period_start for bill in self.bills)

    @property
    def period_end(self) -> date:
        """The day after the last day any of its bills covers."""
        return max(bill.period_end for bill in self.bills)


def statements(bills: Iterable[BillRecord]) -> list[Statement]:
    """``bills`` grouped into statements, newest issue day first (then account number)."""
    groups: dict[tuple[UUID, date], list[BillRecord]] = {}
    numbers: dict[UUID, str] = {}
    for bill in bills:
        groups.setdefault((bill.account_uuid, bill.issued_on), []).append(bill)
        numbers[bill.account_uuid] = bill.account_number
    grouped = [
        Statement(account, numbers[account], issued_on, tuple(sorted(group, key=_bill_order)))
        for (account, issued_on), group in groups.items()
    ]
    return sorted(grouped, key=lambda item: (-item.issued_on.toordinal(), item.account_number))


def _bill_order(bill: BillRecord) -> tuple[int, date]:
    return (bill.service_point_id, bill.period_start)
