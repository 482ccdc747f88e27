"""Streaming writer of ESPI usage feeds: Batch/Subscription and its UsagePoint subtrees.

The caller describes the tree (usage points, their meter readings, reading types, interval
blocks, summaries and the territory's LocalTimeParameters) with the ``*Node`` values below;
readings stay plain ``Reading`` tuples and blocks arrive lazily, so a feed of any size is
written with flat memory. ``usage_feed`` yields UTF-8 chunks, one or a few entries each.

Hrefs are derived here, from the resource root and the ids, so the certification link rules
(research/espi.md §4: unique ``self`` hrefs and ids, ``up`` = the collection, one ``related``
ReadingType per MeterReading, IntervalBlock ``up`` = its MeterReading's related collection)
hold by construction.

The document is written as text, not built with lxml: an IntervalBlock is an f-string join of
integers, which is what keeps a year of 15-minute readings within 2× of the cheapest possible
serializer (BENCHMARKS.md, "ESPI feed"). Every text that is not an integer (titles, hrefs) is
escaped (XML 1.0 §2.4) and characters XML 1.0 §2.2 forbids are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from opencustodian.protocols.espi.entries import atom_time
from opencustodian.protocols.espi.local_time import (
    DST_DISABLED,
    LocalTimeParameters,
    local_blocks,
    local_time_parameters,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from datetime import datetime

    from opencustodian.domain.metering import Reading, ReadingType

__all__ = [
    "DST_DISABLED",
    "BlockNode",
    "FeedMeta",
    "LocalTimeNode",
    "LocalTimeParameters",
    "MeterReadingNode",
    "Selection",
    "UsagePointNode",
    "UsageSummaryNode",
    "local_blocks",
    "local_time_parameters",
    "resource_entry",
    "resource_feed",
    "usage_feed",
]


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """The feed's own Atom metadata and the base its entry hrefs are built on."""

    feed_id: uuid.UUID
    title: str
    self_href: str  # the URL the client asked for, query included
    updated: datetime
    resource_root: str  # ``https://host/espi/1_1/resource`` (no trailing slash)
    subscription_id: str  # the subscription id in ``…/Subscription/{id}/UsagePoint/…`` hrefs
    certification_href: str | None = None  # feed-level ``related`` link (type ``text/html``)
    #: Asked once every entry is written: the next page's URL when this page stopped early
    #: (RFC 5005 §3 ``link rel="next"``, at the end of the feed: atom.xsd's feed children come
    #: in any order, and only then is it known whether the page was cut).
    next_href: Callable[[], str | None] | None = None


@dataclass(frozen=True, slots=True)
class LocalTimeNode:
    """The LocalTimeParameters entry every usage point of the feed links to."""

    entry_id: uuid.UUID
    published: datetime
    updated: datetime
    params: LocalTimeParameters


@dataclass(frozen=True, slots=True)
class BlockNode:
    """One IntervalBlock: its interval and its readings, sorted by start."""

    entry_id: uuid.UUID
    published: datetime
    updated: datetime
    start: int  # epoch seconds (local midnight for day blocks)
    duration: int  # seconds (82,800 / 86,400 / 90,000 for local days)
    readings: Sequence[Reading]


@dataclass(frozen=True, slots=True)
class MeterReadingNode:
    """A MeterReading with its ReadingType and its blocks (produced lazily)."""

    entry_id: uuid.UUID
    reading_type_id: uuid.UUID
    published: datetime
    updated: datetime
    title: str
    reading_type: ReadingType
    blocks: Iterable[BlockNode]


@dataclass(frozen=True, slots=True)
class UsageSummaryNode:
    """espi.xsd ``UsageSummary`` of one billing period (FB 15 cost, FB 16 consumption)."""

    entry_id: uuid.UUID
    published: datetime
    updated: datetime
    period_start: int  # epoch seconds
    period_duration: int  # seconds
    status_time_stamp: int  # epoch seconds the summary was produced (the bill's issue)
    currency: int  # ISO 4217 numeric (840 = USD)
    bill_last_period: int | None  # 10⁻⁵ currency units (the bill total), FB 15
    consumption_value: int | None  # overallConsumptionLastPeriod value, FB 16
    consumption_uom: int = 72  # Wh
    consumption_power_of_ten: int = 3  # kWh


@dataclass(frozen=True, slots=True)
class UsagePointNode:
    """A UsagePoint with everything under it."""

    entry_id: uuid.UUID
    published: datetime
    updated: datetime
    title: str
    service_kind: int  # espi ServiceKind: 0 electricity, 1 gas, 2 water
    meter_readings: Iterable[MeterReadingNode]
    summaries: Sequence[UsageSummaryNode] = ()
    #: The subscription its hrefs name (``…/Subscription/{id}/UsagePoint/…``) when not the
    #: feed's own: a Bulk feed holds the usage points of many subscriptions.
    subscription_id: str | None = None


ATOM_NS: Final = "http://www.w3.org/2005/Atom"
ESPI_NS: Final = "http://naesb.org/espi"
# A chunk is flushed once this much text is pending: large enough that the per-chunk cost
# (join, encode, the consumer's write) is amortized, small enough to keep memory flat.
CHUNK_CHARS: Final = 64 * 1024

# espi.xsd ReadingType content, in its xs:sequence order, with the domain field each comes
# from. ``aggregate`` (read leniently by the importer) is no espi.xsd 4.0 element and is not
# written; ``interharmonic`` and ``argument`` have no domain field.
_READING_TYPE_ORDER: Final = (
    ("accumulationBehaviour", "accumulation_behaviour"),
    ("commodity", "commodity"),
    ("consumptionTier", "consumption_tier"),
    ("currency", "currency"),
    ("dataQualifier", "data_qualifier"),
    ("defaultQuality", "default_quality"),
    ("flowDirection", "flow_direction"),
    ("intervalLength", "interval_length"),
    ("kind", "kind"),
    ("phase", "phase"),
    ("powerOfTenMultiplier", "power_of_ten_multiplier"),
    ("timeAttribute", "time_attribute"),
    ("tou", "tou"),
    ("uom", "uom"),
    ("cpp", "cpp"),
    ("measuringPeriod", "measuring_period"),
)

# XML 1.0 §2.2 Char: no C0 controls but tab, LF and CR; no surrogates, U+FFFE or U+FFFF.
_NOT_XML_CHAR: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """``value`` as XML character data (XML 1.0 §2.4), refusing characters XML cannot hold."""
    if _NOT_XML_CHAR.search(value):
        msg = f"{value!r} holds a character XML 1.0 cannot carry"
        raise ValueError(msg)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    """``value`` as a double-quoted attribute value (XML 1.0 §3.1 AttValue)."""
    return _text(value).replace('"', "&quot;")


def _link(rel: str, href: str, kind: str) -> str:
    """An Atom ``link`` (RFC 4287 §4.2.7) with an escaped ``href``.

    ``type`` is always set: the ESPI 3.3 atom.xsd requires it.
    """
    return f'<link rel="{rel}" href="{href}" type="{kind}"/>'


def _entry_head(  # noqa: PLR0913 - an Atom entry head has this many parts
    entry_id: uuid.UUID,
    resource: str,
    *,
    self_href: str,
    up_href: str,
    related: str,
    title: str,
    published: datetime,
    updated: datetime,
) -> str:
    """RFC 4287 §4.1.2 ``entry`` up to the opening ``content`` tag (hrefs escaped).

    Self is typed ``espi-entry/<Resource>`` and up ``espi-feed/<Resource>``, as real
    custodians do and the ESPI 3.3 atom.xsd requires.
    """
    return (
        f"<entry><id>{entry_id.urn}</id>"
        f"{_link('self', self_href, f'espi-entry/{resource}')}"
        f"{_link('up', up_href, f'espi-feed/{resource}')}"
        f"{related}<title>{_text(title)}</title>"
        f"<published>{atom_time(published)}</published>"
        f"<updated>{atom_time(updated)}</updated><content>"
    )


_ENTRY_END: Final = "</content></entry>"


def _readings(readings: Sequence[Reading]) -> str:
    """espi.xsd ``IntervalReading`` elements: cost?, ReadingQuality?, timePeriod, value.

    The hot loop of the writer: one f-string per reading, integers formatted as they are.
    """
    return "".join(
        [
            "<espi:IntervalReading>"
            f"{'' if cost is None else f'<espi:cost>{cost}</espi:cost>'}"
            f"{'' if quality is None else f'<espi:ReadingQuality><espi:quality>{quality}</espi:quality></espi:ReadingQuality>'}"  # noqa: E501 - one element per line reads best
            f"<espi:timePeriod><espi:duration>{duration}</espi:duration>"
            f"<espi:start>{start}</espi:start></espi:timePeriod>"
            f"<espi:value>{value}</espi:value></espi:IntervalReading>"
            for start, duration, value, cost, quality in readings
        ]
    )


def _reading_type(reading_type: ReadingType) -> str:
    """espi.xsd ``ReadingType``: the fields that are set, in xs:sequence order."""
    fields = "".join(
        f"<espi:{element}>{value}</espi:{element}>"
        for element, field in _READING_TYPE_ORDER
        if (value := getattr(reading_type, field)) is not None
    )
    return f"<espi:ReadingType>{fields}</espi:ReadingType>"


def _local_time(params: LocalTimeParameters) -> str:
    """espi.xsd ``LocalTimeParameters`` (TimeConfiguration), in xs:sequence order.

    dstEndRule, dstOffset, dstStartRule, tzOffset; the rules as 8 hex digits (HexBinary32).
    """
    return (
        "<espi:LocalTimeParameters>"
        f"<espi:dstEndRule>{params.dst_end_rule:08X}</espi:dstEndRule>"
        f"<espi:dstOffset>{params.dst_offset}</espi:dstOffset>"
        f"<espi:dstStartRule>{params.dst_start_rule:08X}</espi:dstStartRule>"
        f"<espi:tzOffset>{params.tz_offset}</espi:tzOffset>"
        "</espi:LocalTimeParameters>"
    )


def _summary(summary: UsageSummaryNode) -> str:
    """espi.xsd ``UsageSummary``, in xs:sequence order.

    billingPeriod, billLastPeriod, currency, overallConsumptionLastPeriod and
    statusTimeStamp (the one element espi.xsd requires).

    The consumption's ``timeStamp`` (SummaryMeasurement) is the end of the billing period,
    the instant the measured total refers to.
    """
    parts = [
        (
            "<espi:UsageSummary><espi:billingPeriod>"
            f"<espi:duration>{summary.period_duration}</espi:duration>"
            f"<espi:start>{summary.period_start}</espi:start></espi:billingPeriod>"
        )
    ]
    if summary.bill_last_period is not None:
        parts.append(f"<espi:billLastPeriod>{summary.bill_last_period}</espi:billLastPeriod>")
    parts.append(f"<espi:currency>{summary.currency}</espi:currency>")
    if summary.consumption_value is not None:
        period_end = summary.period_start + summary.period_duration
        parts.append(
            "<espi:overallConsumptionLastPeriod>"
            f"<espi:powerOfTenMultiplier>{summary.consumption_power_of_ten}"
            "</espi:powerOfTenMultiplier>"
            f"<espi:timeStamp>{period_end}</espi:timeStamp>"
            f"<espi:uom>{summary.consumption_uom}</espi:uom>"
            f"<espi:value>{summary.consumption_value}</espi:value>"
            "</espi:overallConsumptionLastPeriod>"
        )
    parts.append(
        f"<espi:statusTimeStamp>{summary.status_time_stamp}</espi:statusTimeStamp>"
        "</espi:UsageSummary>"
    )
    return "".join(parts)


class _Chunks:
    """Pending text, flushed as UTF-8 once it reaches ``CHUNK_CHARS``."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> bool:
        """Queue ``text``; true when a chunk is full and should be taken."""
        self.parts.append(text)
        self.size += len(text)
        return self.size >= CHUNK_CHARS

    def take(self) -> bytes:
        """Everything pending, encoded, and an empty queue."""
        chunk = "".join(self.parts).encode()
        self.parts.clear()
        self.size = 0
        return chunk


def usage_feed(
    meta: FeedMeta,
    local_time: LocalTimeNode | None,
    usage_points: Iterable[UsagePointNode],
    *,
    head: bool = True,
    tail: bool = True,
) -> Iterator[bytes]:
    """The Atom ``feed`` document, yielded in UTF-8 chunks.

    RFC 4287 §4.1.1 feed head (id, title, updated, ``self`` typed ``espi-feed/UsagePoint``,
    the certification ``related`` link typed ``text/html``), then the entries in tree order
    (research/espi.md §4): the LocalTimeParameters entry right after the head (so it precedes
    every UsagePoint that links to it), then per UsagePoint its entry, per MeterReading the
    MeterReading, its ReadingType (once per feed, however many MeterReadings share it) and
    its IntervalBlocks, then the UsagePoint's UsageSummaries. The Atom namespace is the
    default one and ``espi:`` is bound on the root only.

    Blocks are pulled one at a time from each ``MeterReadingNode.blocks``; nothing is kept
    per reading or per block, so memory does not grow with the feed. Raises ``ValueError``
    for text XML cannot carry or for one ReadingType id given two different contents.

    ``head=False`` leaves out the feed head and the LocalTimeParameters entry (UsagePoints
    still link to it), ``tail=False`` the feed's end: the pieces of one document written by
    several processes at once (a Bulk feed, ``kit.gzip_segments``).
    """
    entries = _entries(meta, local_time, usage_points, local_time_entry=head)
    texts = (text for _, _, text in entries)
    return _feed_document(meta, "UsagePoint", texts, head=head, tail=tail)


@dataclass(frozen=True, slots=True)
class Selection:
    """The entries a resource-level request wants (research/espi.md §2.2, §2.3).

    The resource-level forms (``…/Subscription/{s}/UsagePoint/{u}/MeterReading``, the root
    ``…/ReadingType/{id}`` and the like) answer with entries of one ``kind`` only, not the
    subtree a Batch form carries: a collection is a feed of them, a member (``entry_id``
    set) is that one entry as the document's root.
    """

    kind: str  # UsagePoint, MeterReading, ReadingType, IntervalBlock, UsageSummary, …
    entry_id: uuid.UUID | None = None


def resource_feed(
    meta: FeedMeta,
    local_time: LocalTimeNode | None,
    usage_points: Iterable[UsagePointNode],
    selection: Selection,
) -> Iterator[bytes]:
    """A feed of the ``selection.kind`` entries of these trees, in tree order, streamed.

    The feed's ``self`` is typed ``espi-feed/<kind>``; hrefs, ids and contents are the ones
    the Batch feed gives the same entries, so either form can be followed from the other.
    """
    entries = (
        text for kind, _, text in _entries(meta, local_time, usage_points) if kind == selection.kind
    )
    return _feed_document(meta, selection.kind, entries)


def resource_entry(
    meta: FeedMeta,
    local_time: LocalTimeNode | None,
    usage_points: Iterable[UsagePointNode],
    selection: Selection,
) -> bytes | None:
    """The one entry ``selection`` names, as a document of its own; None when absent.

    atom.xsd declares ``entry`` as a global element, so a member is an ``entry`` root with
    the Atom and ESPI namespaces bound on it.
    """
    for kind, entry_id, text in _entries(meta, local_time, usage_points):
        if kind == selection.kind and entry_id == selection.entry_id:
            declared = text.replace(
                "<entry>", f'<entry xmlns="{ATOM_NS}" xmlns:espi="{ESPI_NS}">', 1
            )
            return f'<?xml version="1.0" encoding="UTF-8"?>\n{declared}'.encode()
    return None


def _feed_document(
    meta: FeedMeta, kind: str, entries: Iterable[str], *, head: bool = True, tail: bool = True
) -> Iterator[bytes]:
    """The feed head, ``entries`` and the feed's end (with ``next`` when cut), in chunks."""
    chunks = _Chunks()
    start = [
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<feed xmlns="{ATOM_NS}" xmlns:espi="{ESPI_NS}">'
            f"<id>{meta.feed_id.urn}</id><title>{_text(meta.title)}</title>"
            f"<updated>{atom_time(meta.updated)}</updated>"
            f"{_link('self', _attr(meta.self_href), f'espi-feed/{kind}')}"
        )
    ]
    if meta.certification_href is not None:
        start.append(_link("related", _attr(meta.certification_href), "text/html"))
    if head:
        chunks.add("".join(start))
    for text in entries:
        if chunks.add(text):
            yield chunks.take()
    if tail:
        next_href = meta.next_href() if meta.next_href is not None else None
        if next_href is not None:
            chunks.add(_link("next", _attr(next_href), f"espi-feed/{kind}"))
        chunks.add("</feed>")
    yield chunks.take()


#: One written entry: its resource kind, its id and its text.
_Entry = tuple[str, "uuid.UUID", str]


def _entries(
    meta: FeedMeta,
    local_time: LocalTimeNode | None,
    usage_points: Iterable[UsagePointNode],
    *,
    local_time_entry: bool = True,
) -> Iterator[_Entry]:
    """Every entry of the trees, in tree order (``usage_feed``'s docstring), as ``_Entry``."""
    root = meta.resource_root
    local_time_href = None
    if local_time is not None:
        local_time_href = _attr(f"{root}/LocalTimeParameters/{local_time.entry_id}")
        if local_time_entry:  # the head's piece of a feed written in pieces
            yield (
                "LocalTimeParameters",
                local_time.entry_id,
                _entry_head(
                    local_time.entry_id,
                    "LocalTimeParameters",
                    self_href=local_time_href,
                    up_href=_attr(f"{root}/LocalTimeParameters"),
                    related="",
                    title="",
                    published=local_time.published,
                    updated=local_time.updated,
                )
                + _local_time(local_time.params)
                + _ENTRY_END,
            )
    written_types: dict[uuid.UUID, ReadingType] = {}
    points_href = _attr(f"{root}/Subscription/{meta.subscription_id}/UsagePoint")
    for point in usage_points:
        href = points_href
        if point.subscription_id is not None:
            href = _attr(f"{root}/Subscription/{point.subscription_id}/UsagePoint")
        yield from _usage_point(point, href, root, local_time_href, written_types)


def _usage_point(
    point: UsagePointNode,
    points_href: str,
    root: str,
    local_time_href: str | None,
    written_types: dict[uuid.UUID, ReadingType],
) -> Iterator[_Entry]:
    """The entries of one UsagePoint subtree, in tree order (hrefs pre-escaped)."""
    point_href = f"{points_href}/{point.entry_id}"
    readings_href = f"{point_href}/MeterReading"
    summaries_href = f"{point_href}/UsageSummary"
    related = [_link("related", readings_href, "espi-feed/MeterReading")]
    if point.summaries:
        related.append(_link("related", summaries_href, "espi-feed/UsageSummary"))
    if local_time_href is not None:
        related.append(_link("related", local_time_href, "espi-entry/LocalTimeParameters"))
    yield (
        "UsagePoint",
        point.entry_id,
        _entry_head(
            point.entry_id,
            "UsagePoint",
            self_href=point_href,
            up_href=points_href,
            related="".join(related),
            title=point.title,
            published=point.published,
            updated=point.updated,
        )
        + "<espi:UsagePoint><espi:ServiceCategory>"
        f"<espi:kind>{point.service_kind}</espi:kind>"
        "</espi:ServiceCategory></espi:UsagePoint>" + _ENTRY_END,
    )
    for meter_reading in point.meter_readings:
        yield from _meter_reading(meter_reading, readings_href, root, written_types)
    for summary in point.summaries:
        yield (
            "UsageSummary",
            summary.entry_id,
            _entry_head(
                summary.entry_id,
                "UsageSummary",
                self_href=f"{summaries_href}/{summary.entry_id}",
                up_href=summaries_href,
                related="",
                title="",
                published=summary.published,
                updated=summary.updated,
            )
            + _summary(summary)
            + _ENTRY_END,
        )


def _meter_reading(
    node: MeterReadingNode,
    readings_href: str,
    root: str,
    written_types: dict[uuid.UUID, ReadingType],
) -> Iterator[_Entry]:
    """A MeterReading entry, its ReadingType entry (first use only) and its IntervalBlocks."""
    reading_href = f"{readings_href}/{node.entry_id}"
    blocks_href = f"{reading_href}/IntervalBlock"
    types_href = _attr(f"{root}/ReadingType")
    type_href = f"{types_href}/{node.reading_type_id}"
    related = _link("related", type_href, "espi-entry/ReadingType") + _link(
        "related", blocks_href, "espi-feed/IntervalBlock"
    )
    yield (
        "MeterReading",
        node.entry_id,
        _entry_head(
            node.entry_id,
            "MeterReading",
            self_href=reading_href,
            up_href=readings_href,
            related=related,
            title=node.title,
            published=node.published,
            updated=node.updated,
        )
        + "<espi:MeterReading/>"
        + _ENTRY_END,
    )
    known = written_types.get(node.reading_type_id)
    if known is None:
        written_types[node.reading_type_id] = node.reading_type
        yield (
            "ReadingType",
            node.reading_type_id,
            _entry_head(
                node.reading_type_id,
                "ReadingType",
                self_href=type_href,
                up_href=types_href,
                related="",
                title=node.title,
                published=node.published,
                updated=node.updated,
            )
            + _reading_type(node.reading_type)
            + _ENTRY_END,
        )
    elif known != node.reading_type:
        msg = f"ReadingType {node.reading_type_id} is given two different contents"
        raise ValueError(msg)
    for block in node.blocks:
        yield (
            "IntervalBlock",
            block.entry_id,
            _entry_head(
                block.entry_id,
                "IntervalBlock",
                self_href=f"{blocks_href}/{block.entry_id}",
                up_href=blocks_href,
                related="",
                title="",
                published=block.published,
                updated=block.updated,
            )
            + "<espi:IntervalBlock><espi:interval>"
            f"<espi:duration>{block.duration}</espi:duration>"
            f"<espi:start>{block.start}</espi:start></espi:interval>"
            + _readings(block.readings)
            + "</espi:IntervalBlock>"
            + _ENTRY_END,
        )
