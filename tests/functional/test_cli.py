"""The command line as an operator uses it: init, seed, import, serve and demo."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from opencustodian.cli import app
from opencustodian.storage.models import Meter, MeterReading, interval_readings
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


def test_seed_then_import_a_csv_for_a_seeded_meter(cli, engine, tmp_path):
    result = cli("seed", "--customers", "1", "--history-days", "2")
    assert result.exit_code == 0, result.stdout
    assert "Seeded 1 customers" in result.stdout
    with engine.connect() as connection:
        meter = connection.execute(select(Meter.meter_number).order_by(Meter.id)).scalars().first()
        before = connection.execute(select(func.count()).select_from(interval_readings)).scalar()
    csv = tmp_path / "corrections.csv"
    csv.write_text(
        "meter,start,duration,value,unit,quality\n"
        f"{meter},2020-01-01T00:00:00-05:00,900,0.25,kWh,17\n"
        f"{meter},2020-01-01T00:15:00-05:00,900,0.5,kWh,9\n"
    )
    result = cli("import", "--json", str(csv))
    assert result.exit_code == 0, result.stdout
    summary = json.loads(result.stdout)
    assert summary["format"] == "csv"
    assert summary["readings_inserted"] == 2
    with engine.connect() as connection:
        after = connection.execute(select(func.count()).select_from(interval_readings)).scalar()
        assert after == before + 2
        values = connection.execute(
            select(interval_readings.c.value)
            .join(MeterReading, MeterReading.id == interval_readings.c.meter_reading_id)
            .where(interval_readings.c.start == 1_577_854_800)
        ).scalars()
        assert list(values) == [250]


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
