"""``opencustodian export --format csv``: every stored reading, in everyday units, exactly.

The values are checked against the database independently of the writer's own unit code: the
test converts with its own factors (1 kWh = 1,000 Wh, 1 CCF = 100 ft³, cost in 10⁻⁵ dollars)
and compares row by row and by per-channel sums. The CSV must also hold exactly the readings
of the XML export of the same request.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from opencustodian.cli import app
from opencustodian.storage.models import Meter, MeterReading, ServicePoint, interval_readings
from tests.custodian import seed_small_utility

ESPI = "{http://naesb.org/espi}"
ACCOUNT = "4000000119"  # customer0001: a solar home (forward, reverse, net) and hourly gas
FACTORS = {"kWh": Decimal(1000), "CCF": Decimal(100)}
COST_FACTOR = Decimal(100_000)
RANGE = ("--from", "2026-10-29", "--to", "2026-11-01")


@pytest.fixture
def cli(monkeypatch):
    runner = CliRunner()

    def invoke(database_url: str, *args: str):
        monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", database_url)
        return runner.invoke(app, list(args))

    return invoke


def stored(engine) -> dict[tuple[str, str], list[tuple[int, int, int, int | None, int | None]]]:
    """The account's readings as the database holds them, by (service point, channel)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ServicePoint.uuid,
                MeterReading.channel,
                interval_readings.c.start,
                interval_readings.c.duration,
                interval_readings.c.value,
                interval_readings.c.cost,
                interval_readings.c.quality,
            )
            .join(MeterReading, MeterReading.service_point_id == ServicePoint.id)
            .join(interval_readings, interval_readings.c.meter_reading_id == MeterReading.id)
            .where(ServicePoint.id.in_([1, 2]))
            .order_by(interval_readings.c.start)
        ).all()
    grouped: dict[tuple[str, str], list[tuple[int, int, int, int | None, int | None]]] = (
        defaultdict(list)
    )
    for point, channel, start, duration, value, cost, quality in rows:
        grouped[str(point), channel].append((start, duration, value, cost, quality))
    return dict(grouped)


def exported_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_holds_every_reading_in_kwh_and_ccf_with_costs(
    cli, database_url, engine, tmp_path
):
    seed_small_utility(engine)
    out = tmp_path / "download.csv"
    result = cli(
        database_url, "export", "-o", str(out), "--account", ACCOUNT, *RANGE, "--format", "csv"
    )
    assert result.exit_code == 0, result.output
    text = out.read_bytes().decode("utf-8")
    assert text.startswith(
        "service_point,meter,channel,start,duration,value,unit,cost,currency,quality\r\n"
    )
    rows = exported_rows(text)
    expected = stored(engine)
    assert {(point, channel) for point, channel in expected} == {
        (row["service_point"], row["channel"]) for row in rows
    }
    with engine.connect() as connection:
        meters = {
            str(point): number
            for point, number in connection.execute(
                select(ServicePoint.uuid, Meter.meter_number).join(Meter)
            )
        }
    got: dict[tuple[str, str], list[tuple[int, int, int, int | None, int | None]]] = defaultdict(
        list
    )
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        start = datetime.fromisoformat(row["start"])
        assert start.utcoffset() is not None, row["start"]  # local time *with* its offset
        factor = FACTORS[row["unit"]]
        raw = Decimal(row["value"]) * factor
        assert raw == raw.to_integral_value(), row  # exact, no float residue
        cost = int(Decimal(row["cost"]) * COST_FACTOR) if row["cost"] else None
        assert row["currency"] == ("USD" if cost is not None else "")
        assert row["meter"] == meters[row["service_point"]]
        key = (row["service_point"], row["channel"])
        got[key].append(
            (int(start.timestamp()), int(row["duration"]), int(raw), cost, int(row["quality"]))
        )
        sums[key] += Decimal(row["value"])
    assert dict(got) == expected
    for key, readings in expected.items():
        unit = "CCF" if key[0] == "00cc5526-b84a-52d8-973e-eefa401551e6" else "kWh"
        assert sums[key] == Decimal(sum(value for _, _, value, _, _ in readings)) / FACTORS[unit]
    assert {row["unit"] for row in rows} == {"kWh", "CCF"}
    assert {row["meter"] for row in rows} == {"E00000011", "G00000012"}


def test_csv_and_xml_exports_hold_the_same_readings(cli, database_url, engine, tmp_path):
    seed_small_utility(engine)
    xml_out, csv_out = tmp_path / "d.xml", tmp_path / "d.csv"
    for fmt, out in (("xml", xml_out), ("csv", csv_out)):
        result = cli(
            database_url, "export", "-o", str(out), "--account", ACCOUNT, *RANGE, "--format", fmt
        )
        assert result.exit_code == 0, result.output
    root = etree.fromstring(xml_out.read_bytes())
    from_xml = sorted(
        (
            int(reading.findtext(f"{ESPI}timePeriod/{ESPI}start") or ""),
            int(reading.findtext(f"{ESPI}value") or ""),
        )
        for reading in root.iter(f"{ESPI}IntervalReading")
    )
    from_csv = sorted(
        (
            int(datetime.fromisoformat(row["start"]).timestamp()),
            int(Decimal(row["value"]) * FACTORS[row["unit"]]),
        )
        for row in exported_rows(csv_out.read_text(encoding="utf-8"))
    )
    assert from_csv == from_xml
    assert len(from_csv) == sum(len(readings) for readings in stored(engine).values())


def test_an_unknown_format_is_refused(cli, database_url, tmp_path):
    result = cli(
        database_url, "export", "-o", str(tmp_path / "x"), "--account", "x", "--format", "pdf"
    )
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()
