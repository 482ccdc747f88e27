"""One-time agreement reports end to end: the job over a seeded utility, checked against SQL.

Issue 6 "must show": the report's values equal the stored readings of the period, by an
independent sum. Every expected figure here is a SQL ``SUM`` over ``interval_readings`` (per
local day, quarter hour or month, and in total) turned into ``Decimal`` in the test; the report
code is only what produced the CSV.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select, update

from opencustodian.domain.events import EventTag
from opencustodian.jobs import agreement_reports as report_jobs
from opencustodian.jobs.agreement_reports import (
    build_agreement_report,
    build_agreement_report_of,
    build_in_background,
    resume_agreement_reports,
)
from opencustodian.profile import Limits
from opencustodian.services.agreement_reports import MAX_ATTEMPTS, ReportStatus, build_report
from opencustodian.services.self_service import access_log
from opencustodian.storage.agreement_reports import SqlAgreementReportStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import AgreementReport, AuditEvent, interval_readings
from opencustodian.storage.self_service import SqlSelfServiceDirectory
from tests.agreement_reports import (
    MONTH_PERIOD,
    PARTY_NAME,
    REPORT_SEED_NOW,
    ZONE,
    PointChoice,
    Queued,
    channel_ids,
    csv_rows,
    local_epoch,
    queue_report,
    report_row,
    seed_report_utility,
    service_point,
    set_move_in,
    sql_qualities,
    sql_sum,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

LIMITS = Limits()
#: The test's own reading of the quality codes the synthetic utility stores.
WORDS = {17: "actual", 14: "provisional", 9: "estimated"}
SEVERITY = {"actual": 0, "provisional": 1, "estimated": 2}


def pinned() -> datetime:
    return REPORT_SEED_NOW


def run(engine: Engine, queued: Queued) -> ReportStatus | None:
    return build_agreement_report(
        session_factory(engine), queued.report_id, ZONE, LIMITS, queued.on_ready, clock=pinned
    )


def channels(engine: Engine, point_id: int, channel: str) -> list[int]:
    with engine.connect() as connection:
        return channel_ids(connection, point_id, channel)


def days_of(period: tuple[date, date]) -> list[date]:
    first, end = period
    return [first + timedelta(days=offset) for offset in range((end - first).days)]


def kwh(watt_hours: int) -> Decimal:
    return Decimal(watt_hours) / 1000


def worst(engine: Engine, ids: list[int], first: int, end: int) -> str:
    codes = sql_qualities(engine, ids, first, end)
    assert codes <= set(WORDS), codes  # the seed stores only these codes
    return max((WORDS[code] for code in codes if code is not None), key=SEVERITY.__getitem__)


@pytest.fixture
def party(engine: Engine) -> int:
    return seed_report_utility(engine)


def test_a_daily_solar_report_equals_the_stored_readings_of_each_day_and_in_total(
    engine: Engine, party: int
) -> None:
    point = service_point(engine, PointChoice(net_metered=True))
    queued = queue_report(engine, party, point, "daily")

    assert run(engine, queued) is ReportStatus.READY

    stored = report_row(engine, queued.report_id)
    rows = csv_rows(stored.content)
    delivered, received = channels(engine, point, "forward"), channels(engine, point, "reverse")
    days = days_of(MONTH_PERIOD)
    assert stored.status == "ready"
    assert stored.row_count == len(rows) == len(days) == 31
    assert stored.file_name == f"agreement-{queued.number}-daily-2026-10-03-2026-11-02.csv"
    for day, row in zip(days, rows, strict=True):
        first, end = local_epoch(day), local_epoch(day + timedelta(days=1))
        assert datetime.fromisoformat(row["Start"]).timestamp() == first
        assert datetime.fromisoformat(row["End"]).timestamp() == end
        assert Decimal(row["Consumption (kWh)"]) == kwh(sql_sum(engine, delivered, first, end))
        assert Decimal(row["Received from Customer (kWh)"]) == kwh(
            sql_sum(engine, received, first, end)
        )
        assert row["Quality"] == worst(engine, delivered + received, first, end)
    whole = (local_epoch(MONTH_PERIOD[0]), local_epoch(MONTH_PERIOD[1]))
    assert sum(Decimal(row["Consumption (kWh)"]) for row in rows) == kwh(
        sql_sum(engine, delivered, *whole)
    )
    assert {row["Quality"] for row in rows} >= {"actual", "provisional"}  # the last day is raw
    assert queued.ready_calls == [queued.agreement_id]


def test_five_minute_readings_are_summed_to_quarter_hours_as_stored(
    engine: Engine, party: int
) -> None:
    point = service_point(engine, PointChoice(interval=300))
    queued = queue_report(engine, party, point, "interval")

    assert run(engine, queued) is ReportStatus.READY

    rows = csv_rows(report_row(engine, queued.report_id).content)
    ids = channels(engine, point, "forward")
    first, end = local_epoch(MONTH_PERIOD[0]), local_epoch(MONTH_PERIOD[1])
    quarter = interval_readings.c.start - interval_readings.c.start % 900
    with engine.connect() as connection:
        expected = {
            int(start): kwh(int(total))
            for start, total in connection.execute(
                select(quarter, func.sum(interval_readings.c.value))
                .where(
                    interval_readings.c.meter_reading_id.in_(ids),
                    interval_readings.c.start >= first,
                    interval_readings.c.start < end,
                )
                .group_by(quarter)
            )
        }
    found = {
        int(datetime.fromisoformat(row["Start"]).timestamp()): Decimal(row["Consumption (kWh)"])
        for row in rows
    }
    assert found == expected
    assert len(rows) == len(expected) > 31 * 90  # one row per quarter hour with readings
    assert {row["Interval Length (seconds)"] for row in rows} == {"900"}
    assert sum(found.values()) == kwh(sql_sum(engine, ids, first, end))


def test_the_day_dst_ends_has_100_intervals(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice())
    day = date(2026, 11, 1)
    queued = queue_report(engine, party, point, "interval", (day, day + timedelta(days=1)))

    assert run(engine, queued) is ReportStatus.READY

    rows = csv_rows(report_row(engine, queued.report_id).content)
    first, end = local_epoch(day), local_epoch(day + timedelta(days=1))
    assert len(rows) == 100
    assert Counter(row["Start"][-6:] for row in rows) == {"-04:00": 8, "-05:00": 92}
    total = sum(Decimal(row["Consumption (kWh)"]) for row in rows)
    assert total == kwh(sql_sum(engine, channels(engine, point, "forward"), first, end))


def test_the_day_dst_starts_has_92_intervals(engine: Engine) -> None:
    spring = datetime(2026, 3, 10, 12, tzinfo=UTC)
    party = seed_report_utility(engine, now=spring, history_days=4)
    point = service_point(engine, PointChoice())
    day = date(2026, 3, 8)
    queued = queue_report(
        engine, party, point, "interval", (day, day + timedelta(days=1)), created_at=spring
    )

    status = build_agreement_report(
        session_factory(engine),
        queued.report_id,
        ZONE,
        LIMITS,
        queued.on_ready,
        clock=lambda: spring,
    )

    assert status is ReportStatus.READY
    rows = csv_rows(report_row(engine, queued.report_id).content)
    first, end = local_epoch(day), local_epoch(day + timedelta(days=1))
    assert len(rows) == 92
    assert "2026-03-08T02:00:00" not in "".join(row["Start"] for row in rows)  # no such hour
    total = sum(Decimal(row["Consumption (kWh)"]) for row in rows)
    assert total == kwh(sql_sum(engine, channels(engine, point, "forward"), first, end))


def test_hourly_gas_is_reported_at_its_own_interval_in_ccf(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice(commodity="gas", interval=3600))
    day = date(2026, 10, 20)
    queued = queue_report(engine, party, point, "interval", (day, day + timedelta(days=1)))

    assert run(engine, queued) is ReportStatus.READY

    rows = csv_rows(report_row(engine, queued.report_id).content)
    ids = channels(engine, point, "forward")
    assert len(rows) == 24
    assert {row["Interval Length (seconds)"] for row in rows} == {"3600"}
    for row in rows:
        first = int(datetime.fromisoformat(row["Start"]).timestamp())
        cubic_feet = sql_sum(engine, ids, first, first + 3600)
        assert Decimal(row["Consumption (CCF)"]) == Decimal(cubic_feet) / 100


def test_a_monthly_report_has_partial_first_and_last_months(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice())
    queued = queue_report(engine, party, point, "monthly")

    assert run(engine, queued) is ReportStatus.READY

    rows = csv_rows(report_row(engine, queued.report_id).content)
    ids = channels(engine, point, "forward")
    edges = [MONTH_PERIOD[0], date(2026, 11, 1), MONTH_PERIOD[1]]
    assert [(row["Start"], row["End"]) for row in rows] == [
        ("2026-10-03T00:00:00-04:00", "2026-11-01T00:00:00-04:00"),
        ("2026-11-01T00:00:00-04:00", "2026-11-03T00:00:00-05:00"),
    ]
    for row, (first, end) in zip(rows, pairwise(edges), strict=True):
        expected = kwh(sql_sum(engine, ids, local_epoch(first), local_epoch(end)))
        assert Decimal(row["Consumption (kWh)"]) == expected


def test_the_report_never_reaches_before_the_customers_move_in(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice())
    move_in = date(2026, 10, 20)
    set_move_in(engine, point, move_in)
    queued = queue_report(engine, party, point, "daily")

    assert run(engine, queued) is ReportStatus.READY

    rows = csv_rows(report_row(engine, queued.report_id).content)
    ids = channels(engine, point, "forward")
    assert rows[0]["Start"] == "2026-10-20T00:00:00-04:00"
    assert len(rows) == len(days_of((move_in, MONTH_PERIOD[1]))) == 14
    assert sql_sum(engine, ids, local_epoch(MONTH_PERIOD[0]), local_epoch(move_in)) > 0
    total = sum(Decimal(row["Consumption (kWh)"]) for row in rows)
    assert total == kwh(sql_sum(engine, ids, local_epoch(move_in), local_epoch(MONTH_PERIOD[1])))


def test_a_period_without_readings_gives_a_header_only_csv(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice())
    queued = queue_report(engine, party, point, "daily", (date(2026, 1, 1), date(2026, 2, 1)))

    assert run(engine, queued) is ReportStatus.READY

    stored = report_row(engine, queued.report_id)
    assert stored.row_count == 0
    assert stored.content == b"ESIID,Meter Number,Start,End,Consumption (kWh),Quality\r\n"
    assert queued.ready_calls == [queued.agreement_id]  # an empty report is still announced


def test_a_report_runs_once_however_often_it_is_started(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice())
    queued = queue_report(engine, party, point, "daily")

    assert run(engine, queued) is ReportStatus.READY
    first = report_row(engine, queued.report_id)
    assert run(engine, queued) is None
    assert (
        build_agreement_report_of(
            session_factory(engine),
            queued.agreement_id,
            ZONE,
            LIMITS,
            queued.on_ready,
            clock=pinned,
        )
        is None
    )

    again = report_row(engine, queued.report_id)
    assert (again.attempts, again.sha256, again.finished_at) == (1, first.sha256, first.finished_at)
    assert queued.ready_calls == [queued.agreement_id]
    assert audit_count(engine, queued) == 1


def test_a_report_claimed_by_another_worker_is_left_to_it(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice())
    queued = queue_report(engine, party, point, "daily")
    with transaction(session_factory(engine)) as session:
        claimed = SqlAgreementReportStore(session).claim(
            queued.report_id, stale_before=REPORT_SEED_NOW - timedelta(hours=1), max_attempts=3
        )
    assert claimed == 1

    assert run(engine, queued) is None

    assert report_row(engine, queued.report_id).status == "running"
    assert queued.ready_calls == []


def audit_count(engine: Engine, queued: Queued) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.tag == EventTag.AGREEMENT_REPORT_READ.value,
                    AuditEvent.subject == f"agreement:{queued.number}",
                )
            )
            or 0
        )


def test_a_failing_run_is_retried_then_failed_after_three_attempts(
    engine: Engine, party: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    point = service_point(engine, PointChoice())
    queued = queue_report(engine, party, point, "daily")
    runs: list[int] = []

    def broken(*_args: object, **_kwargs: object) -> None:
        runs.append(1)
        message = "the disk is full"
        raise OSError(message)

    monkeypatch.setattr(report_jobs, "build_report", broken)

    assert run(engine, queued) is ReportStatus.FAILED

    stored = report_row(engine, queued.report_id)
    assert len(runs) == MAX_ATTEMPTS == stored.attempts == 3
    assert stored.status == "failed"
    assert stored.error == "OSError: the disk is full"
    assert stored.content is None
    assert stored.finished_at is not None
    assert queued.ready_calls == []
    assert audit_count(engine, queued) == 0
    assert run(engine, queued) is None  # failed for good


def test_a_run_that_fails_once_is_retried_and_then_stored(
    engine: Engine, party: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    point = service_point(engine, PointChoice())
    queued = queue_report(engine, party, point, "daily")
    real = build_report
    failures = iter([OSError("connection reset")])

    def flaky(*args: object, **kwargs: object) -> object:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(report_jobs, "build_report", flaky)

    assert run(engine, queued) is ReportStatus.READY

    stored = report_row(engine, queued.report_id)
    assert (stored.status, stored.attempts, stored.error) == ("ready", 2, None)
    assert stored.row_count == 31
    assert queued.ready_calls == [queued.agreement_id]


def test_a_report_is_stored_only_with_its_announcement(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice())
    queued = queue_report(engine, party, point, "daily")

    def mail_down(session: Session, agreement_id: int) -> None:
        del session, agreement_id
        message = "outbox unavailable"
        raise RuntimeError(message)

    status = build_agreement_report(
        session_factory(engine), queued.report_id, ZONE, LIMITS, mail_down, clock=pinned
    )

    assert status is ReportStatus.FAILED
    stored = report_row(engine, queued.report_id)
    assert (stored.content, stored.row_count, stored.sha256) == (None, None, None)
    assert audit_count(engine, queued) == 0  # the read's event rolled back with it


def test_the_read_is_listed_in_the_customers_access_log(engine: Engine, party: int) -> None:
    point = service_point(engine, PointChoice(net_metered=True))
    queued = queue_report(engine, party, point, "interval")

    assert run(engine, queued) is ReportStatus.READY

    page = access_log(SqlSelfServiceDirectory(engine), queued.customer_id, page=1, zone=ZONE)
    [entry] = [entry for entry in page.entries if entry.api == "Energy Data Agreement"]
    assert entry.third_party == PARTY_NAME
    assert entry.what == f"Usage report for agreement {queued.number}"
    assert len(entry.services) == 1
    assert entry.services[0].startswith("Electricity at ")
    with engine.connect() as connection:
        event = connection.execute(
            select(AuditEvent.actor, AuditEvent.data).where(
                AuditEvent.tag == EventTag.AGREEMENT_REPORT_READ.value
            )
        ).one()
    assert event.actor.startswith("client:")
    assert event.data["sha256"] == report_row(engine, queued.report_id).sha256


def test_another_customer_never_sees_the_read(engine: Engine, party: int) -> None:
    solar = service_point(engine, PointChoice(net_metered=True))
    business = service_point(engine, PointChoice(interval=300))
    queued = queue_report(engine, party, solar, "daily")
    other = queue_report(engine, party, business, "daily", (date(2026, 1, 1), date(2026, 1, 2)))
    assert queued.customer_id != other.customer_id

    assert run(engine, queued) is ReportStatus.READY

    page = access_log(SqlSelfServiceDirectory(engine), other.customer_id, page=1, zone=ZONE)
    assert page.entries == []


def test_the_sweep_runs_waiting_and_abandoned_reports_but_not_live_ones(
    engine: Engine, party: int
) -> None:
    point = service_point(engine, PointChoice())
    waiting = queue_report(engine, party, point, "daily")
    long_ago = REPORT_SEED_NOW - timedelta(hours=3)
    abandoned = queue_report(engine, party, point, "monthly", created_at=long_ago)
    exhausted = queue_report(engine, party, point, "interval", created_at=long_ago)
    live = queue_report(engine, party, point, "interval")
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        store = SqlAgreementReportStore(session)
        for queued in (abandoned, live):
            store.claim(queued.report_id, stale_before=long_ago, max_attempts=3)
        session.execute(
            update(AgreementReport)
            .where(AgreementReport.id == exhausted.report_id)
            .values(status="running", attempts=MAX_ATTEMPTS)
        )
    calls: list[int] = []

    def record(session: Session, agreement_id: int) -> None:
        del session
        calls.append(agreement_id)

    assert resume_agreement_reports(sessions, ZONE, LIMITS, record, clock=pinned) == 2

    statuses = {
        queued.agreement_id: report_row(engine, queued.report_id).status
        for queued in (waiting, abandoned, exhausted, live)
    }
    assert statuses == {
        waiting.agreement_id: "ready",
        abandoned.agreement_id: "ready",
        exhausted.agreement_id: "failed",
        live.agreement_id: "running",
    }
    assert sorted(calls) == sorted([waiting.agreement_id, abandoned.agreement_id])
    assert report_row(engine, abandoned.report_id).attempts == 2


def test_without_a_job_queue_the_report_is_built_in_a_thread_then_followed_up(
    engine: Engine, party: int
) -> None:
    point = service_point(engine, PointChoice())
    queued = queue_report(engine, party, point, "daily", (date(2026, 10, 30), date(2026, 11, 3)))
    followed: list[str] = []

    thread = build_in_background(
        session_factory(engine),
        queued.agreement_id,
        ZONE,
        LIMITS,
        queued.on_ready,
        after=lambda: followed.append("emails"),
        clock=pinned,
    )
    thread.join()

    assert report_row(engine, queued.report_id).row_count == 4
    assert queued.ready_calls == [queued.agreement_id]
    assert followed == ["emails"]
