"""A Download My Data CSV imports back exactly, and every operator export is audited.

The round trip runs the real commands: ``opencustodian export --format csv`` on a seeded
utility, then ``opencustodian import`` of that file into a second database holding the same
utility's meters but none of its readings (and, in one case, none of its channels either).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner, Result

from opencustodian.cli import app
from opencustodian.domain.events import EventTag
from opencustodian.storage import db
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AuditEvent,
    MeterReading,
    ReadingTypeRow,
    ServicePoint,
    interval_readings,
    reading_revisions,
)
from tests.custodian import seed_small_utility

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy.engine import Engine

ACCOUNT = "4000000119"  # customer0001: a solar home (forward, reverse, net) and hourly gas
#: Wider than the seeded history (two days before 2026-11-01), so every reading is exported.
EVERYTHING = ("--from", "2026-10-20", "--to", "2026-11-03")
Key = tuple[str, str]  # (service point id, channel)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    runner = CliRunner()

    def invoke(database_url: str, *args: str) -> Result:
        monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", database_url)
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def second_engine(empty_database_url: str) -> Iterator[Engine]:
    """Another migrated database on the same backend (SQLite file or PostgreSQL)."""
    engine = db.make_engine(empty_database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def readings(engine: Engine) -> dict[Key, list[tuple[int, int, int, int | None, int | None]]]:
    """Every stored reading as (start, duration, value, cost, quality), by point and channel."""
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
            .order_by(interval_readings.c.start)
        ).all()
    grouped: dict[Key, list[tuple[int, int, int, int | None, int | None]]] = defaultdict(list)
    for point, channel, start, duration, value, cost, quality in rows:
        grouped[str(point), channel].append((start, duration, value, cost, quality))
    return dict(grouped)


def channels(engine: Engine) -> dict[Key, tuple[Any, ...]]:
    """Each channel's id and what its values mean (unit, scale, direction, interval, currency)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ServicePoint.uuid,
                MeterReading.channel,
                MeterReading.uuid,
                ReadingTypeRow.uom,
                ReadingTypeRow.power_of_ten_multiplier,
                ReadingTypeRow.flow_direction,
                ReadingTypeRow.interval_length,
                ReadingTypeRow.currency,
            )
            .join(MeterReading, MeterReading.service_point_id == ServicePoint.id)
            .join(ReadingTypeRow, ReadingTypeRow.id == MeterReading.reading_type_id)
        ).all()
    return {(str(row[0]), row[1]): tuple(row[2:]) for row in rows}


def all_points(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [str(point) for point in connection.scalars(select(ServicePoint.uuid))]


def forget_readings(engine: Engine, *, channels_too: bool) -> None:
    """Keep the utility (customers, service points, meters); drop what the CSV must restore."""
    with engine.begin() as connection:
        connection.execute(delete(reading_revisions))
        connection.execute(delete(interval_readings))
        if channels_too:
            connection.execute(delete(MeterReading))


@pytest.mark.parametrize("channels_too", [False, True], ids=["same-channels", "meters-only"])
def test_a_csv_download_imports_back_into_another_database_exactly(  # noqa: PLR0913 - fixtures
    cli: Callable[..., Result],
    database_url: str,
    engine: Engine,
    second_engine: Engine,
    tmp_path: Path,
    *,
    channels_too: bool,
) -> None:
    seed_small_utility(engine)
    out = tmp_path / "download.csv"
    points = [f"--service-point={point}" for point in all_points(engine)]
    exported = cli(database_url, "export", "-o", str(out), *points, *EVERYTHING, "--format", "csv")
    assert exported.exit_code == 0, exported.output
    original = readings(engine)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == sum(len(found) for found in original.values())  # all of them went out
    assert {row["channel"] for row in rows} == {"forward", "reverse", "net"}
    assert all(row["cost"] and row["currency"] == "USD" for row in rows)

    seed_small_utility(second_engine)
    forget_readings(second_engine, channels_too=channels_too)
    assert readings(second_engine) == {}
    second_url = second_engine.url.render_as_string(hide_password=False)
    imported = cli(second_url, "import", str(out), "--json")
    assert imported.exit_code == 0, imported.output

    assert readings(second_engine) == original  # value, cost, quality, on the same channel
    # A channel with no reading in the file (the seed has an empty monthly one) has nothing
    # to carry; every channel that had readings is compared.
    before = {key: meaning for key, meaning in channels(engine).items() if key in original}
    after = channels(second_engine)
    if channels_too:  # new channels, each with the direction and currency the rows named
        assert {key: meaning[1:] for key, meaning in after.items()} == {
            key: meaning[1:] for key, meaning in before.items()
        }
    else:  # the rows landed on the channels (same ids) they came from
        assert {key: after[key] for key in original} == before


# -- the operator's export is an audited data access ----------------------------------------


def account_points(engine: Engine, account: str) -> list[str]:
    with engine.connect() as connection:
        found = connection.scalars(
            select(ServicePoint.uuid)
            .join(AccountServicePoint, AccountServicePoint.service_point_id == ServicePoint.id)
            .join(Account, Account.id == AccountServicePoint.account_id)
            .where(Account.account_number == account)
        )
        return sorted(str(point) for point in found)


def export_events(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditEvent.subject, AuditEvent.actor, AuditEvent.data)
            .where(AuditEvent.tag == EventTag.DATA_EXPORTED.value)
            .order_by(AuditEvent.id)
        ).all()
    return [(row.subject, row.actor, row.data) for row in rows]


@pytest.mark.parametrize("file_format", ["csv", "xml"])
def test_an_export_records_who_exported_which_points_when_and_how(
    cli: Callable[..., Result],
    database_url: str,
    engine: Engine,
    tmp_path: Path,
    file_format: str,
) -> None:
    seed_small_utility(engine)
    assert EventTag.DATA_EXPORTED.value == "cli:data:exported"
    out = tmp_path / f"download.{file_format}"
    result = cli(
        database_url,
        "export",
        *("-o", str(out), "--account", ACCOUNT, "--from", "2026-10-30", "--to", "2026-11-01"),
        *("--format", file_format),
    )
    assert result.exit_code == 0, result.output
    ((subject, actor, data),) = export_events(engine)
    assert subject == f"account:{ACCOUNT}"
    assert actor.startswith("operator:")
    assert len(actor) > len("operator:")
    assert data == {
        "service_points": account_points(engine, ACCOUNT),
        "format": file_format,
        "from": "2026-10-30",
        "to": "2026-11-01",
    }
    assert len(data["service_points"]) == 2


def test_exports_of_named_points_and_refused_exports(
    cli: Callable[..., Result], database_url: str, engine: Engine, tmp_path: Path
) -> None:
    seed_small_utility(engine)
    point = all_points(engine)[2]
    refused = cli(database_url, "export", "-o", str(tmp_path / "x.csv"), "--account", "nobody")
    assert refused.exit_code == 1
    bad_range = cli(
        database_url,
        "export",
        *("-o", str(tmp_path / "y.csv"), f"--service-point={point}"),
        *("--from", "2026-11-02", "--to", "2026-11-01"),
    )
    assert bad_range.exit_code != 0
    assert export_events(engine) == []  # nothing was read, nothing is recorded
    named = cli(database_url, "export", "-o", str(tmp_path / "z.xml"), f"--service-point={point}")
    assert named.exit_code == 0, named.output
    ((subject, _actor, data),) = export_events(engine)
    assert subject == "service-points"
    assert data["service_points"] == [point]
    assert data["format"] == "xml"
