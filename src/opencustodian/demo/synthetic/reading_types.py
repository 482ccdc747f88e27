"""The ESPI reading types the synthetic meters record (seed 000 §3.3h).

Electricity is energy (kind 12) in Wh (uom 72); gas is volume (kind 58) in cubic feet (uom
119), integer ft³, which the utility bills in CCF (100 ft³). All are delta data (accumulation
4) at multiplier 10⁰, costs in 10⁻⁵ USD (currency 840), validated by default (quality 17).
Identical definitions are shared: storage keeps one row per distinct reading type. Codes are
plain ints so a type equals (and hashes like) the same type parsed from an imported feed.
"""

from __future__ import annotations

from opencustodian.domain.metering import (
    USD,
    AccumulationBehaviour,
    CommodityCode,
    FlowDirection,
    ReadingType,
    UnitOfMeasure,
)
from opencustodian.domain.quality import ReadingQuality

MONTHLY_INTERVAL_LENGTH = 2_678_400
"""The nominal interval length of monthly readings (31 days), as the GBA sample feeds state it;
each reading's own duration is its local calendar month's real length."""

ENERGY_KIND = 12
VOLUME_KIND = 58
NORMAL_DATA_QUALIFIER = 12

# ESPI TimeAttributeKind (espi.xsd): 6 = 5-minute, 2 = 15-minute, 7 = 60-minute. Monthly has no
# code of its own, so it is left unstated.
_MEASURING_PERIOD = {300: 6, 900: 2, 3600: 7}


def electricity_type(interval: int | None, flow: FlowDirection) -> ReadingType:
    """Electric energy in Wh for ``interval`` seconds (None: monthly) and one flow direction."""
    return ReadingType(
        commodity=int(CommodityCode.ELECTRICITY_SECONDARY_METERED),
        kind=ENERGY_KIND,
        uom=int(UnitOfMeasure.WATT_HOUR),
        power_of_ten_multiplier=0,
        accumulation_behaviour=int(AccumulationBehaviour.DELTA_DATA),
        flow_direction=int(flow),
        interval_length=interval or MONTHLY_INTERVAL_LENGTH,
        currency=USD,
        data_qualifier=NORMAL_DATA_QUALIFIER,
        default_quality=int(ReadingQuality.VALIDATED),
        measuring_period=_MEASURING_PERIOD.get(interval or 0),
    )


def gas_type(interval: int | None) -> ReadingType:
    """Delivered gas volume in whole cubic feet for ``interval`` seconds (None: monthly)."""
    return ReadingType(
        commodity=int(CommodityCode.NATURAL_GAS),
        kind=VOLUME_KIND,
        uom=int(UnitOfMeasure.CUBIC_FOOT),
        power_of_ten_multiplier=0,
        accumulation_behaviour=int(AccumulationBehaviour.DELTA_DATA),
        flow_direction=int(FlowDirection.FORWARD),
        interval_length=interval or MONTHLY_INTERVAL_LENGTH,
        currency=USD,
        data_qualifier=NORMAL_DATA_QUALIFIER,
        default_quality=int(ReadingQuality.VALIDATED),
        measuring_period=_MEASURING_PERIOD.get(interval or 0),
    )
