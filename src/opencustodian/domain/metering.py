"""Service points, meters, reading types and columnar interval series.

Glossary: a *service point* is ESPI's UsagePoint and CDS's Service Point; a *meter reading* is a
channel of readings of one reading type at one service point (ESPI MeterReading); a *reading* is
one interval value (ESPI IntervalReading). Readings are never objects: they travel as columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    import uuid
    from datetime import date, datetime
    from decimal import Decimal


class Commodity(StrEnum):
    """What a service point delivers."""

    ELECTRICITY = "electricity"
    GAS = "gas"
    WATER = "water"


class MeterCategory(StrEnum):
    """How a meter is read; decides the interval length (seed 000 §3.3h)."""

    AMI = "ami"
    LEGACY_INTERVAL = "legacy_interval"
    NON_INTERVAL = "non_interval"


class Channel(StrEnum):
    """Which way energy flows in a meter reading: delivered, received, or their difference."""

    FORWARD = "forward"
    REVERSE = "reverse"
    NET = "net"


class UnitOfMeasure(IntEnum):
    """The unit codes used here (IEC 61968-9 ``UnitSymbolKind`` values)."""

    WATT_HOUR = 72
    WATT = 38
    CUBIC_FOOT = 119
    CUBIC_METRE = 42
    THERM = 169
    US_GALLON = 128
    CURRENCY = 80


class FlowDirection(IntEnum):
    """IEC 61968-9 flow direction codes for the three channels."""

    FORWARD = 1
    REVERSE = 19
    NET = 4


class AccumulationBehaviour(IntEnum):
    """IEC 61968-9 accumulation codes: interval data is ``DELTA_DATA``."""

    BULK_QUANTITY = 1
    CUMULATIVE = 3
    DELTA_DATA = 4
    INDICATING = 6
    SUMMATION = 9
    INSTANTANEOUS = 12


class CommodityCode(IntEnum):
    """IEC 61968-9 commodity codes used by reading types."""

    ELECTRICITY_SECONDARY_METERED = 1
    ELECTRICITY_PRIMARY_METERED = 2
    POTABLE_WATER = 4
    NATURAL_GAS = 7


USD = 840
CUBIC_FEET_PER_CCF = 100


@dataclass(frozen=True, slots=True)
class ReadingType:
    """What a meter reading's values mean: the ESPI ReadingType fields, by their codes.

    ``value × 10^power_of_ten_multiplier`` is in ``uom``; costs are always in 10⁻⁵ of
    ``currency`` (greenbuttonalliance.org cost-and-currency guidance).
    """

    commodity: int | None
    kind: int | None
    uom: int | None
    power_of_ten_multiplier: int = 0
    accumulation_behaviour: int | None = None
    flow_direction: int | None = None
    interval_length: int | None = None
    currency: int | None = None
    data_qualifier: int | None = None
    default_quality: int | None = None
    measuring_period: int | None = None
    phase: int | None = None
    time_attribute: int | None = None
    tou: int | None = None
    aggregate: int | None = None
    consumption_tier: int | None = None
    cpp: int | None = None


Reading: TypeAlias = tuple[int, int, int, int | None, int | None]
"""One interval reading as a plain row ``(start, duration, value, cost, quality)``.

``start`` is UTC epoch seconds, ``duration`` seconds, ``value`` the raw integer (scale it by the
reading type), ``cost`` integer 10⁻⁵ currency units, ``quality`` a ``ReadingQuality`` code.
A plain tuple rather than a NamedTuple on purpose: building a million NamedTuples costs ~0.9 s
and the SQLite driver binds them ~35% slower (measured; see BENCHMARKS.md), and readings only
ever move in bulk. Index with the ``START``…``QUALITY`` constants.
"""

START: Final = 0
DURATION: Final = 1
VALUE: Final = 2
COST: Final = 3
QUALITY: Final = 4


def channel_flow_direction(channel: Channel) -> FlowDirection:
    """The standard flow-direction code of a channel."""
    return FlowDirection[channel.name]


_COMMODITY_BY_CODE = {
    CommodityCode.ELECTRICITY_SECONDARY_METERED: Commodity.ELECTRICITY,
    CommodityCode.ELECTRICITY_PRIMARY_METERED: Commodity.ELECTRICITY,
    CommodityCode.NATURAL_GAS: Commodity.GAS,
    CommodityCode.POTABLE_WATER: Commodity.WATER,
}
_COMMODITY_BY_UOM = {
    UnitOfMeasure.WATT_HOUR: Commodity.ELECTRICITY,
    UnitOfMeasure.WATT: Commodity.ELECTRICITY,
    UnitOfMeasure.THERM: Commodity.GAS,
    UnitOfMeasure.CUBIC_FOOT: Commodity.GAS,
    UnitOfMeasure.US_GALLON: Commodity.WATER,
}


def infer_commodity(stated: Commodity | None, reading_type: ReadingType | None) -> Commodity | None:
    """The commodity a source states, else the one its reading type implies, else None.

    Real exports leave the service kind empty (a gas utility's file in the shared samples), but
    their reading types still say gas by commodity code or unit.
    """
    if stated is not None or reading_type is None:
        return stated
    if reading_type.commodity in _COMMODITY_BY_CODE:
        return _COMMODITY_BY_CODE[CommodityCode(reading_type.commodity)]
    if reading_type.uom in _COMMODITY_BY_UOM:
        return _COMMODITY_BY_UOM[UnitOfMeasure(reading_type.uom)]
    return None


def channel_for(reading_type: ReadingType) -> Channel:
    """The channel a reading type measures, by its flow direction (forward when unstated)."""
    if reading_type.flow_direction == FlowDirection.REVERSE:
        return Channel.REVERSE
    if reading_type.flow_direction == FlowDirection.NET:
        return Channel.NET
    return Channel.FORWARD


@dataclass(frozen=True, slots=True)
class ServicePointFacts:
    """What a feed says about a service point (ESPI UsagePoint)."""

    id: int
    uuid: uuid.UUID
    title: str | None
    commodity: Commodity
    net_metered: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """A channel of readings (ESPI MeterReading) and its reading type."""

    id: int
    uuid: uuid.UUID
    service_point_id: int
    channel: Channel
    title: str | None
    reading_type: ReadingType


@dataclass(frozen=True, slots=True)
class BillFacts:
    """A bill's period and totals (ESPI UsageSummary)."""

    uuid: uuid.UUID
    service_point_id: int
    period_start: date
    period_end: date
    issued_on: date
    usage: Decimal
    usage_unit: str
    total: Decimal
    currency: str
