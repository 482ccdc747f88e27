"""The bulk reading store: inserts, corrections with revisions, idempotence, atomicity."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from opencustodian.domain.ingest import (
    ImportRejectedError,
    ImportSummary,
    SourceMeterReading,
    SourceReadings,
    SourceServicePoint,
)
from opencustodian.domain.metering import ReadingType
from opencustodian.services.ingest import import_records
from opencustodian.storage import db
from opencustodian.storage.ingest_target import SqlIngestTarget
from opencustodian.storage.models import ServicePoint, interval_readings, reading_revisions

ENERGY = ReadingType(commodity=1, kind=12, uom=72, accumulation_behaviour=4, interval_length=900)
T0 = 1_700_000_100


def _records(values, *, qualities=None, start=T0):
    qualities = qualities or [17] * len(values)
    yield SourceServicePoint(key="sp", uuid=uuid.UUID(int=1), title="Meter 1")
    yield SourceMeterReading(
        key="mr", service_point_key="sp", reading_type=ENERGY, uuid=uuid.UUID(int=2)
    )
    readings = [
        (start + index * 900, 900, value, value * 10, quality)
        for index, (value, quality) in enumerate(zip(values, qualities, strict=True))
    ]
    yield SourceReadings("mr", readings)


def _import(engine, records, batch_size=50_000):
    summary = ImportSummary("test", "test")
    with db.transaction(db.session_factory(engine)) as session:
        import_records(records, SqlIngestTarget(session), summary, batch_size=batch_size)
    return summary


def _stored(engine):
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                interval_readings.c.start, interval_readings.c.value, interval_readings.c.quality
            ).order_by(interval_readings.c.start)
        )
        return [tuple(row) for row in rows]


def test_first_import_inserts_everything(engine):
    summary = _import(engine, _records([5, 6, 7]))
    assert (summary.readings.inserted, summary.readings.updated, summary.readings.unchanged) == (
        3,
        0,
        0,
    )
    assert summary.service_points == 1
    assert summary.meter_readings == 1
    assert _stored(engine) == [(T0, 5, 17), (T0 + 900, 6, 17), (T0 + 1800, 7, 17)]


def test_reimport_changes_nothing(engine):
    _import(engine, _records([5, 6, 7]))
    summary = _import(engine, _records([5, 6, 7]))
    assert (summary.readings.inserted, summary.readings.updated, summary.readings.unchanged) == (
        0,
        0,
        3,
    )
    with engine.connect() as connection:
        assert connection.execute(select(reading_revisions)).all() == []


def test_correction_replaces_value_and_records_revision(engine):
    _import(engine, _records([5, 6, 7], qualities=[14, 14, 14]))
    summary = _import(engine, _records([5, 9, 7, 8], qualities=[17, 17, 14, 14]))
    assert (summary.readings.inserted, summary.readings.updated, summary.readings.unchanged) == (
        1,
        2,
        1,
    )
    assert _stored(engine) == [
        (T0, 5, 17),
        (T0 + 900, 9, 17),
        (T0 + 1800, 7, 14),
        (T0 + 2700, 8, 14),
    ]
    with engine.connect() as connection:
        revisions = connection.execute(
            select(
                reading_revisions.c.start,
                reading_revisions.c.old_value,
                reading_revisions.c.new_value,
                reading_revisions.c.old_quality,
                reading_revisions.c.new_quality,
                reading_revisions.c.revised_at,
            ).order_by(reading_revisions.c.start)
        ).all()
    assert [tuple(row[:5]) for row in revisions] == [(T0, 5, 5, 14, 17), (T0 + 900, 6, 9, 14, 17)]
    assert all(row.revised_at.tzinfo is not None for row in revisions)


def test_later_duplicate_in_one_batch_wins(engine):
    def records():
        yield from list(_records([1, 2]))[:2]
        yield SourceReadings("mr", [(T0, 900, 1, None, 17), (T0, 900, 4, None, 17)])

    summary = _import(engine, records())
    assert summary.readings.inserted == 1
    assert _stored(engine) == [(T0, 4, 17)]


def test_many_small_batches_equal_one_big_batch(engine):
    values = list(range(1, 2001))
    _import(engine, _records(values), batch_size=64)
    assert [value for _, value, _ in _stored(engine)] == values
    summary = _import(engine, _records(values), batch_size=64)
    assert summary.readings.unchanged == 2000


def test_failure_midway_leaves_nothing_written(engine):
    def records():
        yield from _records([1, 2, 3])
        msg = "truncated feed"
        raise ImportRejectedError(msg)

    with pytest.raises(ImportRejectedError, match="truncated"):
        _import(engine, records())
    assert _stored(engine) == []
    with engine.connect() as connection:
        assert connection.execute(select(ServicePoint)).all() == []
        assert connection.execute(text("SELECT COUNT(*) FROM audit_events")).scalar() == 0


def test_readings_for_an_undeclared_meter_reading_are_rejected(engine):
    with pytest.raises(ImportRejectedError, match="unknown meter reading"):
        _import(engine, iter([SourceReadings("nope", [(T0, 900, 1, None, None)])]))


def test_import_is_audited(engine):
    _import(engine, _records([1]))
    with engine.connect() as connection:
        tags = connection.execute(text("SELECT tag FROM audit_events")).scalars().all()
    assert tags == ["ingest:file:imported"]


def test_csv_meter_must_exist(engine):
    records = iter([SourceServicePoint(key="meter:X", meter_number="X")])

    def with_reading():
        yield from records
        yield SourceMeterReading(key="m", service_point_key="meter:X", reading_type=ENERGY)

    with pytest.raises(ImportRejectedError, match="not a known meter"):
        _import(engine, with_reading())
