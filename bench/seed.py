"""Seed benchmark: ``seed_utility`` writing N synthetic customers with two years of history.

By default it seeds a fresh temporary SQLite file. With ``--database-url`` it seeds that
PostgreSQL (or SQLite) database instead: the database must exist and be empty; its schema is
created with ``storage.db.upgrade`` and nothing is dropped afterwards (it is yours).

On SQLite it also times, in the same run, the floor for that volume: the raw driver writing the
same number of reading rows (``executemany`` into a table of the readings table's shape in a
fresh file). ``floor_ratio`` = floor rate / seed rate says what generating realistic data,
customers and bills costs on top of storing the readings.

It prints a human summary and ends with one JSON line of the figures::

    python bench/seed.py 50
    python bench/seed.py 50 --database-url postgresql://postgres@127.0.0.1/oc_seed_bench
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from opencustodian.demo.synthetic import SeedSummary, seed_utility
from opencustodian.profile import load_profile
from opencustodian.storage import db


def run(url: str, customers: int, seed: int, history_days: int) -> tuple[str, SeedSummary]:
    """Migrate the database at ``url`` and seed it; return the backend and the summary."""
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        summary = seed_utility(
            engine, load_profile(), customers=customers, seed=seed, history_days=history_days
        )
    finally:
        engine.dispose()
    return engine.dialect.name, summary


def raw_floor_seconds(directory: Path, rows: int) -> float:
    """Seconds for sqlite3 alone to write ``rows`` reading-shaped rows in one transaction."""
    connection = sqlite3.connect(directory / "floor.sqlite3")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE readings (meter_reading_id INTEGER, start BIGINT, duration INTEGER,"
        " value BIGINT, cost BIGINT, quality SMALLINT, PRIMARY KEY (meter_reading_id, start))"
        " WITHOUT ROWID"
    )
    per_meter = 70_080
    data = [
        (index // per_meter, (index % per_meter) * 900, 900, index % 977, index, 17)
        for index in range(rows)
    ]
    began = time.perf_counter()
    with connection:
        connection.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?)", data)
    elapsed = time.perf_counter() - began
    connection.close()
    return elapsed


def report(
    backend: str,
    summary: SeedSummary,
    history_days: int,
    size: int | None,
    floor_seconds: float | None = None,
) -> None:
    """Print the human summary and the one JSON line."""
    rate = summary.readings / summary.seconds
    print(
        f"{backend}: {summary.customers:,} customers (+{summary.former_tenants} former tenants),"
        f" {summary.accounts:,} accounts, {summary.service_points:,} service points,"
        f" {summary.meter_readings:,} meter readings, {summary.readings:,} readings,"
        f" {summary.bills:,} bills over {history_days} days"
    )
    print(f"{summary.seconds:.1f} s, {rate:,.0f} readings/s")
    if size is not None:
        print(f"database file {size / 1e6:,.0f} MB")
    figures = {
        "bench": "seed",
        "backend": backend,
        "customers": summary.customers,
        "history_days": history_days,
        "readings": summary.readings,
        "seconds": summary.seconds,
        "readings_per_second": round(rate),
        "floor_readings_per_second": None,
        "floor_ratio": None,
    }
    if floor_seconds is not None:
        floor_rate = summary.readings / floor_seconds
        print(f"raw driver floor for the same rows: {floor_rate:,.0f} readings/s")
        figures["floor_readings_per_second"] = round(floor_rate)
        figures["floor_ratio"] = round(floor_rate / rate, 2)
    print(json.dumps(figures))


def main() -> None:
    """Parse the arguments, seed, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--history-days", type=int, default=730)
    parser.add_argument("--database-url", help="an existing, empty database to seed")
    arguments = parser.parse_args()
    if arguments.database_url:
        backend, summary = run(
            arguments.database_url, arguments.customers, arguments.seed, arguments.history_days
        )
        report(backend, summary, arguments.history_days, None)
        return
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "seed.sqlite3"
        backend, summary = run(
            f"sqlite:///{path}", arguments.customers, arguments.seed, arguments.history_days
        )
        size = sum(file.stat().st_size for file in Path(directory).iterdir())
        floor = raw_floor_seconds(Path(directory), summary.readings)
        report(backend, summary, arguments.history_days, size, floor)


if __name__ == "__main__":
    main()
