"""Usage data as plain series: usage point → meter reading → reading type and readings.

ESPI (NAESB REQ.21) ``IntervalReading/value`` is an integer to be read as ``value ×
10^powerOfTenMultiplier`` in the ReadingType's ``uom`` (espi.xsd; greenbuttonalliance.org
power-of-ten guidance). The series here carry that scaled value as an exact :class:`Decimal` in
a display unit: electricity energy in kWh (uom 72, Wh), power in kW (38, W), gas volume in CCF
(119, ft³; 1 CCF = 100 ft³), therms (169), m³ (42) and US gallons (128) as they are. Another
``uom`` keeps its own unit, named ``uom <code>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from opencustodian.client.local_time import LocalTimeParameters

#: ESPI ``uom`` code → (display unit, power of ten from the uom to the display unit).
DISPLAY_UNITS: Final[dict[int, tuple[str, int]]] = {
    72: ("kWh", -3),
    38: ("kW", -3),
    61: ("kVA", -3),
    63: ("kVAr", -3),
    119: ("CCF", -2),
    169: ("therm", 0),
    42: ("m³", 0),
    128: ("gal", 0),
}


@dataclass(frozen=True, slots=True)
class ReadingKind:
    """What a MeterReading's values mean (the espi.xsd ReadingType fields a chart needs)."""

    uom: int | None
    power_of_ten_multiplier: int = 0
    interval_length: int | None = None
    kind: int | None = None
    commodity: int | None = None
    flow_direction: int | None = None
    accumulation_behaviour: int | None = None

    @property
    def unit(self) -> str:
        """The display unit of scaled values (``kWh``, ``CCF`` …)."""
        if self.uom is None:
            return ""
        return DISPLAY_UNITS.get(self.uom, (f"uom {self.uom}", 0))[0]

    @property
    def exponent(self) -> int:
        """The power of ten turning a raw value into the display unit."""
        shift = DISPLAY_UNITS.get(self.uom, ("", 0))[1] if self.uom is not None else 0
        return self.power_of_ten_multiplier + shift

    def scaled(self, raw: int) -> Decimal:
        """``raw × 10^powerOfTenMultiplier`` in the display unit, exactly (never exponent form)."""
        return self.scaler()(raw)

    def scaler(self) -> Callable[[int], Decimal]:
        """:meth:`scaled` as a function with the exponent worked out once (for many values)."""
        exponent = self.exponent
        if exponent >= 0:
            factor = 10**exponent
            return lambda raw: Decimal(raw * factor)
        return lambda raw: Decimal(raw).scaleb(exponent)


@dataclass(frozen=True, slots=True)
class IntervalValue:
    """One interval reading: UTC epoch start, duration in seconds, scaled value."""

    start: int
    duration: int
    value: Decimal


@dataclass(frozen=True, slots=True)
class MeterReadingSeries:
    """One ESPI MeterReading: its reading type and readings sorted by start.

    Attributes:
        href: the MeterReading's ``self`` href (absolute when fetched), its key.
        entry_id: its ``atom:id`` (``urn:uuid:…``) if any.
        title: its ``atom:title`` if any.
        reading_type: what the values mean.
        readings: one per start, sorted; a start given twice keeps the later reading.
        repeated_starts: how many readings a repeated start replaced (0 in a conformant feed).
    """

    href: str
    entry_id: str | None
    title: str | None
    reading_type: ReadingKind
    readings: tuple[IntervalValue, ...]
    repeated_starts: int = 0

    @property
    def unit(self) -> str:
        """The display unit of the values."""
        return self.reading_type.unit


@dataclass(frozen=True, slots=True)
class UsagePointSeries:
    """One ESPI UsagePoint and its meter readings (none in a summaries-only feed).

    ``service_kind`` is ``ServiceCategory/kind``: 0 electricity, 1 gas, 2 water …
    """

    href: str
    entry_id: str | None
    title: str | None
    service_kind: int | None
    meter_readings: tuple[MeterReadingSeries, ...]


@dataclass(frozen=True, slots=True)
class UsageFeed:
    """Everything read from a feed (all of its pages)."""

    usage_points: tuple[UsagePointSeries, ...]
    local_time: LocalTimeParameters | None
    pages: int = 1

    @property
    def reading_count(self) -> int:
        """How many interval readings the feed held (after repeated starts were merged)."""
        return sum(
            len(meter.readings) for point in self.usage_points for meter in point.meter_readings
        )
