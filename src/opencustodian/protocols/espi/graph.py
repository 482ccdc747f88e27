"""Resolve a feed's Atom link graph and emit its resources in dependency order.

ESPI resources reference each other only by href (ESPI 4.0 resource URIs; RFC 4287 §4.2.7):

* a UsagePoint's ``related`` links name its MeterReading collection (or, in some exports, the
  MeterReadings themselves);
* a MeterReading belongs to the UsagePoint whose ``related`` href equals its ``up`` href (or its
  ``self`` href); failing that, to the UsagePoint whose ``self`` href prefixes its own;
* a MeterReading's ``related`` links name its ReadingType (by ``self`` href) and its
  IntervalBlock collection;
* an IntervalBlock belongs to the MeterReading that lists its ``up`` href (or its ``self``
  href) as ``related``; failing that, to the MeterReading whose ``self`` href prefixes its own.

Entries may come in any order. Small entries (UsagePoint, MeterReading, ReadingType) are always
kept; an IntervalBlock is emitted as soon as its MeterReading, that MeterReading's UsagePoint and
its ReadingType are known, and is buffered only until then. A service point and a meter reading
are emitted as late as possible (just before their first readings, or at the end), so that an
``atom:id`` reused by a later small entry is noticed before it is handed out as a uuid.

What the end of the file decides, per quirk:

* no UsagePoint at all: ``ImportRejectedError`` naming what the document is instead
  (customer.xsd resources, ApplicationInformation, Authorization, an empty feed ...);
* an IntervalBlock no MeterReading claims, or a MeterReading *with readings* whose UsagePoint or
  ReadingType cannot be found: ``ImportRejectedError``, because importing would drop or misfile
  measured data;
* a MeterReading *without readings* that cannot be resolved: ``SourceWarning`` and skipped,
  since nothing is lost;
* two readings of one MeterReading with the same start (ngma's export stamps every block with
  the same instant): all are passed on in file order, the consumer keeps the last one per start
  (as it does for a corrected feed), and a ``SourceWarning`` names how many starts repeat, so
  nothing collapses silently.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from opencustodian.domain.ingest import (
    ImportRejectedError,
    SourceMeterReading,
    SourceReadings,
    SourceServicePoint,
    SourceWarning,
)
from opencustodian.domain.metering import START
from opencustodian.kit.ids import stable_uuid
from opencustodian.protocols.espi.blocks import BlockReadings, read_block
from opencustodian.protocols.espi.names import (
    CUSTOMER_NS,
    IGNORED_USAGE_RESOURCES,
    INTERVAL_BLOCK,
    METER_READING,
    READING_TYPE,
    USAGE_POINT,
    local_name,
    namespace_of,
)
from opencustodian.protocols.espi.resources import read_commodity, read_reading_type
from opencustodian.protocols.starts import StartIndex

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lxml import etree

    from opencustodian.domain.ingest import SourceRecord
    from opencustodian.domain.metering import Commodity, ReadingType
    from opencustodian.protocols.espi.links import EntryFacts

UUID_NAMESPACE_KEY = "espi-import"
NAME_BASED_VERSIONS = frozenset({3, 5})  # RFC 4122 §4.3: ids that are the same every time
_URN_UUID = "urn:uuid:"


@dataclass(slots=True, eq=False)
class _UsagePoint:
    facts: EntryFacts
    commodity: Commodity | None
    emitted: bool = False


@dataclass(slots=True, eq=False)
class _ReadingType:
    facts: EntryFacts
    value: ReadingType


@dataclass(slots=True, eq=False)
class _Blocks:
    """The IntervalBlocks of one entry (ngma packs 36 into one ``atom:content``)."""

    facts: EntryFacts
    blocks: list[BlockReadings]


@dataclass(slots=True, eq=False)
class _MeterReading:
    facts: EntryFacts
    usage_point: _UsagePoint | None = None
    reading_type: _ReadingType | None = None
    pending: list[_Blocks] = field(default_factory=list)
    starts: StartIndex = field(default_factory=StartIndex)
    readings: int = 0
    repeated_starts: int = 0
    first_repeated: tuple[int, int] | None = None  # (start, line of the block)
    truncated_starts: int = 0
    first_truncated: str | None = None
    unknown_qualities: int = 0

    @property
    def emitted(self) -> bool:
        return self.reading_type is not None


def _reject(message: str) -> ImportRejectedError:
    return ImportRejectedError(message)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


class FeedGraph:
    """Collects a feed's entries and yields ``SourceRecord`` values in dependency order.

    Call ``note_feed_id`` with the feed's own ``atom:id``, ``add_entry`` for every top-level
    ``atom:entry`` (each is a generator: iterate it), then ``finish`` once the document ended.
    """

    def __init__(self) -> None:
        """Start with an empty graph."""
        self._usage_points: list[_UsagePoint] = []
        self._up_by_self: dict[str, _UsagePoint] = {}
        self._up_by_related: dict[str, list[_UsagePoint]] = {}
        self._meter_readings: list[_MeterReading] = []
        self._mr_by_self: dict[str, _MeterReading] = {}
        self._mr_by_related: dict[str, list[_MeterReading]] = {}
        self._reading_types: dict[str, _ReadingType] = {}
        self._orphans: list[_Blocks] = []
        self._buffered = 0  # entries of blocks held in ``_orphans`` or a ``pending`` list
        self._id_counts: Counter[str] = Counter()
        self._claimed_ids: set[str] = set()
        self._kinds: dict[str, None] = {}  # resource names seen, in document order
        self._skipped: Counter[str] = Counter()

    # -- input -----------------------------------------------------------------------------

    def note_feed_id(self, atom_id: str | None) -> None:
        """Count the feed's own ``atom:id``: an entry reusing it has no id of its own."""
        if atom_id:
            self._id_counts[atom_id.lower()] += 1

    def add_entry(
        self, facts: EntryFacts, resources: list[etree._Element]
    ) -> Iterator[SourceRecord]:
        """Take one entry (RFC 4287 §4.1.2) and yield whatever it made emittable."""
        if facts.atom_id:
            self._id_counts[facts.atom_id.lower()] += 1
        if not resources:
            return  # an empty atom:content (ngma's usage summary) carries nothing to import
        tag = resources[0].tag
        self._kinds[local_name(tag)] = None
        if tag == INTERVAL_BLOCK:
            blocks = [read_block(element) for element in resources if element.tag == tag]
            yield from self._add_blocks(_Blocks(facts, blocks))
        elif tag == USAGE_POINT:
            yield from self._add_usage_point(facts, resources[0])
        elif tag == METER_READING:
            self._add_meter_reading(facts)
        elif tag == READING_TYPE:
            yield from self._add_reading_type(facts, resources[0])
        elif tag not in IGNORED_USAGE_RESOURCES:
            self._skipped[self._kind_label(tag)] += 1
            return
        if self._buffered and tag != INTERVAL_BLOCK:
            yield from self._flush()

    def finish(self, document: str) -> Iterator[SourceRecord]:
        """Emit what is left and judge what cannot be resolved (see the module docstring)."""
        if not self._usage_points:
            raise _reject(self._not_usage_message(document))
        if self._orphans:
            raise _reject(self._orphan_message(self._orphans[0]))
        for meter_reading in self._meter_readings:
            if meter_reading.emitted:
                continue
            resolved = self._resolve(meter_reading)
            if resolved is not None:
                yield from self._emit_meter_reading(meter_reading, *resolved)
            elif meter_reading.pending:
                raise _reject(self._unresolved_message(meter_reading))
            else:
                yield SourceWarning(f"skipped: {self._unresolved_message(meter_reading)}")
        for usage_point in self._usage_points:
            if not usage_point.emitted:
                yield from self._emit_service_point(usage_point)
        yield from self._closing_warnings()

    # -- entries ---------------------------------------------------------------------------

    def _add_usage_point(
        self, facts: EntryFacts, element: etree._Element
    ) -> Iterator[SourceRecord]:
        """ESPI UsagePoint: the commodity comes from ``ServiceCategory/kind`` (ServiceKind)."""
        self_path = self._require_self(facts, "UsagePoint")
        if self_path in self._up_by_self:
            raise _reject(
                self._duplicate_message("UsagePoint", facts, self._up_by_self[self_path].facts)
            )
        commodity, warning = read_commodity(element, facts)
        if warning is not None:
            yield warning
        usage_point = _UsagePoint(facts, commodity)
        self._usage_points.append(usage_point)
        self._up_by_self[self_path] = usage_point
        for path in facts.related_paths:
            self._up_by_related.setdefault(path, []).append(usage_point)

    def _add_meter_reading(self, facts: EntryFacts) -> None:
        """ESPI MeterReading: an empty resource whose links carry all of its meaning."""
        self_path = self._require_self(facts, "MeterReading")
        if self_path in self._mr_by_self:
            raise _reject(
                self._duplicate_message("MeterReading", facts, self._mr_by_self[self_path].facts)
            )
        meter_reading = _MeterReading(facts)
        self._meter_readings.append(meter_reading)
        self._mr_by_self[self_path] = meter_reading
        for path in facts.related_paths:
            self._mr_by_related.setdefault(path, []).append(meter_reading)

    def _add_reading_type(
        self, facts: EntryFacts, element: etree._Element
    ) -> Iterator[SourceRecord]:
        """ESPI ReadingType: every field of ``domain.metering.ReadingType`` by its code."""
        if not facts.self_path:
            yield SourceWarning(
                f"skipped the ReadingType at line {facts.line}: it has no self link, "
                "so no MeterReading can refer to it"
            )
            return
        if facts.self_path in self._reading_types:
            previous = self._reading_types[facts.self_path].facts
            raise _reject(self._duplicate_message("ReadingType", facts, previous))
        value = read_reading_type(element, facts)
        if value.uom is None:
            yield SourceWarning(
                f"ReadingType {facts.describe()} has no uom (espi.xsd ReadingType/uom); "
                "its readings are imported without a unit of measure"
            )
        reading_type = _ReadingType(facts, value)
        self._reading_types[facts.self_path] = reading_type
        for meter_reading in self._mr_by_related.get(facts.self_path, []):
            current = meter_reading.reading_type
            if current is not None and current is not reading_type:
                raise _reject(self._two_types_message(meter_reading, current, reading_type))

    def _add_blocks(self, entry: _Blocks) -> Iterator[SourceRecord]:
        """ESPI IntervalBlock: emitted at once when its meter reading is resolvable."""
        owner = self._owner_of(entry.facts)
        if owner is None:
            self._orphans.append(entry)
            self._buffered += 1
            return
        if owner.emitted:
            yield from self._emit_blocks(owner, entry)
            return
        owner.pending.append(entry)
        self._buffered += 1
        resolved = self._resolve(owner)
        if resolved is not None:
            yield from self._emit_meter_reading(owner, *resolved)

    # -- resolution ------------------------------------------------------------------------

    def _flush(self) -> Iterator[SourceRecord]:
        """Place buffered blocks whose meter reading became known, and emit what is ready."""
        orphans, self._orphans = self._orphans, []
        for entry in orphans:
            owner = self._owner_of(entry.facts)
            if owner is None:
                self._orphans.append(entry)
            else:
                owner.pending.append(entry)
        for meter_reading in self._meter_readings:
            if meter_reading.pending and not meter_reading.emitted:
                resolved = self._resolve(meter_reading)
                if resolved is not None:
                    yield from self._emit_meter_reading(meter_reading, *resolved)

    def _owner_of(self, facts: EntryFacts) -> _MeterReading | None:
        """The MeterReading an IntervalBlock entry belongs to, or None if not (yet) known."""
        for path in (facts.up_path, facts.self_path):
            if path:
                owners = self._mr_by_related.get(path, [])
                if len(owners) > 1:
                    names = ", ".join(owner.facts.describe() for owner in owners)
                    msg = f"IntervalBlock {facts.describe()} is claimed by MeterReadings {names}"
                    raise _reject(msg)
                if owners:
                    return owners[0]
        return _longest_prefix(facts.self_path, self._meter_readings)

    def _resolve(self, meter_reading: _MeterReading) -> tuple[_UsagePoint, _ReadingType] | None:
        """The UsagePoint and ReadingType of a MeterReading, if both are in the file by now."""
        usage_point = meter_reading.usage_point or self._usage_point_of(meter_reading.facts)
        meter_reading.usage_point = usage_point
        reading_type = self._reading_type_of(meter_reading.facts)
        if usage_point is None or reading_type is None:
            return None
        return usage_point, reading_type

    def _usage_point_of(self, facts: EntryFacts) -> _UsagePoint | None:
        for path in (facts.up_path, facts.self_path):
            if path:
                owners = self._up_by_related.get(path, [])
                if len(owners) > 1:
                    names = ", ".join(owner.facts.describe() for owner in owners)
                    msg = f"MeterReading {facts.describe()} is claimed by UsagePoints {names}"
                    raise _reject(msg)
                if owners:
                    return owners[0]
        return _longest_prefix(facts.self_path, self._usage_points)

    def _reading_type_of(self, facts: EntryFacts) -> _ReadingType | None:
        found = {
            id(self._reading_types[path]): self._reading_types[path]
            for path in facts.related_paths
            if path in self._reading_types
        }
        if len(found) > 1:
            first, second = list(found.values())[:2]
            msg = (
                f"MeterReading {facts.describe()} links two ReadingTypes, "
                f"{first.facts.describe()} and {second.facts.describe()}"
            )
            raise _reject(msg)
        return next(iter(found.values()), None)

    # -- output ----------------------------------------------------------------------------

    def _emit_meter_reading(
        self, meter_reading: _MeterReading, usage_point: _UsagePoint, reading_type: _ReadingType
    ) -> Iterator[SourceRecord]:
        """The service point (once), the meter reading, then its buffered blocks."""
        if not usage_point.emitted:
            yield from self._emit_service_point(usage_point)
        facts = meter_reading.facts
        record_uuid, warning = self._uuid_for(facts, "MeterReading")
        if warning is not None:
            yield warning
        meter_reading.reading_type = reading_type
        yield SourceMeterReading(
            key=_key(facts),
            service_point_key=_key(usage_point.facts),
            reading_type=reading_type.value,
            uuid=record_uuid,
            title=facts.title,
        )
        pending, meter_reading.pending = meter_reading.pending, []
        self._buffered -= len(pending)
        for entry in pending:
            yield from self._emit_blocks(meter_reading, entry)

    def _emit_service_point(self, usage_point: _UsagePoint) -> Iterator[SourceRecord]:
        usage_point.emitted = True
        facts = usage_point.facts
        record_uuid, warning = self._uuid_for(facts, "UsagePoint")
        if warning is not None:
            yield warning
        yield SourceServicePoint(
            key=_key(facts),
            uuid=record_uuid,
            title=facts.title,
            commodity=usage_point.commodity,
        )

    def _emit_blocks(self, meter_reading: _MeterReading, entry: _Blocks) -> Iterator[SourceRecord]:
        """One ``SourceReadings`` per IntervalBlock, in file order, counting repeated starts.

        Readings are passed on as the file has them; a start given twice is counted for the
        closing warning, and the consumer keeps the last reading per start (the merge rule of
        ``IngestTarget.merge_readings``: a later reading for a start wins, as in a corrected
        feed). Nothing collapses silently.
        """
        reading_type = meter_reading.reading_type
        if reading_type is None:  # pragma: no cover - only emitted meter readings get here
            raise _reject(self._unresolved_message(meter_reading))
        key = _key(meter_reading.facts)
        for block in entry.blocks:
            block.fill_implicit(reading_type.value.interval_length, reading_type.facts.describe())
            repeated = meter_reading.starts.add([reading[START] for reading in block.readings])
            if repeated:
                meter_reading.repeated_starts += len(repeated)
                if meter_reading.first_repeated is None:
                    meter_reading.first_repeated = (repeated[0], block.line)
            meter_reading.readings += len(block.readings)
            meter_reading.truncated_starts += block.truncated_starts
            meter_reading.first_truncated = meter_reading.first_truncated or block.first_truncated
            meter_reading.unknown_qualities += block.unknown_qualities
            if block.readings:
                yield SourceReadings(key, block.readings)

    def _uuid_for(self, facts: EntryFacts, kind: str) -> tuple[uuid.UUID, SourceWarning | None]:
        """The entry's ``atom:id`` as a uuid when it is a ``urn:uuid`` unique so far.

        Uniqueness is judged in document order, at the latest moment the record can wait for:
        an id is handed out once, and any entry (or the feed itself) that reuses it makes every
        later claimant fall back to ``stable_uuid("espi-import", <self href>)`` with a warning.

        A unique id that is no name-based UUID (version 3 or 5; random v4 ids are common in
        real feeds) is kept as the seed of a v5 one, ``stable_uuid("espi-import", <id>)``: the
        custodian serves it again, and Green Button certification asks for v3/v5 ids that
        stay the same in every feed. The same source id always gives the same uuid.
        """
        atom_id = (facts.atom_id or "").strip()
        parsed = _parse_urn_uuid(atom_id)
        count = self._id_counts[atom_id.lower()] if atom_id else 0
        if parsed is not None and count == 1 and atom_id.lower() not in self._claimed_ids:
            self._claimed_ids.add(atom_id.lower())
            if parsed.version not in NAME_BASED_VERSIONS:
                return stable_uuid(UUID_NAMESPACE_KEY, parsed.urn), None
            return parsed, None
        derived = stable_uuid(UUID_NAMESPACE_KEY, _key(facts))
        if not atom_id:
            reason = "has no atom:id"
        elif parsed is None:
            reason = f"has atom:id {atom_id!r}, which is not a urn:uuid (RFC 4122 §3)"
        else:
            reason = f"uses atom:id {atom_id}, which occurs {count} times in this file"
        warning = SourceWarning(
            f"{kind} {facts.describe()} {reason}; its uuid is derived: {derived}"
        )
        return derived, warning

    def _closing_warnings(self) -> Iterator[SourceWarning]:
        for meter_reading in self._meter_readings:
            name = meter_reading.facts.describe()
            if meter_reading.first_repeated is not None:
                yield SourceWarning(_repeated_message(meter_reading, *meter_reading.first_repeated))
            if meter_reading.truncated_starts:
                yield SourceWarning(
                    f"MeterReading {name}: {meter_reading.truncated_starts} IntervalReading "
                    f"starts had fractional seconds (e.g. {meter_reading.first_truncated}); "
                    "they were truncated to whole epoch seconds (espi.xsd TimeType)"
                )
            if meter_reading.unknown_qualities:
                yield SourceWarning(
                    f"MeterReading {name}: {meter_reading.unknown_qualities} IntervalReadings "
                    "have a ReadingQuality code outside espi.xsd QualityOfReading; "
                    "their quality was imported as unknown"
                )
        for kind, count in self._skipped.items():
            entries = "entry" if count == 1 else "entries"
            yield SourceWarning(f"skipped {count} {kind} {entries}: only usage data is imported")

    # -- messages --------------------------------------------------------------------------

    def _kind_label(self, tag: str) -> str:
        name = local_name(tag)
        return f"customer {name}" if namespace_of(tag) == CUSTOMER_NS else name

    def _not_usage_message(self, document: str) -> str:
        kinds = [kind for kind in self._kinds if kind != "UsagePoint"]
        customer = [label for label in self._skipped if label.startswith("customer ")]
        if customer:
            kind = (
                "RetailCustomer (customer.xsd: "
                + ", ".join(label.removeprefix("customer ") for label in customer)
                + ")"
            )
        elif kinds:
            kind = "/".join(kinds)
        else:
            kind = "empty"
        return (
            f"this {document} contains no UsagePoint (it is {_article(kind)} {kind} document); "
            "only usage feeds can be imported"
        )

    @staticmethod
    def _orphan_message(entry: _Blocks) -> str:
        facts = entry.facts
        up = f"up link {facts.up_path!r}" if facts.up_path else "no up link"
        return (
            f"IntervalBlock {facts.describe()} ({up}) belongs to no MeterReading in this file: "
            "no MeterReading lists its collection or itself as related"
        )

    def _unresolved_message(self, meter_reading: _MeterReading) -> str:
        facts = meter_reading.facts
        if meter_reading.usage_point is None:
            up = f"its up link {facts.up_path!r}" if facts.up_path else "it has no up link and"
            return (
                f"MeterReading {facts.describe()} belongs to no UsagePoint in this file "
                f"({up} matches no UsagePoint's related link)"
            )
        related = ", ".join(facts.related_paths) or "none"
        return (
            f"MeterReading {facts.describe()} links no ReadingType in this file "
            f"(its related links: {related})"
        )

    @staticmethod
    def _duplicate_message(kind: str, facts: EntryFacts, previous: EntryFacts) -> str:
        return (
            f"two {kind} entries (lines {previous.line} and {facts.line}) have the same "
            f"self href {facts.self_href}"
        )

    @staticmethod
    def _two_types_message(
        meter_reading: _MeterReading, first: _ReadingType, second: _ReadingType
    ) -> str:
        return (
            f"MeterReading {meter_reading.facts.describe()} links two ReadingTypes, "
            f"{first.facts.describe()} and {second.facts.describe()}"
        )

    @staticmethod
    def _require_self(facts: EntryFacts, kind: str) -> str:
        if not facts.self_path:
            msg = (
                f'the {kind} entry at line {facts.line} has no rel="self" link; without it '
                "its resources cannot be linked (RFC 4287 §4.2.7.2)"
            )
            raise _reject(msg)
        return facts.self_path


def _key(facts: EntryFacts) -> str:
    """A resource's key in this file: its self href as written (unique by construction)."""
    return facts.self_href or f"line:{facts.line}"


def _parse_urn_uuid(atom_id: str) -> uuid.UUID | None:
    """The uuid of a ``urn:uuid:`` id (RFC 4122 §3), None for any other id."""
    if not atom_id.lower().startswith(_URN_UUID):
        return None
    try:
        return uuid.UUID(atom_id[len(_URN_UUID) :])
    except ValueError:
        return None


_Linked = TypeVar("_Linked", _UsagePoint, _MeterReading)


def _longest_prefix(path: str | None, candidates: list[_Linked]) -> _Linked | None:
    """The candidate whose self href is the longest path prefix of ``path``.

    ESPI resource URIs nest (``.../UsagePoint/1/MeterReading/2/IntervalBlock/3``), so a feed
    without usable ``up``/``related`` links still says where a resource belongs.
    """
    if not path:
        return None
    best: _Linked | None = None
    best_length = -1
    for candidate in candidates:
        own = candidate.facts.self_path
        if own and path.startswith(own + "/") and len(own) > best_length:
            best, best_length = candidate, len(own)
    return best


def _repeated_message(meter_reading: _MeterReading, first: int, line: int) -> str:
    """The closing warning of a meter reading that gives some starts more than once."""
    note = ""
    if meter_reading.first_truncated:
        note = (
            f"; its starts are fractional (e.g. {meter_reading.first_truncated}) and look like an "
            "export time rather than interval starts"
        )
    return (
        f"MeterReading {meter_reading.facts.describe()}: {meter_reading.repeated_starts} of its "
        f"{meter_reading.readings} IntervalReadings repeat a start given earlier in the file "
        f"(first {first} = {_iso(first)}, in the IntervalBlock at line {line}){note}; "
        "the last reading for each start is kept"
    )
