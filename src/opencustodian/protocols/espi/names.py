"""Qualified element names and code tables of Atom-wrapped ESPI documents.

Names are matched in Clark notation (``{namespace}local``), never by prefix: real feeds bind
``espi:``, ``ns:`` or the default namespace to the same URI (Namespaces in XML 1.0 §4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from opencustodian.domain.metering import Commodity

if TYPE_CHECKING:
    from lxml import etree

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
ESPI_NS: Final = "http://naesb.org/espi"
CUSTOMER_NS: Final = "http://naesb.org/espi/customer"


def atom(local: str) -> str:
    """The Clark name of an Atom element (RFC 4287 §1.2 namespace)."""
    return f"{{{ATOM_NS}}}{local}"


def espi(local: str) -> str:
    """The Clark name of an ESPI usage element (espi.xsd ``targetNamespace``)."""
    return f"{{{ESPI_NS}}}{local}"


FEED: Final = atom("feed")
ENTRY: Final = atom("entry")
ID: Final = atom("id")
TITLE: Final = atom("title")
LINK: Final = atom("link")
CONTENT: Final = atom("content")

USAGE_POINT: Final = espi("UsagePoint")
METER_READING: Final = espi("MeterReading")
READING_TYPE: Final = espi("ReadingType")
INTERVAL_BLOCK: Final = espi("IntervalBlock")
SERVICE_KIND_PATH: Final = f"{espi('ServiceCategory')}/{espi('kind')}"

INTERVAL: Final = espi("interval")
INTERVAL_READING: Final = espi("IntervalReading")
TIME_PERIOD: Final = espi("timePeriod")
START: Final = espi("start")
DURATION: Final = espi("duration")
VALUE: Final = espi("value")
COST: Final = espi("cost")
READING_QUALITY: Final = espi("ReadingQuality")
QUALITY: Final = espi("quality")

# Resources a usage import reads nothing from; they are skipped without a word
# (espi.xsd global elements UsageSummary, ElectricPowerUsageSummary, ...).
IGNORED_USAGE_RESOURCES: Final = frozenset(
    espi(local)
    for local in (
        "UsageSummary",
        "ElectricPowerUsageSummary",
        "ElectricPowerQualitySummary",
        "LocalTimeParameters",
        "ServiceStatus",
    )
)

# espi.xsd ServiceKind: 0 electricity, 1 gas, 2 water; 3-9 (time, heat, refuse, sewerage,
# rates, tvLicence, internet) have no commodity in the domain.
SERVICE_KINDS: Final[dict[int, Commodity]] = {
    0: Commodity.ELECTRICITY,
    1: Commodity.GAS,
    2: Commodity.WATER,
}

# espi.xsd ReadingType element names -> domain.metering.ReadingType fields.
READING_TYPE_FIELDS: Final[dict[str, str]] = {
    espi("accumulationBehaviour"): "accumulation_behaviour",
    espi("aggregate"): "aggregate",
    espi("commodity"): "commodity",
    espi("consumptionTier"): "consumption_tier",
    espi("cpp"): "cpp",
    espi("currency"): "currency",
    espi("dataQualifier"): "data_qualifier",
    espi("defaultQuality"): "default_quality",
    espi("flowDirection"): "flow_direction",
    espi("intervalLength"): "interval_length",
    espi("kind"): "kind",
    espi("measuringPeriod"): "measuring_period",
    espi("phase"): "phase",
    espi("powerOfTenMultiplier"): "power_of_ten_multiplier",
    espi("timeAttribute"): "time_attribute",
    espi("tou"): "tou",
    espi("uom"): "uom",
}


def local_name(tag: str) -> str:
    """``UsagePoint`` for ``{http://naesb.org/espi}UsagePoint``."""
    return tag.rpartition("}")[2]


def namespace_of(tag: str) -> str:
    """The namespace URI of a Clark name, or ``""`` for an unqualified name."""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def source_line(element: etree._Element) -> int:
    """The line an element starts on, 0 if unknown (lxml-stubs type ``sourceline`` loosely)."""
    return cast("int | None", element.sourceline) or 0
