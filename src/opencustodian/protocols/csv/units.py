"""The units a readings CSV may use, and the ReadingType each one is stored as.

Values are stored as integers (``domain.metering.Reading``) in a unit with a fixed power of
ten, so each CSV unit maps to one IEC 61968-9 ``UnitSymbolKind`` (espi.xsd ``uom``), a
multiplier and the integer factor that turns a CSV value into the stored integer:

* ``Wh``/``kWh``: uom 72 (Wh), multiplier 0, stored as whole Wh (kWh times 1,000);
* ``CCF``: uom 119 (ft³), multiplier 0, stored as whole ft³ (1 CCF = 100 ft³), natural gas;
* ``therm``: uom 169 (therm), multiplier -3, stored in millitherms;
* ``gal``: uom 128 (US gallon), multiplier 0, potable water;
* ``W``/``kW``: uom 38 (W) demand, multiplier 0, stored as whole W (kW times 1,000).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from opencustodian.domain.metering import (
    CUBIC_FEET_PER_CCF,
    AccumulationBehaviour,
    CommodityCode,
    FlowDirection,
    ReadingType,
    UnitOfMeasure,
)

# espi.xsd MeasurementKind codes (IEC 61968-9): energy, demand, fluid volume.
KIND_ENERGY: Final = 12
KIND_DEMAND: Final = 8
KIND_VOLUME: Final = 58
_KILO: Final = 1_000


@dataclass(frozen=True, slots=True)
class CsvUnit:
    """How values in one CSV unit are stored: ``stored = value * factor`` in ``uom``."""

    channel: str  # the stored unit; kWh and Wh rows of one meter share a channel
    factor: int
    uom: int
    power_of_ten_multiplier: int
    commodity: int
    kind: int
    accumulation_behaviour: int

    def reading_type(
        self,
        interval_length: int,
        flow: FlowDirection = FlowDirection.FORWARD,
        currency: int | None = None,
    ) -> ReadingType:
        """The ReadingType of a channel of this unit read every ``interval_length`` seconds.

        ``flow`` is the channel's IEC 61968-9 flow direction (delivered unless stated) and
        ``currency`` the ISO 4217 number its costs are in (None: not stated).
        """
        return ReadingType(
            commodity=int(self.commodity),
            kind=self.kind,
            uom=int(self.uom),
            power_of_ten_multiplier=self.power_of_ten_multiplier,
            accumulation_behaviour=int(self.accumulation_behaviour),
            flow_direction=int(flow),
            interval_length=interval_length,
            currency=currency,
        )


_ELECTRIC: Final = CommodityCode.ELECTRICITY_SECONDARY_METERED
_GAS: Final = CommodityCode.NATURAL_GAS
_WATER: Final = CommodityCode.POTABLE_WATER
_DELTA: Final = AccumulationBehaviour.DELTA_DATA
_INDICATING: Final = AccumulationBehaviour.INDICATING

_WATT_HOURS: Final = (UnitOfMeasure.WATT_HOUR, 0, _ELECTRIC, KIND_ENERGY, _DELTA)
_WATTS: Final = (UnitOfMeasure.WATT, 0, _ELECTRIC, KIND_DEMAND, _INDICATING)

# Keys are lower case: unit names are matched case-insensitively ("kWh", "KWH", "kwh").
UNITS: Final[dict[str, CsvUnit]] = {
    "wh": CsvUnit("Wh", 1, *_WATT_HOURS),
    "kwh": CsvUnit("Wh", _KILO, *_WATT_HOURS),
    "ccf": CsvUnit(
        "ft3", CUBIC_FEET_PER_CCF, UnitOfMeasure.CUBIC_FOOT, 0, _GAS, KIND_VOLUME, _DELTA
    ),
    "therm": CsvUnit("mtherm", _KILO, UnitOfMeasure.THERM, -3, _GAS, KIND_ENERGY, _DELTA),
    "gal": CsvUnit("gal", 1, UnitOfMeasure.US_GALLON, 0, _WATER, KIND_VOLUME, _DELTA),
    "w": CsvUnit("W", 1, *_WATTS),
    "kw": CsvUnit("W", _KILO, *_WATTS),
}
UNIT_NAMES: Final = ("kWh", "Wh", "CCF", "therm", "gal", "W", "kW")
