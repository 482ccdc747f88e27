"""Bills: statements with sections and line items, in exact decimal money.

A bill's total is always the sum of its line items; sections group items the way a utility
statement does (delivery, supply, ESCO supply, taxes). Money is ``Decimal``, never float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date

CENT = Decimal("0.01")


class SectionKind(StrEnum):
    """The part of a statement a charge belongs to."""

    DELIVERY = "delivery"
    SUPPLY = "supply"
    ESCO = "esco"
    TAX = "tax"


def round_money(amount: Decimal) -> Decimal:
    """Round to cents, half up, as statements print."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class LineItem:
    """One charge: ``amount`` is what the customer pays (``quantity × rate`` when metered).

    ``category`` says what it pays for (``domain.statements.LINE_ITEM_CATEGORIES``).
    """

    description: str
    amount: Decimal
    quantity: Decimal | None = None
    unit: str | None = None
    rate: Decimal | None = None
    category: str = "other"


@dataclass(frozen=True, slots=True)
class BillSection:
    """A titled group of line items on a statement."""

    kind: SectionKind
    title: str
    items: tuple[LineItem, ...]

    @property
    def subtotal(self) -> Decimal:
        """The sum of this section's items."""
        return sum((item.amount for item in self.items), Decimal(0))


@dataclass(frozen=True, slots=True)
class Bill:
    """A billing statement for one account and period (``period_end`` exclusive)."""

    period_start: date
    period_end: date
    issued_on: date
    rate_plan: str
    sections: tuple[BillSection, ...] = field(default_factory=tuple)
    usage: Decimal = Decimal(0)
    usage_unit: str = "kWh"
    #: When payment is due, and when it was paid in full (None: not yet).
    due_on: date | None = None
    paid_on: date | None = None

    @property
    def total(self) -> Decimal:
        """The amount due: the sum of every line item."""
        return sum((section.subtotal for section in self.sections), Decimal(0))
