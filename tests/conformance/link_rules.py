"""The Green Button certification link rules, checked on any ESPI usage feed.

The rules are those of the reference Data Custodian's CMD test suite (``FB_01.xsl``,
``FB_04.xsl``) and of the GBA web tests, as research/espi.md §4 lists them:

* D004: every ``atom:id`` and every ``self`` href is unique;
* GBA: an entry's ``up`` href is its collection, without an identifier: its ``self`` href
  minus the last segment;
* GBA: resource ids are UUID type 3 or 5;
* D007: a UsagePoint links at most one LocalTimeParameters;
* D024: a MeterReading has exactly one ``related`` link to a ReadingType, and that
  ReadingType is in the document;
* D037: every IntervalBlock's ``up`` equals the ``related`` IntervalBlock collection href of a
  MeterReading of the document;
* D042: a block's first IntervalReading starts at the block's ``interval/start``;
* D145/D146: reading starts and block starts are unique within a MeterReading.

Hrefs are compared as written (after trimming): the reference DC compares strings too. The
checker reads any feed, so it can be pointed at the shared samples as well as at our output.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final

from lxml import etree

ATOM: Final = "{http://www.w3.org/2005/Atom}"
ESPI: Final = "{http://naesb.org/espi}"
_UUID_VERSIONS: Final = {3, 5}


@dataclass
class _Entry:
    """What the rules need of one entry."""

    position: int
    atom_id: str
    self_href: str | None
    up_href: str | None
    related: list[str]
    resource: str
    content: etree._Element | None = field(default=None, repr=False)

    def name(self) -> str:
        return self.self_href or f"{self.resource} entry #{self.position}"


def _href(link: etree._Element) -> str:
    return (link.get("href") or "").strip()


def _read_entries(document: bytes) -> list[_Entry]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(document, parser=parser)
    entries = [root] if root.tag == f"{ATOM}entry" else root.findall(f"{ATOM}entry")
    result = []
    for position, entry in enumerate(entries, start=1):
        links = entry.findall(f"{ATOM}link")
        selfs = [_href(link) for link in links if link.get("rel") == "self"]
        ups = [_href(link) for link in links if link.get("rel") == "up"]
        content = entry.find(f"{ATOM}content")
        resource_element = None
        if content is not None:
            resource_element = next((c for c in content if isinstance(c.tag, str)), None)
        resource = etree.QName(resource_element).localname if resource_element is not None else "?"
        result.append(
            _Entry(
                position=position,
                atom_id=(entry.findtext(f"{ATOM}id") or "").strip(),
                self_href=selfs[0] if selfs else None,
                up_href=ups[0] if ups else None,
                related=[_href(link) for link in links if link.get("rel") == "related"],
                resource=resource,
                content=resource_element,
            )
        )
    return result


def _identity_problems(entries: list[_Entry]) -> list[str]:
    """D004 uniqueness, the GBA ``up`` and UUID-version rules."""
    problems = []
    for atom_id, count in Counter(entry.atom_id for entry in entries).items():
        if count > 1:
            problems.append(f"D004: atom:id {atom_id} is used by {count} entries")
    selfs = Counter(entry.self_href for entry in entries if entry.self_href)
    problems.extend(
        f"D004: self href {href} is used by {count} entries"
        for href, count in selfs.items()
        if count > 1
    )
    for entry in entries:
        if entry.self_href is None or entry.up_href is None:
            problems.append(f"GBA: {entry.name()} lacks a self or an up link")
        elif entry.up_href.rstrip("/") != entry.self_href.rstrip("/").rpartition("/")[0]:
            problems.append(
                f"GBA: {entry.name()} has up {entry.up_href}, not its collection "
                "(the self href without its identifier)"
            )
        urn = entry.atom_id.removeprefix("urn:uuid:")
        try:
            version = uuid.UUID(urn).version
        except ValueError:
            problems.append(f"GBA: atom:id {entry.atom_id} is not a UUID")
            continue
        if version not in _UUID_VERSIONS:
            problems.append(f"GBA: atom:id {entry.atom_id} is UUID v{version}, not 3 or 5")
    return problems


def _epoch(text: str | None) -> int | None:
    """A TimeType text as whole seconds; some real exports write fractions (ngma)."""
    try:
        return int(Decimal((text or "").strip()))
    except InvalidOperation:
        return None


def _interval_start(block: etree._Element) -> int | None:
    return _epoch(block.findtext(f"{ESPI}interval/{ESPI}start"))


def _reading_starts(block: etree._Element) -> list[int]:
    starts = (
        _epoch(reading.findtext(f"{ESPI}timePeriod/{ESPI}start"))
        for reading in block.iterfind(f"{ESPI}IntervalReading")
    )
    return [start for start in starts if start is not None]


def _meter_reading_problems(
    entries: list[_Entry], by_self: dict[str, _Entry]
) -> tuple[list[str], dict[str, _Entry]]:
    """D007 and D024; and each MeterReading's related collections (for D037), by href."""
    problems = []
    collections: dict[str, _Entry] = {}
    for entry in entries:
        if entry.resource == "UsagePoint":
            local_times = [href for href in entry.related if "/LocalTimeParameters/" in href]
            if len(local_times) > 1:
                problems.append(
                    f"D007: {entry.name()} links {len(local_times)} LocalTimeParameters"
                )
        if entry.resource != "MeterReading":
            continue
        reading_types = [
            href
            for href in entry.related
            if "/ReadingType/" in href
            or (href in by_self and by_self[href].resource == "ReadingType")
        ]
        if len(reading_types) != 1:
            problems.append(
                f"D024: {entry.name()} has {len(reading_types)} related ReadingType links, not 1"
            )
        problems.extend(
            f"D024: {entry.name()} names ReadingType {href}, not in the feed"
            for href in reading_types
            if href not in by_self or by_self[href].resource != "ReadingType"
        )
        collections.update((href, entry) for href in entry.related if href not in reading_types)
    return problems, collections


def _repeats(values: list[int]) -> list[int]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _block_problems(entries: list[_Entry], collections: dict[str, _Entry]) -> list[str]:
    """D037, D042, D145 and D146."""
    problems = []
    reading_starts: dict[str, list[int]] = defaultdict(list)
    block_starts: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        if entry.resource != "IntervalBlock" or entry.content is None:
            continue
        owner = collections.get(entry.up_href or "")
        if owner is None:
            problems.append(
                f"D037: IntervalBlock {entry.name()} has up {entry.up_href}, which is no "
                "MeterReading's related IntervalBlock collection"
            )
        key = owner.name() if owner is not None else f"(orphan) {entry.up_href}"
        interval_start = _interval_start(entry.content)
        starts = _reading_starts(entry.content)
        if starts and starts[0] != interval_start:
            problems.append(
                f"D042: IntervalBlock {entry.name()} starts at {interval_start} but its first "
                f"reading at {starts[0]}"
            )
        if interval_start is not None:
            block_starts[key].append(interval_start)
        reading_starts[key].extend(starts)
    for key, starts in block_starts.items():
        if repeated := _repeats(starts):
            problems.append(f"D146: MeterReading {key} has blocks starting twice at {repeated}")
    for key, starts in reading_starts.items():
        if repeated := _repeats(starts):
            problems.append(
                f"D145: MeterReading {key} has {len(repeated)} reading starts used twice "
                f"(first {repeated[0]})"
            )
    return problems


def certification_problems(document: bytes) -> list[str]:
    """Every certification link-rule violation of an ESPI feed (empty when it conforms).

    Each problem starts with its rule (``D004: …``) or names the entry it is about.
    """
    entries = _read_entries(document)
    by_self = {entry.self_href: entry for entry in entries if entry.self_href}
    reading_problems, collections = _meter_reading_problems(entries, by_self)
    return [
        *_identity_problems(entries),
        *reading_problems,
        *_block_problems(entries, collections),
    ]
