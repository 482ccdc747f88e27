"""The agreement report store against the database: claims under a race, fences, reads."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from opencustodian.domain.agreements import ReportType
from opencustodian.domain.metering import Channel, Commodity
from opencustodian.storage.agreement_reports import SqlAgreementReportStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import AccountServicePoint, interval_readings
from tests.agreement_reports import (
    MONTH_PERIOD,
    REPORT_SEED_NOW,
    PointChoice,
    Queued,
    local_epoch,
    queue_report,
    report_row,
    seed_report_utility,
    service_point,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

STALE_BEFORE = REPORT_SEED_NOW - timedelta(hours=1)


@pytest.fixture
def queued(engine: Engine) -> Queued:
    party = seed_report_utility(engine, history_days=3)
    return queue_report(
        engine, party, service_point(engine, PointChoice(net_metered=True)), "daily"
    )


def claim(engine: Engine, report_id: int) -> int | None:
    with transaction(session_factory(engine)) as session:
        return SqlAgreementReportStore(session).claim(
            report_id, stale_before=STALE_BEFORE, max_attempts=3
        )


def test_of_two_workers_claiming_at_once_exactly_one_wins(engine: Engine, queued: Queued) -> None:
    barrier = threading.Barrier(2)
    results: list[int | None] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        attempt = claim(engine, queued.report_id)
        with lock:
            results.append(attempt)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results, key=str) == [1, None]
    row = report_row(engine, queued.report_id)
    assert (row.status, row.attempts) == ("running", 1)


def test_only_the_current_attempt_may_record_an_outcome(engine: Engine, queued: Queued) -> None:
    assert claim(engine, queued.report_id) == 1
    with transaction(session_factory(engine)) as session:
        store = SqlAgreementReportStore(session)
        result = {"file_name": "a.csv", "content": b"x", "row_count": 0, "sha256": "0" * 64}
        assert not store.store_result(queued.report_id, 2, now=REPORT_SEED_NOW, **result)  # type: ignore[arg-type]
        assert not store.store_failure(queued.report_id, 2, "late", REPORT_SEED_NOW, final=True)
        assert store.store_result(queued.report_id, 1, now=REPORT_SEED_NOW, **result)  # type: ignore[arg-type]
        assert not store.store_failure(queued.report_id, 1, "twice", REPORT_SEED_NOW, final=False)
    row = report_row(engine, queued.report_id)
    assert (row.status, row.content, row.error) == ("ready", b"x", None)
    assert claim(engine, queued.report_id) is None  # a ready report is never run again


def test_a_failed_run_waits_for_a_retry(engine: Engine, queued: Queued) -> None:
    assert claim(engine, queued.report_id) == 1
    with transaction(session_factory(engine)) as session:
        store = SqlAgreementReportStore(session)
        assert store.store_failure(queued.report_id, 1, "boom", REPORT_SEED_NOW, final=False)
        assert store.waiting(stale_before=STALE_BEFORE, max_attempts=3) == [queued.report_id]
    row = report_row(engine, queued.report_id)
    assert (row.status, row.error, row.finished_at) == ("pending", "boom", None)
    assert claim(engine, queued.report_id) == 2


def test_the_report_facts_come_from_its_agreement(engine: Engine, queued: Queued) -> None:
    with transaction(session_factory(engine)) as session:
        store = SqlAgreementReportStore(session)
        facts = store.report(queued.report_id)
        assert store.report_id_of(queued.agreement_id) == queued.report_id
        assert store.report_id_of(-1) is None
        with pytest.raises(LookupError):
            store.report(-1)
    assert facts.agreement_number == queued.number
    assert facts.report_type is ReportType.DAILY
    assert facts.commodity is Commodity.ELECTRICITY
    assert facts.net_metered
    assert (facts.period_start, facts.period_end) == MONTH_PERIOD
    assert facts.client_id


def test_the_tenure_is_the_latest_one_begun_before_the_period_ended(
    engine: Engine, queued: Queued
) -> None:
    with transaction(session_factory(engine)) as session:
        store = SqlAgreementReportStore(session)
        facts = store.report(queued.report_id)
        original = store.tenure(facts.account_id, facts.service_point_id, MONTH_PERIOD[1])
        assert original is not None
        assert original[1] is None
        # The customer moved out and came back on 20 October: only the return counts.
        session.add(
            AccountServicePoint(
                account_id=facts.account_id,
                service_point_id=facts.service_point_id,
                move_in=date(2026, 10, 20),
            )
        )
        session.flush()
        assert store.tenure(facts.account_id, facts.service_point_id, MONTH_PERIOD[1]) == (
            date(2026, 10, 20),
            None,
        )
        assert store.tenure(facts.account_id, facts.service_point_id, date(2026, 10, 20)) == (
            original
        )
        assert store.tenure(facts.account_id, facts.service_point_id, date(1990, 1, 1)) is None


def test_readings_come_as_plain_tuples_of_the_window(engine: Engine, queued: Queued) -> None:
    first, end = local_epoch(date(2026, 11, 1)), local_epoch(date(2026, 11, 2))
    with transaction(session_factory(engine)) as session:
        store = SqlAgreementReportStore(session)
        channels = store.channels(queued.service_point_id)
        assert {channel.channel for channel in channels} == {
            Channel.FORWARD,
            Channel.REVERSE,
            Channel.NET,
        }
        forward = next(channel for channel in channels if channel.channel is Channel.FORWARD)
        readings = store.readings(forward.id, first, end)
        meters = store.meters(queued.service_point_id)
    with engine.connect() as connection:
        expected = connection.execute(
            select(interval_readings.c.start, interval_readings.c.value)
            .where(
                interval_readings.c.meter_reading_id == forward.id,
                interval_readings.c.start >= first,
                interval_readings.c.start < end,
            )
            .order_by(interval_readings.c.start)
        ).all()
    assert len(readings) == 100  # the 25-hour day
    assert all(type(reading) is tuple for reading in readings)
    assert [(reading[0], reading[2]) for reading in readings] == [tuple(row) for row in expected]
    assert forward.reading_type.uom == 72
    assert [meter.meter_number for meter in meters]
