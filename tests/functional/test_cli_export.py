"""Download My Data from the command line: export, validate, import back (round trip)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from opencustodian.cli import app
from opencustodian.storage import db
from opencustodian.storage.models import MeterReading, ServicePoint, interval_readings
from tests.conformance.link_rules import certification_problems
from tests.samples import SAMPLES
from tests.xsd import schema_errors


@pytest.fixture
def cli(monkeypatch):
    runner = CliRunner()

    def invoke(database_url: str, *args: str):
        monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", database_url)
        return runner.invoke(app, list(args))

    return invoke


def readings_by_usage_point(engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored reading, keyed by service point id and channel uuid."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ServicePoint.uuid,
                MeterReading.uuid,
                interval_readings.c.start,
                interval_readings.c.duration,
                interval_readings.c.value,
                interval_readings.c.cost,
                interval_readings.c.quality,
            )
            .join(MeterReading, MeterReading.service_point_id == ServicePoint.id)
            .join(interval_readings, interval_readings.c.meter_reading_id == MeterReading.id)
            .order_by(ServicePoint.uuid, MeterReading.uuid, interval_readings.c.start)
        ).all()
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(f"{row[0]}/{row[1]}", []).append(tuple(row[2:]))
    return grouped


@pytest.mark.parametrize("sample", ["test_usage_data.xml", "Gas.xml"])
def test_import_export_import_gives_identical_readings(cli, database_url, engine, tmp_path, sample):
    imported = cli(database_url, "import", str(SAMPLES / sample), "--json")
    assert imported.exit_code == 0, imported.output
    with engine.connect() as connection:
        points = [str(uuid) for uuid in connection.scalars(select(ServicePoint.uuid))]
    first = min(start for rows in readings_by_usage_point(engine).values() for start, *_ in rows)
    exported = tmp_path / "download.xml"
    options = [f"--service-point={point}" for point in points]
    day = datetime.fromtimestamp(first - 86_400 * 2, UTC).date().isoformat()
    last = datetime.fromtimestamp(first + 86_400 * 700, UTC).date().isoformat()
    result = cli(database_url, "export", "-o", str(exported), *options, "--from", day, "--to", last)
    assert result.exit_code == 0, result.output
    document = exported.read_bytes()
    assert schema_errors(document) == []
    # Imported resources keep the ids their source feed gave them (v4 in these samples): a
    # third party that saw them before must see the same ids. Every other rule holds.
    problems = certification_problems(document)
    assert [problem for problem in problems if "is UUID v4" not in problem] == []

    fresh_url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    fresh = db.make_engine(fresh_url)
    db.upgrade(fresh)
    again = cli(fresh_url, "import", str(exported), "--json")
    assert again.exit_code == 0, again.output
    assert readings_by_usage_point(fresh) == readings_by_usage_point(engine)
    fresh.dispose()


def test_export_refuses_unknown_points_and_overlong_ranges(cli, database_url, tmp_path):
    out = str(tmp_path / "x.xml")
    unknown = cli(
        database_url,
        "export",
        "-o",
        out,
        "--service-point",
        "0" * 8 + "-0000-5000-8000-" + "0" * 12,
    )
    assert unknown.exit_code == 1
    assert "unknown service point" in unknown.output
    nothing = cli(database_url, "export", "-o", out)
    assert nothing.exit_code == 2
    long_range = cli(
        database_url,
        "export",
        "-o",
        out,
        "--account",
        "x",
        "--from",
        "2020-01-01",
        "--to",
        "2024-01-01",
    )
    assert long_range.exit_code != 0
