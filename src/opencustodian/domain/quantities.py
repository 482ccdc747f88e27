"""Stored readings in the units people read on a bill: kWh, CCF, therms — exactly.

A stored value means ``value × 10^powerOfTenMultiplier`` of the reading type's ``uom``
(espi.xsd ``ReadingType``). Customers read electricity in kWh and gas in CCF (100 ft³; seed 000
§5 item 9) or therms, so a display unit is the uom's everyday unit and the power of ten that
turns the stored integer into it. Quantities are ``Decimal`` (``scaleb`` shifts the exponent
without rounding); costs are ESPI's 10⁻⁵ currency units (research/espi.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from opencustodian.domain.metering import UnitOfMeasure

if TYPE_CHECKING:
    from opencustodian.domain.metering import ReadingType

#: ESPI cost and amounts are integers of 10⁻⁵ currency units.
COST_EXPONENT: Final = -5

#: uom → (everyday unit, power of ten from the uom to it). The names are the readings CSV's
#: unit names (``protocols.csv.units``) so an exported value reads back in the same unit.
_EVERYDAY: Final[dict[int, tuple[str, int]]] = {
    UnitOfMeasure.WATT_HOUR: ("kWh", -3),
    UnitOfMeasure.WATT: ("kW", -3),
    UnitOfMeasure.CUBIC_FOOT: ("CCF", -2),
    UnitOfMeasure.THERM: ("therm", 0),
    UnitOfMeasure.US_GALLON: ("gal", 0),
    UnitOfMeasure.CUBIC_METRE: ("m3", 0),
}
#: ISO 4217 numeric → alphabetic codes of the currencies ESPI feeds here carry.
_CURRENCIES: Final = {840: "USD", 124: "CAD", 978: "EUR"}


@dataclass(frozen=True, slots=True)
class DisplayUnit:
    """An everyday unit and how stored integers convert to it: ``raw × 10^exponent``."""

    name: str
    exponent: int

    def quantity(self, raw: int) -> Decimal:
        """The stored integer ``raw`` in this unit, exactly."""
        return Decimal(raw).scaleb(self.exponent)


def display_unit(reading_type: ReadingType) -> DisplayUnit:
    """The unit a person reads this reading type's values in (an unknown uom keeps its code)."""
    name, shift = _EVERYDAY.get(reading_type.uom or -1, (f"uom {reading_type.uom}", 0))
    return DisplayUnit(name, reading_type.power_of_ten_multiplier + shift)


def cost_amount(cost: int) -> Decimal:
    """A stored cost (10⁻⁵ currency units) in currency units, exactly."""
    return Decimal(cost).scaleb(COST_EXPONENT)


def currency_code(numeric: int | None) -> str:
    """ISO 4217 alphabetic code of a numeric currency (US dollars when unstated)."""
    if numeric is None:
        return "USD"
    return _CURRENCIES.get(numeric, str(numeric))


def currency_number(code: str) -> int | None:
    """ISO 4217 numeric code of an alphabetic one (``USD`` → 840); None when not carried here."""
    wanted = code.strip().upper()
    return next((number for number, name in _CURRENCIES.items() if name == wanted), None)


def currency_codes() -> tuple[str, ...]:
    """The alphabetic codes ``currency_number`` knows, for messages."""
    return tuple(_CURRENCIES.values())


def plain(quantity: Decimal) -> str:
    """A decimal as plain digits (never ``1E+3``), as CSV and pages print it."""
    return format(quantity, "f")
