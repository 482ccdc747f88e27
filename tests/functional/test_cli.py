"""The command line as an operator uses it: init, seed, import, serve and demo."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from opencustodian.cli import app
from opencustodian.storage.models import (
    Meter,
    MeterReading,
    ReadingTypeRow,
    interval_readings,
    reading_revisions,
)
from tests.live import free_port

MAIN = "from opencustodian.cli import main; main()"


@pytest.fixture
def cli(monkeypatch, database_url):
    monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_help_lists_every_command(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("init", "seed", "import", "serve", "demo"):
        assert command in result.stdout


def test_init_creates_the_schema(monkeypatch, empty_database_url):
    monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", empty_database_url)
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0
    assert "Database ready" in result.stdout
    assert CliRunner().invoke(app, ["init"]).exit_code == 0


def _seeded_quarter_hour_channel(engine):
    """A seeded meter number, its forward 15-minute channel, and one stored reading of it."""
    with engine.connect() as connection:
        meter, channel = connection.execute(
            select(Meter.meter_number, MeterReading.id)
            .join(MeterReading, MeterReading.service_point_id == Meter.service_point_id)
            .join(ReadingTypeRow, ReadingTypeRow.id == MeterReading.reading_type_id)
            .where(ReadingTypeRow.interval_length == 900, ReadingTypeRow.flow_direction == 1)
            .order_by(MeterReading.id)
        ).first()
        start, value = connection.execute(
            select(interval_readings.c.start, interval_readings.c.value)
            .where(interval_readings.c.meter_reading_id == channel)
            .order_by(interval_readings.c.start)
        ).first()
    return meter, channel, start, value


def test_a_csv_for_a_seeded_meter_corrects_its_channel(cli, engine, tmp_path):
    result = cli("seed", "--customers", "1", "--history-days", "2")
    assert result.exit_code == 0, result.stdout
    assert "Seeded 1 customers" in result.stdout
    meter, channel, start, value = _seeded_quarter_hour_channel(engine)
    corrected = datetime.fromtimestamp(start, tz=UTC).isoformat()
    earlier = datetime.fromtimestamp(start - 900 * 4, tz=UTC).isoformat()
    csv = tmp_path / "corrections.csv"
    csv.write_text(
        "meter,start,duration,value,unit,quality\n"
        f"{meter},{corrected},900,{value + 7},Wh,7\n"
        f"{meter},{earlier},900,0.5,kWh,9\n"
    )
    result = cli("import", "--json", str(csv))
    assert result.exit_code == 0, result.stdout
    summary = json.loads(result.stdout)
    assert summary["format"] == "csv"
    assert (summary["readings_inserted"], summary["readings_updated"]) == (1, 1)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                interval_readings.c.start, interval_readings.c.value, interval_readings.c.quality
            )
            .where(interval_readings.c.meter_reading_id == channel)
            .where(interval_readings.c.start.in_([start, start - 3600]))
            .order_by(interval_readings.c.start)
        ).all()
        revisions = connection.execute(
            select(reading_revisions.c.old_value, reading_revisions.c.new_value)
        ).all()
    assert [tuple(row) for row in rows] == [(start - 3600, 500, 9), (start, value + 7, 7)]
    assert [tuple(row) for row in revisions] == [(value, value + 7)]


def test_import_reports_rejections_and_keeps_going(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("meter,start,duration,value,unit\nNOPE,2020-01-01T00:00:00Z,900,1,kWh\n")
    result = cli("import", str(bad))
    assert result.exit_code == 1
    assert "rejected" in result.output
    assert "not a known meter" in result.output
    assert "nothing was written" in result.output


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early with {process.returncode}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer in {seconds} s")


def _run_server(arguments, database_url, tmp_path):
    environment = {"OPENCUSTODIAN_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    with (tmp_path / "server.log").open("wb") as log:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and entry point
            [sys.executable, "-c", MAIN, *arguments],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_serve_answers_health_over_http(database_url, tmp_path):
    port = free_port()
    server = _run_server(["serve", "--port", str(port)], database_url, tmp_path)
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/healthz", server)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_demo_seeds_an_empty_database_and_serves_it(empty_database_url, tmp_path):
    port = free_port()
    server = _run_server(
        ["demo", "--customers", "2", "--port", str(port)], empty_database_url, tmp_path
    )
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/healthz", server, seconds=300)
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=10)
    output = (tmp_path / "server.log").read_text()
    assert health.json()["status"] == "ok"
    assert "<th>Customers</th><td>2</td>" in home.text
    assert "customer0001" in output
    assert "demo-password" in output
