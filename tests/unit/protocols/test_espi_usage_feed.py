"""The streaming ESPI usage-feed writer, its local-time helpers and what readers make of it.

Feeds are checked against both ESPI schemas, the certification link rules
(``tests/conformance/link_rules.py``), an independent parser (greenbutton-objects) and this
project's own importer, which must give back exactly the readings written.
"""

from __future__ import annotations

import io
import itertools
import types
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from opencustodian.domain.ingest import SourceMeterReading, SourceReadings, SourceServicePoint
from opencustodian.domain.metering import ReadingType
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import local_midnight, to_epoch
from opencustodian.protocols.espi.parser import parse_espi_feed
from opencustodian.protocols.espi.usage_feed import (
    BlockNode,
    FeedMeta,
    LocalTimeNode,
    LocalTimeParameters,
    MeterReadingNode,
    UsagePointNode,
    UsageSummaryNode,
    local_blocks,
    local_time_parameters,
    usage_feed,
)
from tests.conformance.link_rules import certification_problems
from tests.xsd import schema_errors

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from opencustodian.domain.metering import Reading

NS = {"a": "http://www.w3.org/2005/Atom", "e": "http://naesb.org/espi"}
ROOT = "https://dc.example/espi/1_1/resource"
WHEN = datetime(2024, 12, 1, 12, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")

ELECTRIC_FORWARD = ReadingType(
    commodity=1,
    kind=12,
    uom=72,
    power_of_ten_multiplier=0,
    accumulation_behaviour=4,
    flow_direction=1,
    interval_length=900,
    currency=840,
    default_quality=0,
    time_attribute=0,
)
ELECTRIC_REVERSE = ReadingType(
    commodity=1,
    kind=12,
    uom=72,
    power_of_ten_multiplier=-1,
    accumulation_behaviour=4,
    flow_direction=19,
    interval_length=900,
)
GAS_DAILY = ReadingType(
    commodity=7,
    kind=12,
    uom=169,
    power_of_ten_multiplier=-3,
    accumulation_behaviour=4,
    flow_direction=1,
    interval_length=86_400,
)


# -- building feeds --------------------------------------------------------------------------


def quarter_hours(  # noqa: PLR0913 - keyword flags say which optional fields are set
    zone: ZoneInfo, first: date, days: int, *, cost: bool, quality: bool, seed: int = 0
) -> list[Reading]:
    """15-minute readings covering ``days`` whole local days from ``first``."""
    start = to_epoch(local_midnight(first, zone))
    end = to_epoch(local_midnight(first + timedelta(days=days), zone))
    return [
        (
            moment,
            900,
            (moment // 900 * 7919 + seed) % 4000,
            (moment // 900 * 104_729) % 90_000 if cost else None,
            (17 if index % 5 == 0 else 8) if quality and index % 3 else None,
        )
        for index, moment in enumerate(range(start, end, 900))
    ]


def daily(zone: ZoneInfo, first: date, days: int) -> list[Reading]:
    """Daily gas readings (value in 10⁻³ therm, cost always) from local ``first``."""
    rows: list[Reading] = []
    for offset in range(days):
        start = to_epoch(local_midnight(first + timedelta(days=offset), zone))
        end = to_epoch(local_midnight(first + timedelta(days=offset + 1), zone))
        rows.append((start, end - start, 1_500 + offset * 37, 210_000 + offset, None))
    return rows


def blocks_of(key: str, readings: Iterable[Reading], zone: ZoneInfo) -> Iterator[BlockNode]:
    """Lazy BlockNodes over ``local_blocks``, with stable ids."""
    for start, duration, rows in local_blocks(readings, zone):
        yield BlockNode(stable_uuid(key, "block", start), WHEN, WHEN, start, duration, rows)


def meter(key: str, reading_type: ReadingType, readings: list[Reading], zone: ZoneInfo):
    return MeterReadingNode(
        entry_id=stable_uuid(key, "meter-reading"),
        reading_type_id=stable_uuid(key, "reading-type"),
        published=WHEN,
        updated=WHEN,
        title=f"{key} <readings> & more",
        reading_type=reading_type,
        blocks=blocks_of(key, readings, zone),
    )


def meta(*, certification: bool = True) -> FeedMeta:
    return FeedMeta(
        feed_id=stable_uuid("feed"),
        title="Green Button Usage Feed",
        self_href=f"{ROOT}/Batch/Subscription/5?published-min=2024-01-01T00:00:00Z&max=1",
        updated=WHEN,
        resource_root=ROOT,
        subscription_id="5",
        certification_href="https://cert.example/certificate/1" if certification else None,
    )


def local_time_node(zone: ZoneInfo = NEW_YORK) -> LocalTimeNode:
    return LocalTimeNode(stable_uuid("ltp"), WHEN, WHEN, local_time_parameters(zone, 2024))


def summary(index: int) -> UsageSummaryNode:
    start = to_epoch(local_midnight(date(2024, index, 1), NEW_YORK))
    return UsageSummaryNode(
        entry_id=stable_uuid("summary", index),
        published=WHEN,
        updated=WHEN,
        period_start=start,
        period_duration=30 * 86_400,
        status_time_stamp=start + 31 * 86_400,
        currency=840,
        bill_last_period=12_345_000 if index % 2 else None,
        consumption_value=655 + index if index != 3 else None,
    )


@pytest.fixture(scope="module")
def channels() -> dict[str, list[Reading]]:
    """The readings of the sample feed, per meter-reading key (DST days in New York)."""
    spring = quarter_hours(NEW_YORK, date(2024, 3, 9), 3, cost=True, quality=True)
    autumn = quarter_hours(NEW_YORK, date(2024, 11, 2), 3, cost=True, quality=True)
    return {
        "forward": spring + autumn,
        "reverse": quarter_hours(NEW_YORK, date(2024, 3, 9), 3, cost=False, quality=False),
        "gas": daily(NEW_YORK, date(2024, 1, 1), 120),
    }


def sample_points(channels: dict[str, list[Reading]]) -> list[UsagePointNode]:
    electric = UsagePointNode(
        entry_id=stable_uuid("up", "electric"),
        published=WHEN,
        updated=WHEN,
        title='Front "meter" <1> & co',
        service_kind=0,
        meter_readings=[
            meter("forward", ELECTRIC_FORWARD, channels["forward"], NEW_YORK),
            meter("reverse", ELECTRIC_REVERSE, channels["reverse"], NEW_YORK),
        ],
        summaries=[summary(1), summary(2), summary(3)],
    )
    gas = UsagePointNode(
        entry_id=stable_uuid("up", "gas"),
        published=WHEN,
        updated=WHEN,
        title="Gas",
        service_kind=1,
        meter_readings=[meter("gas", GAS_DAILY, channels["gas"], NEW_YORK)],
    )
    empty = UsagePointNode(
        entry_id=stable_uuid("up", "empty"),
        published=WHEN,
        updated=WHEN,
        title="Water (no data yet)",
        service_kind=2,
        meter_readings=[],
    )
    return [electric, gas, empty]


@pytest.fixture(scope="module")
def document(channels: dict[str, list[Reading]]) -> bytes:
    return b"".join(usage_feed(meta(), local_time_node(), sample_points(channels)))


def tree(document: bytes) -> etree._Element:
    return etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False))


def elements(node: etree._Element, path: str, **variables: str) -> list[etree._Element]:
    found = node.xpath(path, namespaces=NS, **variables)  # type: ignore[arg-type]  # XPath variables
    assert isinstance(found, list)
    return [item for item in found if isinstance(item, etree._Element)]


def xpath_strings(node: etree._Element, path: str) -> list[str]:
    found = node.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return [str(item) for item in found]


# -- schema, links, structure ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["4.0", "3.3"])
def test_feed_is_valid_espi(document: bytes, version: str) -> None:
    # ESPI 3.3 applies too: every element written exists in usage.xsd with the same order, and
    # every link is typed as its atom.xsd requires.
    assert schema_errors(document, version) == []


@pytest.mark.parametrize("version", ["4.0", "3.3"])
def test_minimal_feeds_are_valid(version: str) -> None:
    bare = b"".join(usage_feed(meta(certification=False), None, []))
    assert schema_errors(bare, version) == []
    empty_point = UsagePointNode(stable_uuid("up", "x"), WHEN, WHEN, "", 0, [])
    assert schema_errors(b"".join(usage_feed(meta(), None, [empty_point])), version) == []


def test_feed_meets_certification_link_rules(document: bytes) -> None:
    assert certification_problems(document) == []


def test_feed_head_and_namespaces(document: bytes) -> None:
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<feed ')
    root = tree(document)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.nsmap == {None: NS["a"], "espi": NS["e"]}
    # espi: is declared once, on the root; no entry redeclares a namespace.
    assert document.count(b"xmlns") == 2
    assert xpath_strings(root, "a:id/text()") == [stable_uuid("feed").urn]
    assert xpath_strings(root, "a:updated/text()") == ["2024-12-01T12:30:00Z"]
    self_link = elements(root, "a:link[@rel='self']")
    assert [(link.get("href"), link.get("type")) for link in self_link] == [
        (meta().self_href, "espi-feed/UsagePoint")
    ]
    assert b"Subscription/5?published-min=2024-01-01T00:00:00Z&amp;max=1" in document
    assert xpath_strings(root, "a:link[@rel='related']/@type") == ["text/html"]
    without = b"".join(usage_feed(meta(certification=False), None, []))
    assert xpath_strings(tree(without), "a:link[@rel='related']") == []


def test_entries_in_tree_order(document: bytes) -> None:
    resources = [
        etree.QName(element).localname
        for element in elements(tree(document), "a:entry/a:content/*")
    ]
    collapsed = [name for name, _ in itertools.groupby(resources)]
    assert collapsed == [
        "LocalTimeParameters",
        "UsagePoint",
        "MeterReading",
        "ReadingType",
        "IntervalBlock",
        "MeterReading",
        "ReadingType",
        "IntervalBlock",
        "UsageSummary",
        "UsagePoint",
        "MeterReading",
        "ReadingType",
        "IntervalBlock",
        "UsagePoint",
    ]
    assert resources.count("IntervalBlock") == 6 + 3 + 4
    assert resources.count("UsageSummary") == 3


def test_entry_links_and_hrefs(document: bytes) -> None:
    root = tree(document)
    point = stable_uuid("up", "electric")
    base = f"{ROOT}/Subscription/5/UsagePoint"
    reading = stable_uuid("forward", "meter-reading")
    reading_type = stable_uuid("forward", "reading-type")
    links = {
        entry.findtext("a:id", namespaces=NS): [
            (link.get("rel"), link.get("href"), link.get("type"))
            for link in entry.findall("a:link", namespaces=NS)
        ]
        for entry in root.findall("a:entry", namespaces=NS)
    }
    assert links[point.urn] == [
        ("self", f"{base}/{point}", "espi-entry/UsagePoint"),
        ("up", base, "espi-feed/UsagePoint"),
        ("related", f"{base}/{point}/MeterReading", "espi-feed/MeterReading"),
        ("related", f"{base}/{point}/UsageSummary", "espi-feed/UsageSummary"),
        (
            "related",
            f"{ROOT}/LocalTimeParameters/{stable_uuid('ltp')}",
            "espi-entry/LocalTimeParameters",
        ),
    ]
    gas = stable_uuid("up", "gas")
    assert [rel for rel, href, _ in links[gas.urn] if "UsageSummary" in (href or "")] == []
    readings = f"{base}/{point}/MeterReading"
    assert links[reading.urn] == [
        ("self", f"{readings}/{reading}", "espi-entry/MeterReading"),
        ("up", readings, "espi-feed/MeterReading"),
        ("related", f"{ROOT}/ReadingType/{reading_type}", "espi-entry/ReadingType"),
        ("related", f"{readings}/{reading}/IntervalBlock", "espi-feed/IntervalBlock"),
    ]
    assert links[reading_type.urn] == [
        ("self", f"{ROOT}/ReadingType/{reading_type}", "espi-entry/ReadingType"),
        ("up", f"{ROOT}/ReadingType", "espi-feed/ReadingType"),
    ]
    assert links[stable_uuid("ltp").urn] == [
        (
            "self",
            f"{ROOT}/LocalTimeParameters/{stable_uuid('ltp')}",
            "espi-entry/LocalTimeParameters",
        ),
        ("up", f"{ROOT}/LocalTimeParameters", "espi-feed/LocalTimeParameters"),
    ]
    summary_id = stable_uuid("summary", 1)
    assert links[summary_id.urn] == [
        ("self", f"{base}/{point}/UsageSummary/{summary_id}", "espi-entry/UsageSummary"),
        ("up", f"{base}/{point}/UsageSummary", "espi-feed/UsageSummary"),
    ]
    block_id = stable_uuid(
        "forward", "block", to_epoch(local_midnight(date(2024, 3, 10), NEW_YORK))
    )
    assert links[block_id.urn] == [
        ("self", f"{readings}/{reading}/IntervalBlock/{block_id}", "espi-entry/IntervalBlock"),
        ("up", f"{readings}/{reading}/IntervalBlock", "espi-feed/IntervalBlock"),
    ]


def test_entry_metadata_and_escaping(document: bytes) -> None:
    root = tree(document)
    entries = root.findall("a:entry", namespaces=NS)
    for entry in entries:
        assert [etree.QName(child).localname for child in entry][-4:] == [
            "title",
            "published",
            "updated",
            "content",
        ]
        assert entry.findtext("a:published", namespaces=NS) == "2024-12-01T12:30:00Z"
        assert entry.findtext("a:updated", namespaces=NS) == "2024-12-01T12:30:00Z"
    titles = xpath_strings(root, "a:entry/a:title/text()")
    assert 'Front "meter" <1> & co' in titles
    assert "forward <readings> & more" in titles


def test_resource_contents(document: bytes) -> None:
    root = tree(document)
    ltp = root.find("a:entry/a:content/e:LocalTimeParameters", namespaces=NS)
    assert ltp is not None
    assert [(etree.QName(child).localname, child.text) for child in ltp] == [
        ("dstEndRule", "B40E2000"),
        ("dstOffset", "3600"),
        ("dstStartRule", "360E2000"),
        ("tzOffset", "-18000"),
    ]
    assert xpath_strings(
        root, "a:entry/a:content/e:UsagePoint/e:ServiceCategory/e:kind/text()"
    ) == [
        "0",
        "1",
        "2",
    ]
    reverse_type = elements(
        root,
        "a:entry[a:id=$id]/a:content/e:ReadingType",
        id=stable_uuid("reverse", "reading-type").urn,
    )
    assert [(etree.QName(c).localname, c.text) for c in reverse_type[0]] == [
        ("accumulationBehaviour", "4"),
        ("commodity", "1"),
        ("flowDirection", "19"),
        ("intervalLength", "900"),
        ("kind", "12"),
        ("powerOfTenMultiplier", "-1"),
        ("uom", "72"),
    ]
    summaries = root.findall("a:entry/a:content/e:UsageSummary", namespaces=NS)
    assert [etree.QName(c).localname for c in summaries[0]] == [
        "billingPeriod",
        "billLastPeriod",
        "currency",
        "overallConsumptionLastPeriod",
        "statusTimeStamp",
    ]
    assert [etree.QName(c).localname for c in summaries[1]] == [
        "billingPeriod",
        "currency",
        "overallConsumptionLastPeriod",
        "statusTimeStamp",
    ]
    assert [etree.QName(c).localname for c in summaries[2]] == [
        "billingPeriod",
        "billLastPeriod",
        "currency",
        "statusTimeStamp",
    ]
    measured = summaries[0].find("e:overallConsumptionLastPeriod", namespaces=NS)
    assert measured is not None
    first = summary(1)
    assert [(etree.QName(c).localname, c.text) for c in measured] == [
        ("powerOfTenMultiplier", "3"),
        ("timeStamp", str(first.period_start + first.period_duration)),
        ("uom", "72"),
        ("value", "656"),
    ]


def test_reading_xml_per_field(channels: dict[str, list[Reading]], document: bytes) -> None:
    root = tree(document)
    readings = elements(root, "a:entry/a:content/e:IntervalBlock/e:IntervalReading")
    expected = channels["forward"] + channels["reverse"] + channels["gas"]
    written = []
    for element in readings:
        names = [etree.QName(child).localname for child in element]
        cost = element.findtext("e:cost", namespaces=NS)
        quality = element.findtext("e:ReadingQuality/e:quality", namespaces=NS)
        assert names == [
            *(["cost"] if cost is not None else []),
            *(["ReadingQuality"] if quality is not None else []),
            "timePeriod",
            "value",
        ]
        written.append(
            (
                int(element.findtext("e:timePeriod/e:start", namespaces=NS) or ""),
                int(element.findtext("e:timePeriod/e:duration", namespaces=NS) or ""),
                int(element.findtext("e:value", namespaces=NS) or ""),
                None if cost is None else int(cost),
                None if quality is None else int(quality),
            )
        )
    assert written == expected
    assert any(row[4] is None for row in expected)
    assert any(row[4] is not None for row in expected)


def test_dst_and_month_block_intervals(document: bytes) -> None:
    root = tree(document)
    intervals = [
        (
            int(block.findtext("e:interval/e:start", namespaces=NS) or ""),
            int(block.findtext("e:interval/e:duration", namespaces=NS) or ""),
        )
        for block in root.iterfind("a:entry/a:content/e:IntervalBlock", namespaces=NS)
    ]
    day = {d: to_epoch(local_midnight(d, NEW_YORK)) for d in (date(2024, 3, 10), date(2024, 11, 3))}
    assert (day[date(2024, 3, 10)], 82_800) in intervals
    assert (day[date(2024, 11, 3)], 90_000) in intervals
    months = [to_epoch(local_midnight(date(2024, m, 1), NEW_YORK)) for m in range(1, 6)]
    gas = [(months[i], months[i + 1] - months[i]) for i in range(4)]
    assert intervals[-4:] == gas
    assert gas[2] == (months[2], 31 * 86_400 - 3600)  # March: spring-forward month


# -- readers ---------------------------------------------------------------------------------


def test_own_importer_reads_back_every_reading(
    channels: dict[str, list[Reading]], document: bytes
) -> None:
    records = list(parse_espi_feed(io.BytesIO(document)))
    points = {r.uuid: r for r in records if isinstance(r, SourceServicePoint)}
    assert set(points) == {stable_uuid("up", name) for name in ("electric", "gas", "empty")}
    assert points[stable_uuid("up", "electric")].title == 'Front "meter" <1> & co'
    meters = {r.key: r for r in records if isinstance(r, SourceMeterReading)}
    read: dict[uuid.UUID | None, list[Reading]] = {}
    for record in records:
        if isinstance(record, SourceReadings):
            read.setdefault(meters[record.meter_reading_key].uuid, []).extend(record.readings)
    for key, rows in channels.items():
        assert read[stable_uuid(key, "meter-reading")] == rows
    types_by_meter = {m.uuid: m.reading_type for m in meters.values()}
    assert types_by_meter[stable_uuid("reverse", "meter-reading")] == ELECTRIC_REVERSE
    assert types_by_meter[stable_uuid("gas", "meter-reading")] == GAS_DAILY


def test_greenbutton_objects_reads_back_the_readings(
    channels: dict[str, list[Reading]], document: bytes, tmp_path: Path
) -> None:
    # greenbutton-objects knows ReadingQuality codes 0 and 7-18 only (it raises on 19), so
    # the sample feed's qualities stay within them.
    from greenbutton_objects import parse  # noqa: PLC0415 - only this test needs it

    path = tmp_path / "feed.xml"
    path.write_bytes(document)
    usage_points = parse.parse_feed(str(path))
    theirs = {
        meter_reading.link_self: sorted(
            (int(r.timePeriod.start.timestamp()), r.value, r.cost)
            for r in meter_reading.intervalReadings
        )
        for usage_point in usage_points
        for meter_reading in usage_point.meterReadings
    }
    multipliers = {"forward": 0, "reverse": -1, "gas": -3}
    assert len(theirs) == 3
    for key, rows in channels.items():
        point = "electric" if key != "gas" else "gas"
        href = (
            f"{ROOT}/Subscription/5/UsagePoint/{stable_uuid('up', point)}"
            f"/MeterReading/{stable_uuid(key, 'meter-reading')}"
        )
        expected = [
            (start, value * 10.0 ** multipliers[key], None if cost is None else cost / 100_000)
            for start, _, value, cost, _ in rows
        ]
        assert len(theirs[href]) == len(expected)
        for (start, value, cost), (their_start, their_value, their_cost) in zip(
            expected, theirs[href], strict=True
        ):
            assert start == their_start
            assert value == pytest.approx(their_value)
            assert cost == pytest.approx(their_cost)


# -- streaming -------------------------------------------------------------------------------


def test_chunks_concatenate_to_the_document(channels: dict[str, list[Reading]]) -> None:
    chunks = list(usage_feed(meta(), local_time_node(), sample_points(channels)))
    assert all(isinstance(chunk, bytes) and chunk for chunk in chunks)
    whole = b"".join(chunks)
    assert whole == b"".join(usage_feed(meta(), local_time_node(), sample_points(channels)))
    assert len(chunks) > 1
    # A chunk is flushed at 64 KiB of text, so it never exceeds that plus one entry.
    assert max(len(chunk) for chunk in chunks[:-1]) < 64 * 1024 + 40_000
    assert min(len(chunk) for chunk in chunks[:-1]) >= 64 * 1024
    assert whole.endswith(b"</feed>")


def test_a_huge_head_is_not_lost() -> None:
    # A title longer than a chunk fills one on its own; it must still be yielded.
    title = "x" * (100 * 1024)
    huge = FeedMeta(stable_uuid("f"), title, f"{ROOT}/Batch/Subscription/5", WHEN, ROOT, "5")
    chunks = list(usage_feed(huge, local_time_node(), []))
    document = b"".join(chunks)
    assert len(chunks) == 2
    assert title.encode() in document
    assert schema_errors(document) == []


def test_blocks_are_pulled_lazily() -> None:
    pulled = 0

    def endless() -> Iterator[BlockNode]:
        nonlocal pulled
        for day in itertools.count():
            pulled += 1
            start = 1_700_000_000 + day * 86_400
            rows = [(start + 900 * i, 900, i, None, None) for i in range(96)]
            yield BlockNode(stable_uuid("endless", day), WHEN, WHEN, start, 86_400, rows)

    node = MeterReadingNode(
        stable_uuid("mr"), stable_uuid("rt"), WHEN, WHEN, "", ELECTRIC_FORWARD, endless()
    )
    point = UsagePointNode(stable_uuid("up"), WHEN, WHEN, "", 0, [node])
    first_chunks = list(itertools.islice(usage_feed(meta(), None, [point]), 3))
    assert len(first_chunks) == 3
    assert pulled < 30  # about 64 KiB / 9 KiB of blocks per chunk, never "all of them"


def test_shared_reading_type_written_once_and_conflicts_refused() -> None:
    def node(key: str, reading_type: ReadingType) -> MeterReadingNode:
        return MeterReadingNode(
            stable_uuid(key), stable_uuid("shared-type"), WHEN, WHEN, key, reading_type, []
        )

    point = UsagePointNode(
        stable_uuid("up"), WHEN, WHEN, "", 0, [node("a", GAS_DAILY), node("b", GAS_DAILY)]
    )
    document = b"".join(usage_feed(meta(), None, [point]))
    assert document.count(b"<espi:ReadingType>") == 1
    assert certification_problems(document) == []
    clash = UsagePointNode(
        stable_uuid("up"), WHEN, WHEN, "", 0, [node("a", GAS_DAILY), node("b", ELECTRIC_FORWARD)]
    )
    with pytest.raises(ValueError, match="two different contents"):
        b"".join(usage_feed(meta(), None, [clash]))


@pytest.mark.parametrize("title", ["bell \x07", "nul \x00", "surrogate \ud800"])
def test_text_xml_cannot_carry_is_refused(title: str) -> None:
    point = UsagePointNode(stable_uuid("up"), WHEN, WHEN, title, 0, [])
    with pytest.raises(ValueError, match="cannot carry"):
        b"".join(usage_feed(meta(), None, [point]))


# -- LocalTimeParameters ---------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["America/New_York", "America/Los_Angeles", "America/Chicago"])
@pytest.mark.parametrize("year", [2007, 2024, 2030])
def test_us_rules_known_answers(zone: str, year: int) -> None:
    params = local_time_parameters(ZoneInfo(zone), year)
    assert params.dst_start_rule == 0x360E2000  # 2nd (op 3) Sunday (7) of March (3) 02:00
    assert params.dst_end_rule == 0xB40E2000  # 1st (op 2) Sunday (7) of November (11) 02:00
    assert params.dst_offset == 3600


def test_standard_offsets() -> None:
    assert local_time_parameters(NEW_YORK, 2024).tz_offset == -18_000
    assert local_time_parameters(ZoneInfo("America/Los_Angeles"), 2024).tz_offset == -28_800


@pytest.mark.parametrize(
    ("zone", "offset"), [("America/Phoenix", -25_200), ("UTC", 0), ("Asia/Tokyo", 32_400)]
)
def test_zones_without_dst(zone: str, offset: int) -> None:
    # Chile kept summer time all through 2015: no transition, so no rule either.
    assert local_time_parameters(ZoneInfo("America/Santiago"), 2015).dst_start_rule == 0xFFFFFFFF
    assert local_time_parameters(ZoneInfo(zone), 2024) == LocalTimeParameters(
        tz_offset=offset, dst_offset=0, dst_start_rule=0xFFFFFFFF, dst_end_rule=0xFFFFFFFF
    )


def test_europe_last_sunday_rules() -> None:
    # Last (op 7) Sunday of March at 02:00 CET; last Sunday of October at 03:00 CEST.
    assert local_time_parameters(BERLIN, 2024) == LocalTimeParameters(
        3600, 3600, 0x3E0E2000, 0xAE0E3000
    )
    # 2026: 29 March and 25 October are the 5th and the 4th Sunday, both still "last".
    assert local_time_parameters(BERLIN, 2026) == LocalTimeParameters(
        3600, 3600, 0x3E0E2000, 0xAE0E3000
    )


def test_us_rules_before_2007() -> None:
    # 1st Sunday of April, last Sunday of October.
    params = local_time_parameters(NEW_YORK, 2005)
    assert (params.dst_start_rule, params.dst_end_rule) == (0x440E2000, 0xAE0E2000)


def decode_rule(rule: int, year: int) -> datetime:
    """The local wall-clock moment a DstRuleType names in ``year`` (weekday operators)."""
    month, operator = rule >> 28, (rule >> 25) & 0x7
    weekday, hour, seconds = (rule >> 17) & 0x7, (rule >> 12) & 0x1F, rule & 0xFFF
    days = [
        day
        for day in (date(year, month, 1) + timedelta(days=n) for n in range(31))
        if day.month == month and day.isoweekday() == weekday
    ]
    day = days[-1] if operator == 7 else days[operator - 2]
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(seconds=seconds)


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(
        [
            "America/New_York",
            "Europe/Berlin",
            "Australia/Sydney",
            "Pacific/Auckland",
            "Europe/London",
        ]
    ),
    year=st.integers(2000, 2037),
)
def test_rules_name_the_actual_transitions(zone: str, year: int) -> None:
    tz = ZoneInfo(zone)
    params = local_time_parameters(tz, year)
    assert params.dst_start_rule != 0xFFFFFFFF
    for rule, jump in (
        (params.dst_start_rule, params.dst_offset),
        (params.dst_end_rule, -params.dst_offset),
    ):
        wall = decode_rule(rule, year)
        before = params.tz_offset + (params.dst_offset if jump < 0 else 0)
        instant = int(wall.timestamp()) - before
        assert datetime.fromtimestamp(instant - 1, tz).utcoffset() == timedelta(seconds=before)
        assert datetime.fromtimestamp(instant, tz).utcoffset() == timedelta(seconds=before + jump)


# -- local blocks ----------------------------------------------------------------------------

ZONES = st.sampled_from(["America/New_York", "Europe/Berlin", "America/Los_Angeles", "UTC"])


@st.composite
def reading_streams(draw: st.DrawFn) -> list[Reading]:
    """Sorted readings of one length (sub-daily or daily), with gaps, around DST changes."""
    duration = draw(st.sampled_from([300, 900, 3600, 86_400]))
    start = draw(st.integers(1_699_000_000, 1_712_000_000)) // duration * duration
    steps = draw(st.lists(st.integers(1, 40), min_size=1, max_size=200))
    rows: list[Reading] = []
    for step in steps:
        start += step * duration // 4 if duration < 86_400 else step * 3600
        # Daily readings on DST days are 23 or 25 hours long; they still go into months.
        length = duration if duration < 86_400 else draw(st.sampled_from([82_800, 86_400, 90_000]))
        rows.append((start, length, step, None, None))
    return rows


@settings(max_examples=200, deadline=None)
@given(rows=reading_streams(), zone_name=ZONES)
def test_every_reading_in_exactly_one_local_block(rows: list[Reading], zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    blocks = list(local_blocks(iter(rows), zone))
    assert [row for _, _, block in blocks for row in block] == rows
    starts = [start for start, _, _ in blocks]
    assert starts == sorted(set(starts))
    for start, length, block in blocks:
        local = datetime.fromtimestamp(start, zone)
        assert (local.hour, local.minute, local.second) == (0, 0, 0)
        if block[0][1] < 82_800:
            after = local.date() + timedelta(days=1)
            assert length in {82_800, 86_400, 90_000}
        else:
            assert local.day == 1
            after = (local.date().replace(day=28) + timedelta(days=4)).replace(day=1)
        assert start + length == to_epoch(local_midnight(after, zone))
        assert all(start <= row[0] < start + length for row in block)


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        (NEW_YORK, date(2024, 3, 10), 82_800),
        (NEW_YORK, date(2024, 11, 3), 90_000),
        (BERLIN, date(2024, 3, 31), 82_800),
        (BERLIN, date(2024, 10, 27), 90_000),
        (BERLIN, date(2024, 7, 1), 86_400),
    ],
)
def test_dst_day_blocks(zone: ZoneInfo, day: date, length: int) -> None:
    rows = quarter_hours(zone, day, 1, cost=False, quality=False)
    assert len(rows) == length // 900
    [(start, duration, block)] = list(local_blocks(rows, zone))
    assert (start, duration, len(block)) == (to_epoch(local_midnight(day, zone)), length, len(rows))


def test_month_blocks_of_daily_readings() -> None:
    rows = daily(BERLIN, date(2024, 2, 1), 60)
    blocks = list(local_blocks(rows, BERLIN))
    assert [(len(block), duration) for _, duration, block in blocks] == [
        (29, 29 * 86_400),
        (31, 31 * 86_400 - 3600),
    ]


def test_local_blocks_streams_and_refuses_disorder() -> None:
    endless = ((1_700_000_000 + 900 * i, 900, i, None, None) for i in itertools.count())
    blocks = local_blocks(endless, NEW_YORK)
    assert isinstance(blocks, types.GeneratorType)
    first = next(blocks)
    second = next(blocks)
    assert len(second[2]) == 96
    assert first[0] + first[1] == second[0]
    backwards = [(1_700_000_000, 900, 1, None, None), (1_600_000_000, 900, 2, None, None)]
    with pytest.raises(ValueError, match="sorted"):
        list(local_blocks(backwards, NEW_YORK))
