"""The content of ESPI UsagePoint and ReadingType resources, as domain values.

ESPI 4.0 espi.xsd ``UsagePoint`` (``ServiceCategory/kind``: ServiceKind) and ``ReadingType``
(codes from IEC 61968-9: accumulation, commodity, unit, multiplier, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from opencustodian.domain.ingest import ImportRejectedError, SourceWarning
from opencustodian.domain.metering import ReadingType
from opencustodian.protocols.espi.names import (
    READING_TYPE_FIELDS,
    SERVICE_KIND_PATH,
    SERVICE_KINDS,
    local_name,
)

if TYPE_CHECKING:
    from lxml import etree

    from opencustodian.domain.metering import Commodity
    from opencustodian.protocols.espi.links import EntryFacts

MAX_MULTIPLIER: Final = 24  # SI prefixes stop at 10^±24; beyond that it is not a unit multiplier


def read_commodity(
    element: etree._Element, facts: EntryFacts
) -> tuple[Commodity | None, SourceWarning | None]:
    """The commodity of a UsagePoint from espi.xsd ``ServiceCategory/kind`` (ServiceKind)."""
    text = (element.findtext(SERVICE_KIND_PATH) or "").strip()
    if not text:
        return None, SourceWarning(
            f"UsagePoint {facts.describe()} has no ServiceCategory kind; its commodity is unknown"
        )
    try:
        code = int(text)
    except ValueError:
        code = None
    commodity = SERVICE_KINDS.get(code) if code is not None else None
    if commodity is None:
        return None, SourceWarning(
            f"UsagePoint {facts.describe()} has ServiceCategory kind {text!r}, which is not "
            "electricity (0), gas (1) or water (2); its commodity is unknown"
        )
    return commodity, None


def read_reading_type(element: etree._Element, facts: EntryFacts) -> ReadingType:
    """Every ``domain.metering.ReadingType`` field from its espi.xsd ReadingType element.

    Empty elements count as absent; a missing ``powerOfTenMultiplier`` means 10⁰ (IEC 61968-9
    UnitMultiplierKind ``none``). Elements the domain has no field for (interharmonic,
    argument) are ignored.
    """
    codes: dict[str, int] = {}
    for child in element:
        name = READING_TYPE_FIELDS.get(child.tag) if isinstance(child.tag, str) else None
        text = (child.text or "").strip()
        if name is None or not text:
            continue
        try:
            codes[name] = int(text)
        except ValueError:
            msg = (
                f"line {child.sourceline}: ReadingType {local_name(child.tag)} {text!r} "
                f"of {facts.describe()} is not an integer code"
            )
            raise ImportRejectedError(msg) from None
    multiplier = codes.get("power_of_ten_multiplier", 0)
    if abs(multiplier) > MAX_MULTIPLIER:
        msg = f"ReadingType {facts.describe()} has powerOfTenMultiplier {multiplier}, beyond 10^±24"
        raise ImportRejectedError(msg)
    get = codes.get
    return ReadingType(
        commodity=get("commodity"),
        kind=get("kind"),
        uom=get("uom"),
        power_of_ten_multiplier=multiplier,
        accumulation_behaviour=get("accumulation_behaviour"),
        flow_direction=get("flow_direction"),
        interval_length=get("interval_length"),
        currency=get("currency"),
        data_qualifier=get("data_qualifier"),
        default_quality=get("default_quality"),
        measuring_period=get("measuring_period"),
        phase=get("phase"),
        time_attribute=get("time_attribute"),
        tou=get("tou"),
        aggregate=get("aggregate"),
        consumption_tier=get("consumption_tier"),
        cpp=get("cpp"),
    )
