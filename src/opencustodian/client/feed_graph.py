"""Linking the resources of a usage feed into series (NAESB REQ.21 ESPI 4.0 resource URIs).

Resources link to each other by href only:

- a MeterReading belongs to the UsagePoint that lists its ``up`` (or ``self``) href as
  ``related``, failing that to the UsagePoint whose ``self`` href prefixes its own;
- a MeterReading's ``related`` links name its ReadingType by ``self`` href;
- an IntervalBlock belongs to the MeterReading that lists its ``up`` (or ``self``) href as
  ``related``, failing that to the MeterReading whose ``self`` href prefixes its own.

Entries may come in any order and on any page; a resource repeated on a later page (each page
of a paged feed repeats its blocks' tree) is read once, keyed by its ``self`` href. Numbers
must be integers in the espi.xsd ranges; a fractional epoch start (one utility's export writes
them) is truncated to the second. LocalTimeParameters is informative: unreadable, it is None.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar
from urllib.parse import urljoin

from lxml import etree

from opencustodian.client.errors import FeedError
from opencustodian.client.local_time import DST_DISABLED, LocalTimeError, LocalTimeParameters
from opencustodian.client.usage_data import (
    IntervalValue,
    MeterReadingSeries,
    ReadingKind,
    UsageFeed,
    UsagePointSeries,
)

ATOM: Final = "http://www.w3.org/2005/Atom"
ESPI: Final = "http://naesb.org/espi"
_LONG: Final = 2**63
# espi.xsd TimeType is any xs:long; starts are kept to 1900-01-01 … 9998-12-31 so that every
# local day and hour a chart derives from them is a date Python can name.
MIN_START: Final = -2_208_988_800
END_START: Final = 253_370_764_800
_UINT32: Final = 2**32
_MAX_POWER_OF_TEN: Final = 30  # Decimal scaling stays exact and sane within ±30
_Owner = TypeVar("_Owner")


def _local(element: etree._Element) -> str | None:
    """The local name of an ESPI (or unqualified) element; None for other namespaces."""
    name = etree.QName(element)
    return name.localname if name.namespace in {ESPI, None} else None


def _where(element: etree._Element) -> str:
    return f" (line {element.sourceline})" if element.sourceline else ""


def _integer(element: etree._Element | None, what: str, low: int, high: int) -> int:
    text = (element.text or "").strip() if element is not None else ""
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or not low <= number < high:
        where = _where(element) if element is not None else ""
        msg = f"{what} is not a whole number in range: {text[:40]!r}{where}"
        raise FeedError(msg)
    return number


def _epoch(element: etree._Element | None, what: str) -> int:
    """An espi ``TimeType`` in years 1900-9998, fractions truncated (a real export has them)."""
    text = (element.text or "").strip() if element is not None else ""
    try:
        number: Decimal | int | None = int(text)
    except ValueError:
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
    if number is None or not Decimal(number).is_finite() or not MIN_START <= number < END_START:
        where = _where(element) if element is not None else ""
        msg = f"{what} is not an epoch time: {text[:40]!r}{where}"
        raise FeedError(msg)
    return int(number)


def _optional_int(resource: etree._Element, name: str) -> int | None:
    child = _child(resource, name)
    if child is None or not (child.text or "").strip():
        return None
    return _integer(child, name, -_LONG, _LONG)


def _child(resource: etree._Element, name: str) -> etree._Element | None:
    for child in resource:
        if _local(child) == name:
            return child
    return None


@dataclass(slots=True)
class _Links:
    self_href: str | None = None
    up: str | None = None
    related: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Entry:
    links: _Links
    entry_id: str | None
    title: str | None


@dataclass(slots=True)
class _UsagePoint:
    entry: _Entry
    service_kind: int | None
    meters: list[_MeterReading] = field(default_factory=list)


@dataclass(slots=True)
class _MeterReading:
    entry: _Entry
    key: str
    readings: dict[int, tuple[int, int]] = field(default_factory=dict)
    repeated: int = 0


@dataclass(slots=True)
class _Block:
    links: _Links
    line: str
    readings: list[tuple[int, int, int]]


class FeedCollector:
    """Gathers the resources of every page and links them into :class:`UsageFeed` at the end."""

    def __init__(self) -> None:
        """Start empty."""
        self.usage_points: dict[str, _UsagePoint] = {}
        self.meter_readings: dict[str, _MeterReading] = {}
        self.reading_types: dict[str, ReadingKind] = {}
        self.blocks: list[_Block] = []
        self.local_time: LocalTimeParameters | None = None

    def add_entry(self, element: etree._Element, base_url: str) -> None:
        """Read one top-level ``atom:entry``."""
        entry = _read_entry(element, base_url)
        content = element.find(f"{{{ATOM}}}content")
        resources = [] if content is None else [child for child in content if _local(child)]
        for resource in resources:
            self._add_resource(_local(resource) or "", resource, entry)

    def _add_resource(self, name: str, resource: etree._Element, entry: _Entry) -> None:
        key = entry.links.self_href
        if name == "UsagePoint" and key is not None:
            category = _child(resource, "ServiceCategory")
            kind = None if category is None else _optional_int(category, "kind")
            self.usage_points.setdefault(key, _UsagePoint(entry, kind))
        elif name == "MeterReading":
            key = key or entry.links.up or f"#entry-{len(self.meter_readings)}"
            self.meter_readings.setdefault(key, _MeterReading(entry, key))
        elif name == "ReadingType" and key is not None:
            self.reading_types.setdefault(key, _read_reading_type(resource))
        elif name == "IntervalBlock":
            self.blocks.append(_Block(entry.links, _where(resource), _read_block(resource)))
        elif name == "LocalTimeParameters" and self.local_time is None:
            self.local_time = _read_local_time(resource)

    def finish(self, pages: int = 1) -> UsageFeed:
        """Link everything read into usage points, meter readings and readings.

        Raises:
            FeedError: readings that no MeterReading, UsagePoint or ReadingType claims.
        """
        self._place_blocks()
        points = list(self.usage_points.values())
        by_related = {href: point for point in points for href in point.entry.links.related}
        for meter in self.meter_readings.values():
            links = meter.entry.links
            owner = (
                by_related.get(links.up or "")
                or by_related.get(links.self_href or "")
                or _prefix_owner(links.self_href, self.usage_points)
            )
            if owner is None:
                if meter.readings:
                    msg = f"MeterReading {meter.key} belongs to no UsagePoint in the feed"
                    raise FeedError(msg)
                continue
            owner.meters.append(meter)
        return UsageFeed(
            usage_points=tuple(self._point(point) for point in points),
            local_time=self.local_time,
            pages=pages,
        )

    def _place_blocks(self) -> None:
        by_related = {
            href: meter
            for meter in self.meter_readings.values()
            for href in meter.entry.links.related
        }
        for block in self.blocks:
            meter = (
                by_related.get(block.links.up or "")
                or by_related.get(block.links.self_href or "")
                or _prefix_owner(block.links.self_href, self.meter_readings)
            )
            if meter is None:
                if not block.readings:
                    continue
                named = block.links.self_href or block.links.up or "without links"
                msg = f"IntervalBlock {named}{block.line} belongs to no MeterReading in the feed"
                raise FeedError(msg)
            for start, duration, value in block.readings:
                if start in meter.readings:
                    meter.repeated += 1
                meter.readings[start] = (duration, value)
        self.blocks.clear()

    def _point(self, point: _UsagePoint) -> UsagePointSeries:
        return UsagePointSeries(
            href=point.entry.links.self_href or "",
            entry_id=point.entry.entry_id,
            title=point.entry.title,
            service_kind=point.service_kind,
            meter_readings=tuple(self._meter(meter) for meter in point.meters),
        )

    def _meter(self, meter: _MeterReading) -> MeterReadingSeries:
        reading_type = next(
            (self.reading_types[h] for h in meter.entry.links.related if h in self.reading_types),
            None,
        )
        if reading_type is None:
            if meter.readings:
                msg = f"MeterReading {meter.key} links to no ReadingType in the feed"
                raise FeedError(msg)
            reading_type = ReadingKind(uom=None)
        scaled = reading_type.scaler()
        readings = tuple(
            IntervalValue(start, duration, scaled(value))
            for start, (duration, value) in sorted(meter.readings.items())
        )
        return MeterReadingSeries(
            href=meter.key,
            entry_id=meter.entry.entry_id,
            title=meter.entry.title,
            reading_type=reading_type,
            readings=readings,
            repeated_starts=meter.repeated,
        )


def _prefix_owner(href: str | None, owners: dict[str, _Owner]) -> _Owner | None:
    """The owner whose key is the longest path prefix of ``href``."""
    if not href:
        return None
    best: tuple[int, _Owner] | None = None
    for key, owner in owners.items():
        if href.startswith(key.rstrip("/") + "/") and (best is None or len(key) > best[0]):
            best = (len(key), owner)
    return None if best is None else best[1]


def _read_entry(element: etree._Element, base_url: str) -> _Entry:
    links = _Links()
    for link in element.iterchildren(f"{{{ATOM}}}link"):
        href = (link.get("href") or "").strip()
        if not href:
            continue
        absolute = urljoin(base_url, href)
        rel = link.get("rel", "alternate")
        if rel == "self":
            links.self_href = absolute
        elif rel == "up":
            links.up = absolute
        elif rel == "related":
            links.related.append(absolute)
    entry_id = element.findtext(f"{{{ATOM}}}id")
    title = element.findtext(f"{{{ATOM}}}title")
    return _Entry(links, entry_id.strip() if entry_id else None, title.strip() if title else None)


def _read_reading_type(resource: etree._Element) -> ReadingKind:
    multiplier = _optional_int(resource, "powerOfTenMultiplier") or 0
    if abs(multiplier) > _MAX_POWER_OF_TEN:
        msg = f"powerOfTenMultiplier {multiplier} is out of range{_where(resource)}"
        raise FeedError(msg)
    return ReadingKind(
        uom=_optional_int(resource, "uom"),
        power_of_ten_multiplier=multiplier,
        interval_length=_optional_int(resource, "intervalLength"),
        kind=_optional_int(resource, "kind"),
        commodity=_optional_int(resource, "commodity"),
        flow_direction=_optional_int(resource, "flowDirection"),
        accumulation_behaviour=_optional_int(resource, "accumulationBehaviour"),
    )


@functools.cache
def _block_paths(namespace: str | None) -> tuple[etree.XPath, ...]:
    """Compiled XPaths of a block's reading count, starts, durations and values."""
    prefix, spaces = ("e:", {"e": namespace}) if namespace else ("", None)
    reading = f"{prefix}IntervalReading"
    paths = (
        f"count({reading})",
        f"{reading}/{prefix}timePeriod/{prefix}start/text()",
        f"{reading}/{prefix}timePeriod/{prefix}duration/text()",
        f"{reading}/{prefix}value/text()",
    )
    return tuple(etree.XPath(path, namespaces=spaces, smart_strings=False) for path in paths)


def _read_block(resource: etree._Element) -> list[tuple[int, int, int]]:
    """Every ``IntervalReading`` of a block as (start, duration, raw value).

    The hot loop of a large feed: three compiled XPaths collect the texts of the whole block,
    and ``int`` converts them; only a block that this cannot read cleanly (a missing element, a
    fractional start, a number out of range) is read again reading by reading, which tolerates
    fractional starts and names the line of anything else.
    """
    count, *found = (path(resource) for path in _block_paths(etree.QName(resource).namespace))
    starts, durations, values = (_texts(texts) for texts in found)
    if not isinstance(count, float) or not int(count) == len(starts) == len(durations) == len(
        values
    ):
        return _read_block_slowly(resource)  # an element is missing or empty
    try:
        rows = list(zip(map(int, starts), map(int, durations), map(int, values), strict=True))
    except ValueError:
        return _read_block_slowly(resource)  # e.g. a fractional start
    if rows and not (
        min(row[0] for row in rows) >= MIN_START
        and max(row[0] for row in rows) < END_START
        and min(row[1] for row in rows) >= 0
        and max(row[1] for row in rows) < _UINT32
        and min(row[2] for row in rows) >= -_LONG
        and max(row[2] for row in rows) < _LONG
    ):
        return _read_block_slowly(resource)
    return rows


def _texts(found: object) -> list[str]:
    """The strings of an XPath ``text()`` result (an unexpected shape yields none)."""
    return [item for item in found if isinstance(item, str)] if isinstance(found, list) else []


def _read_block_slowly(resource: etree._Element) -> list[tuple[int, int, int]]:
    """:func:`_read_block` one reading at a time, with exact errors."""
    namespace = etree.QName(resource).namespace
    prefix = f"{{{namespace}}}" if namespace else ""
    period_tag, start_tag, duration_tag, value_tag = (
        f"{prefix}{name}" for name in ("timePeriod", "start", "duration", "value")
    )
    readings: list[tuple[int, int, int]] = []
    for reading in resource.iterchildren(f"{prefix}IntervalReading"):
        period = reading.find(period_tag)
        if period is None:
            msg = f"an IntervalReading has no timePeriod{_where(reading)}"
            raise FeedError(msg)
        readings.append(
            (
                _epoch(period.find(start_tag), "IntervalReading start"),
                _integer(period.find(duration_tag), "IntervalReading duration", 0, _UINT32),
                _integer(reading.find(value_tag), "IntervalReading value", -_LONG, _LONG),
            )
        )
    return readings


def _read_local_time(resource: etree._Element) -> LocalTimeParameters | None:
    def hex32(name: str) -> int:
        child = _child(resource, name)
        text = ((child.text if child is not None else None) or "").strip()
        if not text:
            return DST_DISABLED
        return int(text.removeprefix("0x").removeprefix("0X"), 16) & 0xFFFFFFFF

    try:
        tz_offset = _optional_int(resource, "tzOffset")
        if tz_offset is None:
            return None
        return LocalTimeParameters(
            tz_offset=tz_offset,
            dst_offset=_optional_int(resource, "dstOffset") or 0,
            dst_start_rule=hex32("dstStartRule"),
            dst_end_rule=hex32("dstEndRule"),
        )
    except (FeedError, LocalTimeError, ValueError):
        return None
