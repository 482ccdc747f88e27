"""Rate plans and ESCO offers of the synthetic utility, in exact decimal money.

Prices are per kWh for electricity and per CCF for gas (the utility reports gas in CCF, seed 000
§3.3h; 1 CCF = 100 ft³). A reading's cost is its usage at the plan's *energy price* (delivery
plus the utility's supply rate) in ESPI's 10⁻⁵ currency units (DESIGN "Money and units"); the
bill itemises the same usage and adds the customer charge and tax.

The delivery rate is the sum of four volumetric charges, itemised on the bill as a utility's
delivery section is (and as ECIS invoice details group them, seed 004): distribution,
transmission, stranded costs (the competitive-transition charge) and conservation programs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opencustodian.domain.metering import CUBIC_FEET_PER_CCF, Commodity

WH_PER_KWH = 1000
COST_UNITS_PER_DOLLAR = Decimal(100_000)  # ESPI cost is 10⁻⁵ of the currency


@dataclass(frozen=True, slots=True)
class DeliveryCharge:
    """One volumetric delivery charge: its line-item category, bill wording and rate."""

    category: str
    name: str
    rate: Decimal


def delivery_charges(
    distribution: str, transmission: str, stranded_costs: str, conservation: str
) -> tuple[DeliveryCharge, ...]:
    """The four delivery charges of a plan, rates as decimal strings (five places)."""
    return (
        DeliveryCharge("distribution", "Distribution", Decimal(distribution)),
        DeliveryCharge("transmission", "Transmission", Decimal(transmission)),
        DeliveryCharge("stranded_costs", "Stranded costs", Decimal(stranded_costs)),
        DeliveryCharge("conservation", "Conservation programs", Decimal(conservation)),
    )


@dataclass(frozen=True, slots=True)
class RatePlan:
    """A tariff: monthly customer charge, volumetric delivery and supply rates, sales tax."""

    code: str
    commodity: Commodity
    customer_charge: Decimal
    delivery: tuple[DeliveryCharge, ...]
    supply_rate: Decimal
    sales_tax_rate: Decimal

    @property
    def delivery_rate(self) -> Decimal:
        """Dollars per billing unit of every delivery charge together."""
        return sum((charge.rate for charge in self.delivery), Decimal(0))

    @property
    def unit(self) -> str:
        """The billing unit: kWh for electricity, CCF for gas."""
        return "kWh" if self.commodity is Commodity.ELECTRICITY else "CCF"

    @property
    def raw_per_unit(self) -> int:
        """Raw meter units (Wh or ft³) in one billing unit."""
        return WH_PER_KWH if self.commodity is Commodity.ELECTRICITY else CUBIC_FEET_PER_CCF

    @property
    def energy_price(self) -> Decimal:
        """Dollars per billing unit that a reading's cost uses: delivery plus supply."""
        return self.delivery_rate + self.supply_rate

    def cost_units_per_unit(self) -> int:
        """The energy price in 10⁻⁵ dollars per billing unit, exactly (rates have 5 decimals)."""
        units = self.energy_price * COST_UNITS_PER_DOLLAR
        if units != units.to_integral_value():
            msg = f"rate plan {self.code} has a price finer than 10⁻⁵ dollars"
            raise ValueError(msg)
        return int(units)


@dataclass(frozen=True, slots=True)
class Esco:
    """An energy services company that supplies the commodity instead of the utility."""

    name: str
    electric_rate: Decimal
    gas_rate: Decimal

    def rate_for(self, commodity: Commodity) -> Decimal:
        """The ESCO's supply price per billing unit of ``commodity``."""
        return self.electric_rate if commodity is Commodity.ELECTRICITY else self.gas_rate


RESIDENTIAL_ELECTRIC = RatePlan(
    "EL1 Residential",
    Commodity.ELECTRICITY,
    Decimal("18.00"),
    delivery_charges("0.11800", "0.03100", "0.00850", "0.00750"),
    Decimal("0.11000"),
    Decimal("0.045"),
)
RESIDENTIAL_NET_METERING = RatePlan(
    "EL1 Residential Net Metering",
    Commodity.ELECTRICITY,
    Decimal("18.00"),
    delivery_charges("0.11800", "0.03100", "0.00850", "0.00750"),
    Decimal("0.11000"),
    Decimal("0.045"),
)
COMMERCIAL_ELECTRIC = RatePlan(
    "EL2 General Small",
    Commodity.ELECTRICITY,
    Decimal("31.50"),
    delivery_charges("0.10100", "0.02700", "0.00750", "0.00650"),
    Decimal("0.10500"),
    Decimal("0.08875"),
)
RESIDENTIAL_GAS = RatePlan(
    "G1 Residential Gas",
    Commodity.GAS,
    Decimal("24.00"),
    delivery_charges("0.78000", "0.11000", "0.02500", "0.03500"),
    Decimal("0.52000"),
    Decimal("0.045"),
)
COMMERCIAL_GAS = RatePlan(
    "G2 General Gas",
    Commodity.GAS,
    Decimal("45.00"),
    delivery_charges("0.59000", "0.08500", "0.01500", "0.03000"),
    Decimal("0.48000"),
    Decimal("0.08875"),
)

ESCOS = (
    Esco("Brightline Energy", Decimal("0.12750"), Decimal("0.56500")),
    Esco("Catskill Power Partners", Decimal("0.10400"), Decimal("0.49900")),
    Esco("Harborview Gas & Electric Supply", Decimal("0.11900"), Decimal("0.54200")),
)
