"""The streaming ESPI import parser against every shared sample, hostile input and big feeds.

Expected figures are computed independently of the parser: the whole file is parsed with
plain ``lxml.etree.parse`` and read with XPath, and IntervalBlocks are grouped under their
MeterReading by the block's ``up`` link (or its ``self`` link, for feeds that link blocks
directly) found among the MeterReading's ``related`` links.
"""

from __future__ import annotations

import io
import tracemalloc
import uuid
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from lxml import etree

from opencustodian.domain.ingest import (
    ImportRejectedError,
    SourceMeterReading,
    SourceReadings,
    SourceRecord,
    SourceServicePoint,
    SourceWarning,
)
from opencustodian.domain.metering import Commodity, Reading
from opencustodian.kit.ids import stable_uuid
from opencustodian.protocols.espi.parser import parse_espi_feed
from tests.samples import SAMPLES

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NS = {"a": "http://www.w3.org/2005/Atom", "e": "http://naesb.org/espi"}
SAMPLE_NAMES = sorted(path.name for path in SAMPLES.iterdir() if path.is_file())
REJECTED = {
    "ApplicationInformation-Entry-Anonymized.xml": "(it is an ApplicationInformation document)",
    "Authorization-Entry-Anonymized.xml": "(it is an Authorization document)",
    "Customer-Subscription-Feed-Anonymized.xml": "Customer",
}


# -- helpers ---------------------------------------------------------------------------------


@dataclass
class Parsed:
    """Everything one parse yielded, grouped, with a check of dependency order."""

    records: list[SourceRecord]
    service_points: dict[str, SourceServicePoint] = field(default_factory=dict)
    meter_readings: dict[str, SourceMeterReading] = field(default_factory=dict)
    readings: dict[str, list[Reading]] = field(default_factory=lambda: defaultdict(list))
    batches: dict[str, list[list[Reading]]] = field(default_factory=lambda: defaultdict(list))
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for record in self.records:
            if isinstance(record, SourceServicePoint):
                assert record.key not in self.service_points, "a service point is yielded once"
                self.service_points[record.key] = record
            elif isinstance(record, SourceMeterReading):
                assert record.service_point_key in self.service_points, "service point first"
                assert record.key not in self.meter_readings, "a meter reading is yielded once"
                self.meter_readings[record.key] = record
            elif isinstance(record, SourceReadings):
                assert record.meter_reading_key in self.meter_readings, "meter reading first"
                self.readings[record.meter_reading_key].extend(record.readings)
                self.batches[record.meter_reading_key].append(record.readings)
            elif isinstance(record, SourceWarning):
                self.warnings.append(record.message)


def parse_bytes(data: bytes, **options: int) -> Parsed:
    return Parsed(list(parse_espi_feed(io.BytesIO(data), **options)))


def parse_path(path: Path) -> Parsed:
    with path.open("rb") as stream:
        return Parsed(list(parse_espi_feed(stream)))


def yielded_before_error(data: bytes, **options: int) -> tuple[list[SourceRecord], str]:
    """The records a parse yielded before it raised, and the error message."""
    records: list[SourceRecord] = []
    with pytest.raises(ImportRejectedError) as raised:  # noqa: PT012 - collecting is the point
        for record in parse_espi_feed(io.BytesIO(data), **options):
            records.append(record)  # noqa: PERF402 - the loop must stop where the parser raises
    return records, str(raised.value)


def epoch_of(text: str) -> int:
    """Whole epoch seconds of an ESPI TimeType text, fractional exports truncated."""
    return int(Decimal(text.strip()))


def elements(node: etree._Element, path: str) -> list[etree._Element]:
    found = node.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return [item for item in found if isinstance(item, etree._Element)]


def strings(node: etree._Element, path: str) -> list[str]:
    found = node.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return [str(item) for item in found]


def string(node: etree._Element, path: str) -> str:
    found = node.xpath(f"string({path})", namespaces=NS)
    assert isinstance(found, str)
    return found


def independent_readings(path: Path) -> dict[str, list[tuple[int, int, int, int | None]]]:
    """Per MeterReading self href: its (start, duration, value, cost) rows, in file order."""
    root = etree.parse(str(path)).getroot()
    entries = [root] if root.tag == f"{{{NS['a']}}}entry" else elements(root, "a:entry")
    related_of: dict[str, set[str]] = {}
    blocks: list[tuple[set[str], etree._Element]] = []
    for entry in entries:
        self_href = "".join(strings(entry, "a:link[@rel='self']/@href"))
        if elements(entry, "a:content/e:MeterReading"):
            related_of[self_href] = set(strings(entry, "a:link[@rel='related']/@href"))
        hrefs = set(strings(entry, "a:link[@rel='up']/@href")) | {self_href}
        blocks.extend((hrefs, block) for block in elements(entry, "a:content/e:IntervalBlock"))
    rows: dict[str, list[tuple[int, int, int, int | None]]] = defaultdict(list)
    for hrefs, block in blocks:
        owner = next(mr for mr, related in related_of.items() if hrefs & related)
        for reading in elements(block, "e:IntervalReading"):
            cost = string(reading, "e:cost")
            rows[owner].append(
                (
                    epoch_of(string(reading, "e:timePeriod/e:start")),
                    int(string(reading, "e:timePeriod/e:duration")),
                    int(string(reading, "e:value")),
                    int(cost) if cost else None,
                )
            )
    return rows


# -- every sample ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_parses_or_is_rejected_naming_the_problem(name: str) -> None:
    path = SAMPLES / name
    if name in REJECTED:
        with pytest.raises(ImportRejectedError, match="contains no UsagePoint") as raised:
            parse_path(path)
        assert REJECTED[name] in str(raised.value)
        assert "only usage feeds can be imported" in str(raised.value)
        return
    parsed = parse_path(path)
    expected = independent_readings(path)
    assert parsed.meter_readings
    assert set(parsed.readings) == set(expected)
    for key, rows in expected.items():
        got = [
            (start, duration, value, cost)
            for start, duration, value, cost, _ in parsed.readings[key]
        ]
        assert got == rows, key


def test_readings_keep_quality_of_the_first_reading_quality() -> None:
    parsed = parse_path(SAMPLES / "test_usage_data.xml")
    (rows,) = parsed.readings.values()
    assert rows[:3] == [
        (1330578000, 900, 282, 974, 8),
        (1330578900, 900, 323, 965, 7),
        (1330579800, 900, 294, 884, None),
    ]
    assert sum(1 for row in rows if row[4] is not None) > 0


def test_dst_spring_forward_block_sums_to_23_hours() -> None:
    path = SAMPLES / "test_usage_data.xml"
    root = etree.parse(str(path)).getroot()
    (short_start,) = strings(
        root, "//e:IntervalBlock/e:interval[e:duration = 82800]/e:start/text()"
    )
    parsed = parse_path(path)
    (batches,) = parsed.batches.values()
    (block,) = [batch for batch in batches if batch[0][0] == int(short_start)]
    assert sum(reading[1] for reading in block) == 82_800
    assert len(block) == 92
    assert len(batches) == 14


def test_usage_point_and_meter_reading_keep_their_feed_identity() -> None:
    parsed = parse_path(SAMPLES / "test_usage_data.xml")
    (point,) = parsed.service_points.values()
    assert point.key == "/espi/1_1/resource/RetailCustomer/9B6C7066/UsagePoint/5446AF3F"
    # The feed's random (v4) id seeds a name-based one: the same in every import and export.
    source_id = uuid.UUID("48C2A019-5598-4E16-B0F9-49E4FF27F5FB")
    assert point.uuid == stable_uuid("espi-import", source_id.urn)
    assert point.uuid.version == 5
    assert point.commodity is Commodity.ELECTRICITY
    assert point.title == "Front Electric Meter"
    (meter_reading,) = parsed.meter_readings.values()
    assert meter_reading.title == "Fifteen Minute Electricity Consumption"
    reading_type = meter_reading.reading_type
    assert (reading_type.uom, reading_type.kind, reading_type.interval_length) == (72, 12, 900)
    assert (reading_type.currency, reading_type.accumulation_behaviour) == (840, 4)
    assert (reading_type.phase, reading_type.data_qualifier, reading_type.time_attribute) == (
        769,
        12,
        0,
    )
    assert parsed.warnings == []


def test_gas_is_in_millitherms() -> None:
    parsed = parse_path(SAMPLES / "Gas.xml")
    (point,) = parsed.service_points.values()
    assert point.commodity is Commodity.GAS
    (meter_reading,) = parsed.meter_readings.values()
    reading_type = meter_reading.reading_type
    assert (reading_type.uom, reading_type.power_of_ten_multiplier) == (169, -3)
    assert (reading_type.commodity, reading_type.interval_length) == (7, 2_678_400)
    assert any(reading[1] == 2_595_600 for reading in parsed.readings[meter_reading.key])


def test_three_usage_points_and_a_reverse_register_reading() -> None:
    parsed = parse_path(SAMPLES / "threeusagepointsonecustomer.xml")
    assert len(parsed.service_points) == 3
    assert len(parsed.meter_readings) == 4
    types = {key: record.reading_type for key, record in parsed.meter_readings.items()}
    (reverse,) = [key for key, reading_type in types.items() if reading_type.flow_direction == 19]
    assert types[reverse].power_of_ten_multiplier == -5
    assert types[reverse].accumulation_behaviour == 1
    assert reverse.endswith("/UsagePoint/1/MeterReading/2")
    assert sorted(rt.power_of_ten_multiplier for rt in types.values()) == [-5, 3, 3, 3]
    owners = {record.service_point_key for record in parsed.meter_readings.values()}
    assert owners == set(parsed.service_points)


def test_water_keeps_its_kilogallons() -> None:
    parsed = parse_path(SAMPLES / "Water.xml")
    (point,) = parsed.service_points.values()
    assert point.commodity is Commodity.WATER
    (meter_reading,) = parsed.meter_readings.values()
    assert meter_reading.reading_type.uom == 128
    assert meter_reading.reading_type.power_of_ten_multiplier == 3


def test_ngma_quirks_are_tolerated_and_reported() -> None:
    parsed = parse_path(SAMPLES / "ngma_gas_provider_2024-07-16.xml")
    (point,) = parsed.service_points.values()
    assert point.commodity is None
    assert point.uuid == stable_uuid("espi-import", point.key)
    (meter_reading,) = parsed.meter_readings.values()
    assert meter_reading.uuid == stable_uuid("espi-import", meter_reading.key)
    assert meter_reading.reading_type.uom is None
    rows = parsed.readings[meter_reading.key]
    assert len(rows) == 36
    assert {row[0] for row in rows} == {1721154384}
    text = "\n".join(parsed.warnings)
    assert "has no ServiceCategory kind" in text
    assert "has no uom" in text
    assert text.count("its uuid is derived") == 2
    assert "35 of its 36 IntervalReadings repeat a start" in text
    assert "the last reading for each start is kept" in text
    assert "36 IntervalReading starts had fractional seconds" in text


def test_directly_linked_blocks_without_up_links_are_found() -> None:
    name = "ngma_natural_gas_billing_billing_data_Service_1_1_2021-05-26_to_2024-04-25.xml"
    parsed = parse_path(SAMPLES / name)
    (point,) = parsed.service_points.values()
    assert point.commodity is Commodity.GAS
    (key,) = parsed.readings
    assert len(parsed.readings[key]) == 35
    assert parsed.meter_readings[key].reading_type.uom == 169


# -- cross-check with an independent parser --------------------------------------------------


def _greenbutton_objects(path: Path) -> dict[str, list[tuple[int, float, float | None]]] | None:
    """greenbutton-objects' view: per MeterReading self href, (start, scaled value, cost)."""
    from greenbutton_objects import parse  # noqa: PLC0415 - only this test needs it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            usage_points = parse.parse_feed(str(path))
        except Exception:  # noqa: BLE001 - it crashes on valid codes (quality 19, enums)
            return None
    result: dict[str, list[tuple[int, float, float | None]]] = {}
    for usage_point in usage_points:
        for meter_reading in usage_point.meterReadings:
            result[meter_reading.link_self] = sorted(
                (int(reading.timePeriod.start.timestamp()), reading.value, reading.cost)
                for reading in meter_reading.intervalReadings
            )
    return result


def test_agrees_with_greenbutton_objects() -> None:
    checked = 0
    for name in SAMPLE_NAMES:
        theirs = _greenbutton_objects(SAMPLES / name)
        if not theirs or name in REJECTED:
            continue
        parsed = parse_path(SAMPLES / name)
        for key, their_rows in theirs.items():
            multiplier = parsed.meter_readings[key].reading_type.power_of_ten_multiplier
            ours = sorted(
                (start, value * 10.0**multiplier, None if cost is None else cost / 100_000)
                for start, _, value, cost, _ in parsed.readings[key]
            )
            assert len(ours) == len(their_rows), (name, key)
            for (start, value, cost), (their_start, their_value, their_cost) in zip(
                ours, their_rows, strict=True
            ):
                assert start == their_start
                assert value == pytest.approx(their_value)
                assert cost == pytest.approx(their_cost)
        checked += 1
    assert checked >= 3


# -- hostile and broken input ----------------------------------------------------------------

BILLION_LAUGHS_FEED = (
    b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    b'<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">'
    b'<!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>\n'
    b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&i;</title></entry></feed>'
)
BILLION_LAUGHS_LOLZ = BILLION_LAUGHS_FEED.replace(
    b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&i;</title></entry></feed>',
    b"<lolz>&i;</lolz>",
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&xxe;</title></entry></feed>'
)


def _doctype_with_a_usage_feed() -> bytes:
    """A real feed behind a harmless DOCTYPE: refused before the first record."""
    feed = (SAMPLES / "test_usage_data.xml").read_bytes()
    return feed.replace(b"<feed ", b"<!DOCTYPE feed>\n<feed ", 1)


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS_FEED, BILLION_LAUGHS_LOLZ, EXTERNAL_ENTITY, _doctype_with_a_usage_feed()],
    ids=["billion-laughs", "billion-laughs-lolz-root", "external-entity", "doctype-usage-feed"],
)
def test_doctype_is_refused_before_any_record(document: bytes) -> None:
    records, message = yielded_before_error(document)
    assert records == []
    assert "DOCTYPE" in message


def test_truncated_file_is_rejected_where_it_ends() -> None:
    whole = (SAMPLES / "test_usage_data.xml").read_bytes()
    _, message = yielded_before_error(whole[: len(whole) // 2])
    assert "not well-formed XML at line" in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b"\x00\x01\x02 not xml at all", "not well-formed XML"),
        (b"<feed><entry>\x00\x01garbage", "not well-formed XML"),
        (b"", "the file is empty"),
        (b"<html><body>hello</body></html>", "its root element is <html>"),
        (b'<feed xmlns="urn:other"><entry/></feed>', "not an Atom feed or entry"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "(it is an empty document)"),
    ],
)
def test_non_feeds_are_rejected(document: bytes, expected: str) -> None:
    _, message = yielded_before_error(document)
    assert expected in message


def test_oversized_input_is_rejected() -> None:
    feed = (SAMPLES / "test_usage_data.xml").read_bytes()
    _, message = yielded_before_error(feed, max_bytes=50_000)
    assert "larger than the limit of 50,000 bytes" in message


# -- link graph and quirks, on small synthetic feeds -----------------------------------------

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
BASE = "/espi/1_1/resource/RetailCustomer/1/UsagePoint/1"
READING_TYPE = (
    "<ReadingType><commodity>1</commodity><kind>12</kind><uom>72</uom>"
    "<powerOfTenMultiplier>0</powerOfTenMultiplier><intervalLength>900</intervalLength>"
    "</ReadingType>"
)


def entry(
    self_href: str | None,
    content: str,
    *,
    up: str | None = None,
    related: tuple[str, ...] = (),
    atom_id: str | None = None,
) -> str:
    links = "".join(f'<link rel="related" href="{href}"/>' for href in related)
    if self_href:
        links += f'<link rel="self" href="{self_href}"/>'
    if up:
        links += f'<link rel="up" href="{up}"/>'
    identifier = f"<id>urn:uuid:{atom_id or uuid.uuid4()}</id>"
    return f'<entry>{identifier}{links}<content xmlns:x="{ESPI}">{content}</content></entry>'


def usage_point_entry(
    kind: str = "0",
    *,
    self_href: str = BASE,
    related: tuple[str, ...] = (f"{BASE}/MeterReading",),
    atom_id: str | None = None,
) -> str:
    return entry(
        self_href,
        f'<UsagePoint xmlns="{ESPI}"><ServiceCategory><kind>{kind}</kind></ServiceCategory>'
        "</UsagePoint>",
        related=related,
        atom_id=atom_id,
    )


def meter_reading_entry(*, related: tuple[str, ...] | None = None) -> str:
    links = related or (f"{BASE}/MeterReading/1/IntervalBlock", "/espi/1_1/resource/ReadingType/1")
    return entry(
        f"{BASE}/MeterReading/1",
        f'<MeterReading xmlns="{ESPI}"/>',
        up=f"{BASE}/MeterReading",
        related=links,
    )


def reading_type_entry(body: str = READING_TYPE) -> str:
    return entry(
        "/espi/1_1/resource/ReadingType/1",
        body.replace("<ReadingType>", f'<ReadingType xmlns="{ESPI}">'),
    )


def interval_reading(start: int, value: str, extra: str = "") -> str:
    return (
        f"<IntervalReading>{extra}<timePeriod><duration>900</duration><start>{start}</start>"
        f"</timePeriod><value>{value}</value></IntervalReading>"
    )


def block_entry(number: int, readings: str, *, up: str | None = None) -> str:
    start = 1_700_000_000 + number * 86_400
    return entry(
        f"{BASE}/MeterReading/1/IntervalBlock/{number}",
        f'<IntervalBlock xmlns="{ESPI}"><interval><duration>86400</duration>'
        f"<start>{start}</start></interval>{readings}</IntervalBlock>",
        up=up or f"{BASE}/MeterReading/1/IntervalBlock",
    )


def day_of_readings(number: int, extra: str = "") -> str:
    """96 quarter-hour readings of day ``number`` (the day ``block_entry(number)`` covers)."""
    start = 1_700_000_000 + number * 86_400
    return "".join(
        interval_reading(start + i * 900, str((number * 97 + i * 13) % 5000), extra)
        for i in range(96)
    )


def simple_block(number: int, count: int = 4) -> str:
    start = 1_700_000_000 + number * 86_400
    return block_entry(
        number, "".join(interval_reading(start + i * 900, str(i)) for i in range(count))
    )


def feed(*entries: str, feed_id: str | None = None) -> bytes:
    identifier = f"<id>urn:uuid:{feed_id or uuid.uuid4()}</id>"
    return f'<feed xmlns="{ATOM}">{identifier}{"".join(entries)}</feed>'.encode()


def test_entries_in_any_order_come_out_in_dependency_order() -> None:
    entries = [
        usage_point_entry(),
        meter_reading_entry(),
        reading_type_entry(),
        simple_block(0),
        simple_block(1),
    ]
    forward = parse_bytes(feed(*entries))
    backward = parse_bytes(feed(*reversed(entries)))
    assert len(forward.readings[f"{BASE}/MeterReading/1"]) == 8
    assert (
        sorted(backward.readings[f"{BASE}/MeterReading/1"])
        == forward.readings[f"{BASE}/MeterReading/1"]
    )
    assert backward.meter_readings == forward.meter_readings


def test_blocks_stream_once_their_meter_reading_is_known() -> None:
    document = feed(
        usage_point_entry(), meter_reading_entry(), reading_type_entry(), simple_block(0)
    )
    kinds = [type(record).__name__ for record in parse_espi_feed(io.BytesIO(document))]
    assert kinds == ["SourceServicePoint", "SourceMeterReading", "SourceReadings"]


def test_absolute_and_relative_hrefs_link_up() -> None:
    host = "https://utility.example.com"
    document = feed(
        usage_point_entry(related=(f"{host}{BASE}/MeterReading",)),
        meter_reading_entry(),
        reading_type_entry(),
        block_entry(
            0,
            interval_reading(1_700_000_000, "5"),
            up=f"{host}{BASE}/MeterReading/1/IntervalBlock/",
        ),
    )
    parsed = parse_bytes(document)
    assert parsed.readings[f"{BASE}/MeterReading/1"] == [(1_700_000_000, 900, 5, None, None)]


def test_usage_point_found_by_self_href_prefix() -> None:
    document = feed(
        usage_point_entry(related=()), meter_reading_entry(), reading_type_entry(), simple_block(0)
    )
    parsed = parse_bytes(document)
    assert parsed.meter_readings[f"{BASE}/MeterReading/1"].service_point_key == BASE


def test_block_of_no_meter_reading_is_rejected() -> None:
    stray = entry(
        "/somewhere/else/IntervalBlock/7",
        f'<IntervalBlock xmlns="{ESPI}">{interval_reading(1, "1")}</IntervalBlock>',
        up="/somewhere/else/IntervalBlock",
    )
    document = feed(usage_point_entry(), meter_reading_entry(), reading_type_entry(), stray)
    _, message = yielded_before_error(document)
    assert "belongs to no MeterReading" in message
    assert "/somewhere/else/IntervalBlock" in message


def test_meter_reading_with_readings_but_no_reading_type_is_rejected() -> None:
    document = feed(usage_point_entry(), meter_reading_entry(), simple_block(0))
    _, message = yielded_before_error(document)
    assert "links no ReadingType" in message


def test_meter_reading_without_readings_or_reading_type_is_skipped_with_a_warning() -> None:
    parsed = parse_bytes(feed(usage_point_entry(), meter_reading_entry()))
    assert parsed.meter_readings == {}
    assert len(parsed.service_points) == 1
    assert any("skipped: MeterReading" in warning for warning in parsed.warnings)


def test_meter_reading_of_no_usage_point_with_readings_is_rejected() -> None:
    other = usage_point_entry(
        self_href="/other/UsagePoint/9", related=("/other/UsagePoint/9/MeterReading",)
    )
    document = feed(other, meter_reading_entry(), reading_type_entry(), simple_block(0))
    _, message = yielded_before_error(document)
    assert "belongs to no UsagePoint" in message


def test_an_id_reused_from_the_feed_gives_a_derived_uuid_with_a_warning() -> None:
    shared = "11111111-2222-4333-8444-555555555555"
    document = feed(
        usage_point_entry(atom_id=shared),
        meter_reading_entry(),
        reading_type_entry(),
        simple_block(0),
        feed_id=shared,
    )
    parsed = parse_bytes(document)
    assert parsed.service_points[BASE].uuid == stable_uuid("espi-import", BASE)
    assert any("occurs 2 times" in warning for warning in parsed.warnings)
    meter_reading = parsed.meter_readings[f"{BASE}/MeterReading/1"]
    assert meter_reading.uuid != stable_uuid("espi-import", meter_reading.key)


def test_non_uuid_atom_id_gives_a_derived_uuid() -> None:
    document = feed(usage_point_entry()).replace(b"<id>urn:uuid:", b"<id>tag:example.com,2024:", 2)
    parsed = parse_bytes(document)
    assert parsed.service_points[BASE].uuid == stable_uuid("espi-import", BASE)
    assert any("not a urn:uuid" in warning for warning in parsed.warnings)


@pytest.mark.parametrize(
    ("kind", "commodity"),
    [("0", Commodity.ELECTRICITY), ("1", Commodity.GAS), ("2", Commodity.WATER)],
)
def test_service_kind_gives_the_commodity(kind: str, commodity: Commodity) -> None:
    parsed = parse_bytes(feed(usage_point_entry(kind)))
    assert parsed.service_points[BASE].commodity is commodity
    assert parsed.warnings == []


@pytest.mark.parametrize("kind", ["", "4", "heat"])
def test_other_service_kinds_warn(kind: str) -> None:
    parsed = parse_bytes(feed(usage_point_entry(kind)))
    assert parsed.service_points[BASE].commodity is None
    assert len(parsed.warnings) == 1


def test_every_reading_type_field_is_read() -> None:
    names = [
        "accumulationBehaviour", "aggregate", "commodity", "consumptionTier", "cpp", "currency",
        "dataQualifier", "defaultQuality", "flowDirection", "intervalLength", "kind",
        "measuringPeriod", "phase", "powerOfTenMultiplier", "timeAttribute", "tou", "uom",
    ]  # fmt: skip
    body = (
        "<ReadingType>"
        + "".join(f"<{n}>{i + 1}</{n}>" for i, n in enumerate(names))
        + "</ReadingType>"
    )
    parsed = parse_bytes(feed(usage_point_entry(), meter_reading_entry(), reading_type_entry(body)))
    reading_type = parsed.meter_readings[f"{BASE}/MeterReading/1"].reading_type
    assert reading_type.accumulation_behaviour == 1
    assert reading_type.aggregate == 2
    assert reading_type.consumption_tier == 4
    assert reading_type.cpp == 5
    assert reading_type.default_quality == 8
    assert reading_type.measuring_period == 12
    assert reading_type.power_of_ten_multiplier == 14
    assert reading_type.uom == 17


def test_readings_without_time_period_follow_the_interval_length() -> None:
    readings = "".join(f"<IntervalReading><value>{v}</value></IntervalReading>" for v in (7, 8, 9))
    document = feed(
        usage_point_entry(), meter_reading_entry(), reading_type_entry(), block_entry(0, readings)
    )
    parsed = parse_bytes(document)
    start = 1_700_000_000
    assert parsed.readings[f"{BASE}/MeterReading/1"] == [
        (start, 900, 7, None, None),
        (start + 900, 900, 8, None, None),
        (start + 1800, 900, 9, None, None),
    ]


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (interval_reading(1_700_000_000, "12.5"), "value '12.5' is not an integer"),
        (interval_reading(1_700_000_000, "abc"), "value 'abc' is not an integer"),
        (
            "<IntervalReading><timePeriod><duration>900</duration><start>1</start></timePeriod></IntervalReading>",
            "has no value",
        ),
        (interval_reading(1_700_000_000, str(2**50)), "outside"),
        (interval_reading(1_700_000_000, "1", "<cost>1.5</cost>"), "cost '1.5' is not an integer"),
        (
            "<IntervalReading><timePeriod><duration>0</duration><start>1</start></timePeriod><value>1</value></IntervalReading>",
            "duration 0 is not positive",
        ),
        (
            "<IntervalReading><timePeriod><duration>900</duration><start>soon</start></timePeriod><value>1</value></IntervalReading>",
            "start 'soon' is not epoch seconds",
        ),
        (
            "<IntervalReading><value>1</value><value>2</value></IntervalReading>",
            "has 2 value elements",
        ),
    ],
)
def test_bad_readings_are_rejected_naming_the_line(reading: str, expected: str) -> None:
    document = feed(
        usage_point_entry(), meter_reading_entry(), reading_type_entry(), block_entry(0, reading)
    )
    _, message = yielded_before_error(document)
    assert expected in message
    assert message.startswith("line 1:")


def test_unknown_quality_codes_become_none_with_a_warning() -> None:
    readings = interval_reading(
        1_700_000_000, "1", "<ReadingQuality><quality>5</quality></ReadingQuality>"
    )
    document = feed(
        usage_point_entry(), meter_reading_entry(), reading_type_entry(), block_entry(0, readings)
    )
    parsed = parse_bytes(document)
    assert parsed.readings[f"{BASE}/MeterReading/1"] == [(1_700_000_000, 900, 1, None, None)]
    assert any("outside espi.xsd QualityOfReading" in warning for warning in parsed.warnings)


def test_a_bare_usage_point_entry_is_a_document() -> None:
    document = usage_point_entry().replace("<entry>", f'<entry xmlns="{ATOM}">', 1).encode()
    parsed = parse_bytes(document)
    assert list(parsed.service_points) == [BASE]


def test_prefixes_do_not_matter_only_namespaces() -> None:
    document = (
        f'<a:feed xmlns:a="{ATOM}" xmlns:n="{ESPI}"><a:entry><a:id>urn:uuid:{uuid.uuid4()}</a:id>'
        f'<a:link rel="self" href="{BASE}"/><a:content><n:UsagePoint><n:ServiceCategory>'
        "<n:kind>1</n:kind></n:ServiceCategory></n:UsagePoint></a:content></a:entry></a:feed>"
    ).encode()
    assert parse_bytes(document).service_points[BASE].commodity is Commodity.GAS
    wrong_namespace = document.replace(ESPI.encode(), b"http://example.com/not-espi")
    _, message = yielded_before_error(wrong_namespace)
    assert "contains no UsagePoint" in message


def test_customer_entries_beside_usage_data_are_skipped_with_a_warning() -> None:
    customer = entry("/customer/1", '<Customer xmlns="http://naesb.org/espi/customer"/>')
    parsed = parse_bytes(feed(usage_point_entry(), customer))
    assert any("skipped 1 customer Customer entry" in warning for warning in parsed.warnings)


def test_duplicate_self_hrefs_are_rejected() -> None:
    _, message = yielded_before_error(feed(usage_point_entry(), usage_point_entry()))
    assert "have the same self href" in message


# -- flat memory -----------------------------------------------------------------------------


def _write_big_feed(path: Path, target_bytes: int) -> int:
    """A ~``target_bytes`` feed of daily 15-minute blocks, generated entry by entry."""
    extra = "<cost>123</cost><ReadingQuality><quality>17</quality></ReadingQuality>"
    count = 0
    with path.open("w", encoding="utf-8") as stream:
        stream.write(
            f'<?xml version="1.0"?>\n<feed xmlns="{ATOM}"><id>urn:uuid:{uuid.uuid4()}</id>\n'
        )
        stream.write(usage_point_entry() + meter_reading_entry() + reading_type_entry() + "\n")
        day = 0
        while stream.tell() < target_bytes:
            stream.write(block_entry(day, day_of_readings(day, extra)) + "\n")
            count += 96
            day += 1
        stream.write("</feed>\n")
    return count


def _consume(path: Path) -> Iterator[int]:
    with path.open("rb") as stream:
        for record in parse_espi_feed(stream):
            if isinstance(record, SourceReadings):
                yield len(record.readings)


def test_a_30_mb_feed_streams_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    written = _write_big_feed(path, 30 * 1024 * 1024)
    assert path.stat().st_size >= 30 * 1024 * 1024
    tracemalloc.start()
    try:
        total = sum(_consume(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == written
    assert peak < 20 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"
