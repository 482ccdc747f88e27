"""Ingest benchmark: the importer against the raw driver, for the same 1,000,000 readings.

For each backend (SQLite always; PostgreSQL when reachable or named by ``--pg-admin-url``) it
measures, each on a fresh migrated database and in the same run:

* ``raw``: the driver alone loading the same tuples (``executemany`` / binary ``COPY``);
* ``import``: OpenCustodian's ingest service (records → resolver → batches → repository);
* ``reimport``: importing the same readings again (the merge path: all unchanged);
* ``xml``: a generated Green Button feed of 200,000 readings, end to end (parse + store).

It prints a table and ends with one JSON line of the figures. Ratios are import/raw rates.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opencustodian.domain.ingest import (
    ImportSummary,
    SourceMeterReading,
    SourceReadings,
    SourceServicePoint,
)
from opencustodian.domain.metering import Reading, ReadingType
from opencustodian.services.ingest import import_records
from opencustodian.storage import db
from opencustodian.storage.ingest_target import SqlIngestTarget
from tests.feeds import write_usage_feed

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

METERS = 100
PER_METER = 10_000
START = 1_704_085_200
ENERGY = ReadingType(commodity=1, kind=12, uom=72, accumulation_behaviour=4, interval_length=900)


def readings_of(meter: int) -> list[Reading]:
    """The same deterministic readings for every measurement."""
    return [
        (START + index * 900, 900, 100 + (meter * 31 + index * 7) % 977, index * 11, 17)
        for index in range(PER_METER)
    ]


def source_records(data: list[list[Reading]]) -> Iterator[Any]:
    """The benchmark data as an import source: 100 meter readings of 10,000 readings."""
    for meter, readings in enumerate(data):
        key = f"sp{meter}"
        yield SourceServicePoint(key=key, uuid=uuid.UUID(int=meter + 1))
        yield SourceMeterReading(
            key=f"mr{meter}",
            service_point_key=key,
            reading_type=ENERGY,
            uuid=uuid.UUID(int=10_000 + meter),
        )
        for offset in range(0, PER_METER, 2_000):  # feed-sized blocks, as a parser yields them
            yield SourceReadings(f"mr{meter}", readings[offset : offset + 2_000])


def run_import(engine: Engine, data: list[list[Reading]]) -> tuple[float, ImportSummary]:
    """Seconds the ingest service takes for ``data``, and its summary."""
    summary = ImportSummary("bench", "bench")
    began = time.perf_counter()
    with db.transaction(db.session_factory(engine)) as session:
        import_records(source_records(data), SqlIngestTarget(session), summary)
    return time.perf_counter() - began, summary


def run_raw(engine: Engine, data: list[list[Reading]]) -> float:
    """The driver alone: same rows, same table, one transaction, meter readings pre-created."""
    _import_meters_only(engine, data)
    rows = [(meter + 1, *reading) for meter, readings in enumerate(data) for reading in readings]
    with engine.begin() as connection:
        raw: Any = connection.connection.driver_connection
        began = time.perf_counter()
        if engine.dialect.name == "postgresql":
            with (
                raw.cursor() as cursor,
                cursor.copy(
                    "COPY interval_readings"
                    " (meter_reading_id, start, duration, value, cost, quality)"
                    " FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["int4", "int8", "int4", "int8", "int8", "int2"])
                for row in rows:
                    copy.write_row(row)
        else:
            raw.executemany("INSERT INTO interval_readings VALUES (?, ?, ?, ?, ?, ?)", rows)
        return time.perf_counter() - began


def _import_meters_only(engine: Engine, data: list[list[Reading]]) -> None:
    empty: list[list[Reading]] = [[] for _ in data]
    run_import(engine, empty)


def run_xml(engine: Engine, directory: Path) -> tuple[float, int]:
    """Seconds to import a generated 200,000-reading feed end to end, and its reading count."""
    from opencustodian.services.sources import parse_source  # noqa: PLC0415

    path = directory / "feed.xml"
    with path.open("w") as stream:
        count = write_usage_feed(stream, usage_points=20, days=104)
    summary = ImportSummary(str(path), "espi")
    began = time.perf_counter()
    with path.open("rb") as stream, db.transaction(db.session_factory(engine)) as session:
        import_records(
            parse_source("espi", stream, max_bytes=1 << 31), SqlIngestTarget(session), summary
        )
    elapsed = time.perf_counter() - began
    assert summary.readings.inserted == count, summary
    return elapsed, count


class Databases:
    """Fresh migrated databases for one backend."""

    def __init__(self, backend: str, directory: Path, admin_url: str | None) -> None:
        self.backend, self.directory, self.admin_url = backend, directory, admin_url
        self.created: list[str] = []

    def fresh(self) -> Engine:
        """A new, migrated database."""
        if self.backend == "sqlite":
            url = f"sqlite:///{self.directory / f'{uuid.uuid4().hex}.sqlite3'}"
        else:
            assert self.admin_url is not None
            name = f"oc_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(db.normalize_url(self.admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
            admin.dispose()
            self.created.append(name)
            url = (
                make_url(db.normalize_url(self.admin_url))
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        engine = db.make_engine(url)
        db.upgrade(engine)
        return engine

    def drop_all(self) -> None:
        """Drop the PostgreSQL databases this run created."""
        if not self.created:
            return
        admin = create_engine(db.normalize_url(self.admin_url or ""), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def measure(backend: str, admin_url: str | None, data: list[list[Reading]]) -> dict[str, Any]:
    """All four figures for one backend."""
    total = METERS * PER_METER
    with tempfile.TemporaryDirectory() as directory:
        databases = Databases(backend, Path(directory), admin_url)
        try:
            raw_seconds = run_raw(databases.fresh(), data)
            engine = databases.fresh()
            import_seconds, summary = run_import(engine, data)
            assert summary.readings.inserted == total, summary
            reimport_seconds, again = run_import(engine, data)
            assert again.readings.unchanged == total, again
            xml_seconds, xml_count = run_xml(databases.fresh(), Path(directory))
        finally:
            databases.drop_all()
    return {
        "backend": backend,
        "readings": total,
        "raw_per_second": round(total / raw_seconds),
        "import_per_second": round(total / import_seconds),
        "ratio": round(raw_seconds / import_seconds, 3),
        "reimport_per_second": round(total / reimport_seconds),
        "xml_readings": xml_count,
        "xml_per_second": round(xml_count / xml_seconds),
    }


def postgres_reachable(url: str) -> bool:
    """Whether a PostgreSQL server answers at ``url``."""
    try:
        import psycopg  # noqa: PLC0415

        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3).close()
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    return True


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite-only", action="store_true")
    arguments = parser.parse_args()
    data = [readings_of(meter) for meter in range(METERS)]
    results = [measure("sqlite", None, data)]
    if not arguments.sqlite_only and postgres_reachable(arguments.pg_admin_url):
        results.append(measure("postgresql", arguments.pg_admin_url, data))
    for row in results:
        print(
            f"{row['backend']:<10} raw {row['raw_per_second']:>9,}/s"
            f"  import {row['import_per_second']:>9,}/s"
            f"  ratio {row['ratio']:.2f}  re-import {row['reimport_per_second']:>9,}/s"
            f"  xml end-to-end {row['xml_per_second']:>9,}/s"
        )
    print(json.dumps({"bench": "ingest", "results": results}))


if __name__ == "__main__":
    main()
