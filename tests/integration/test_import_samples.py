"""Every shared Green Button sample either imports faithfully or is rejected precisely.

The expected figures are computed independently of the importer, straight from the XML with
lxml: which IntervalBlocks hang under which MeterReading (by their Atom links), how many
IntervalReadings each holds and what they sum to.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from opencustodian.cli import app
from opencustodian.kit.time import local_day_bounds
from opencustodian.storage.models import MeterReading, ReadingTypeRow, interval_readings
from tests.samples import SAMPLES

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"
SAMPLE_FILES = sorted(path.name for path in SAMPLES.glob("*.xml"))
NOT_USAGE_FEEDS = {
    "ApplicationInformation-Entry-Anonymized.xml": "ApplicationInformation",
    "Authorization-Entry-Anonymized.xml": "Authorization",
    "Customer-Subscription-Feed-Anonymized.xml": "Customer",
}


def run_import(database_url, monkeypatch, *paths):
    monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["import", "--json", *map(str, paths)])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines


def independent_readings(path):
    """Per MeterReading self href: {start: (value, cost)} of its readings, last one winning."""
    tree = etree.parse(str(path))
    entries = tree.getroot().iter(f"{ATOM}entry")
    meter_readings: dict[str, set[str]] = {}
    blocks: list[tuple[set[str], etree._Element]] = []
    for entry in entries:
        links = {
            (str(link.get("rel")), str(link.get("href"))) for link in entry.iter(f"{ATOM}link")
        }
        self_href = next(href for rel, href in links if rel == "self")
        if entry.find(f"{ATOM}content/{ESPI}MeterReading") is not None:
            meter_readings[self_href] = {href for rel, href in links if rel == "related"}
            meter_readings[self_href].add(f"{self_href}/IntervalBlock")
        for block in entry.iterfind(f"{ATOM}content/{ESPI}IntervalBlock"):
            # A block hangs under its MeterReading through its `up` collection, or (in some
            # real exports) the MeterReading links the block's own `self` href directly.
            names = {href for rel, href in links if rel in {"up", "self"}}
            blocks.append((names, block))
    readings: dict[str, dict[int, tuple[int, int | None]]] = defaultdict(dict)
    for names, block in blocks:
        owner = next((mr for mr, related in meter_readings.items() if names & related), None)
        if owner is None:
            continue
        for reading in block.iterfind(f"{ESPI}IntervalReading"):
            start = int(float(reading.findtext(f"{ESPI}timePeriod/{ESPI}start") or "nan"))
            cost = reading.findtext(f"{ESPI}cost")
            readings[owner][start] = (
                int(reading.findtext(f"{ESPI}value") or "nan"),
                None if cost is None else int(cost),
            )
    return readings


def stored_readings(engine):
    """Per stored meter reading: {start: (value, cost)}."""
    per_meter: dict[int, dict[int, tuple[int, int | None]]] = defaultdict(dict)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                interval_readings.c.meter_reading_id,
                interval_readings.c.start,
                interval_readings.c.value,
                interval_readings.c.cost,
            )
        )
        for meter_reading_id, start, value, cost in rows:
            per_meter[meter_reading_id][start] = (value, cost)
    return per_meter


def table_counts(engine):
    tables = ["service_points", "meter_readings", "reading_types", "interval_readings"]
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()  # noqa: S608
            for table in tables
        }


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_sample_imports_or_is_rejected_precisely(name, database_url, engine, monkeypatch):
    path = SAMPLES / name
    code, (outcome,) = run_import(database_url, monkeypatch, path)
    if name in NOT_USAGE_FEEDS:
        assert code == 1
        assert NOT_USAGE_FEEDS[name] in outcome["error"]
        assert "UsagePoint" in outcome["error"]
        assert set(table_counts(engine).values()) == {0}
        return
    assert code == 0, outcome
    expected = independent_readings(path)
    stored = stored_readings(engine)
    expected_shapes = sorted(sorted(readings.items()) for readings in expected.values() if readings)
    stored_shapes = sorted(sorted(readings.items()) for readings in stored.values())
    assert stored_shapes == expected_shapes
    assert outcome["readings_inserted"] == sum(map(len, expected.values()))

    code, (again,) = run_import(database_url, monkeypatch, path)
    assert code == 0
    assert again["readings_inserted"] == 0
    assert again["readings_updated"] == 0
    assert again["readings_unchanged"] == outcome["readings_inserted"]


def test_multipliers_and_units_are_preserved(database_url, engine, monkeypatch):
    run_import(
        database_url, monkeypatch, SAMPLES / "Gas.xml", SAMPLES / "threeusagepointsonecustomer.xml"
    )
    with engine.connect() as connection:
        types = {
            (row.uom, row.power_of_ten_multiplier, row.flow_direction)
            for row in connection.execute(select(ReadingTypeRow))
        }
    assert (169, -3, 1) in types  # Gas.xml: therms, 10^-3
    assert any(uom == 72 and multiplier == -5 and flow == 19 for uom, multiplier, flow in types)
    assert any(uom == 72 and multiplier == 3 for uom, multiplier, _ in types)


def test_dst_spring_forward_block_keeps_its_23_hours(database_url, engine, monkeypatch):
    run_import(database_url, monkeypatch, SAMPLES / "test_usage_data.xml")
    first, last = local_day_bounds(date(2012, 3, 11), ZoneInfo("America/New_York"))
    assert last - first == 82_800
    with engine.connect() as connection:
        count, seconds = connection.execute(
            select(func.count(), func.sum(interval_readings.c.duration)).where(
                interval_readings.c.start >= first, interval_readings.c.start < last
            )
        ).one()
    assert (count, seconds) == (92, 82_800)


def test_three_usage_points_become_three_service_points(database_url, engine, monkeypatch):
    _, (outcome,) = run_import(
        database_url, monkeypatch, SAMPLES / "threeusagepointsonecustomer.xml"
    )
    assert outcome["usage_points"] == 3
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(MeterReading)).scalar() == 4


def _hostile_files(tmp_path):
    whole = (SAMPLES / "test_usage_data.xml").read_bytes()
    files = {
        "billion_laughs.xml": b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&c;</title></feed>',
        "external_entity.xml": b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM '
        b'"file:///etc/passwd">]><feed xmlns="http://www.w3.org/2005/Atom"><title>&x;</title></feed>',
        "truncated.xml": whole[: len(whole) * 3 // 4],
        "not_xml.xml": b"<feed><entry>\x00\x01garbage",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return [tmp_path / name for name in files]


def test_hostile_and_truncated_files_change_nothing(database_url, engine, monkeypatch, tmp_path):
    run_import(database_url, monkeypatch, SAMPLES / "Gas.xml")
    before = table_counts(engine)
    code, outcomes = run_import(database_url, monkeypatch, *_hostile_files(tmp_path))
    assert code == 1
    assert len(outcomes) == 4
    assert all(outcome["error"] for outcome in outcomes)
    assert "DOCTYPE" in outcomes[0]["error"]
    assert "DOCTYPE" in outcomes[1]["error"]
    assert table_counts(engine) == before


def test_a_feed_that_rescales_a_stored_channel_is_rejected(
    database_url, engine, monkeypatch, tmp_path
):
    run_import(database_url, monkeypatch, SAMPLES / "Gas.xml")
    before = table_counts(engine)
    rescaled = tmp_path / "Gas-rescaled.xml"
    original = (SAMPLES / "Gas.xml").read_bytes()
    rescaled.write_bytes(original.replace(b"<powerOfTenMultiplier>-3", b"<powerOfTenMultiplier>-2"))
    code, (outcome,) = run_import(database_url, monkeypatch, rescaled)
    assert code == 1
    assert "10^-3" in outcome["error"]
    assert "10^-2" in outcome["error"]
    assert table_counts(engine) == before
