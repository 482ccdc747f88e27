"""The one-time agreement report job: claim, build, store, announce (seed 003 EM204).

A thin wrapper over ``services.agreement_reports``. Each run claims the report in a
transaction of its own (so the claim is visible to other workers while the report builds),
then reads the readings, writes the CSV, stores it, audits the read and calls ``on_ready`` —
where the caller queues EM204 — all in one transaction: the third party is told only about a
report that was stored, and a report is stored only with its announcement. A failed run is
recorded in a third transaction and retried at once, up to ``MAX_ATTEMPTS`` runs in all; a run
lost to a crash counts as one, and ``resume_agreement_reports`` (the periodic sweep) runs the
report again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opencustodian.kit.time import utc_now
from opencustodian.services.agreement_reports import (
    MAX_ATTEMPTS,
    STALE_AFTER,
    ReportStatus,
    build_report,
    fail_report,
    finish_report,
)
from opencustodian.storage.agreement_reports import SqlAgreementReportStore
from opencustodian.storage.db import transaction

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy.orm import Session, sessionmaker

    from opencustodian.profile import Limits

    #: Called with the storing transaction's session and the agreement's id once the report
    #: is stored (the caller queues EM204 there).
    OnReady = Callable[[Session, int], None]
    Clock = Callable[[], datetime]

ABANDONED = "abandoned: the last allowed run stopped without an outcome"
LOG = logging.getLogger(__name__)


def build_agreement_report(  # noqa: PLR0913 - the job's inputs, as the dispatcher passes them
    sessions: sessionmaker[Session],
    report_id: int,
    zone: ZoneInfo,
    limits: Limits,
    on_ready: OnReady,
    *,
    clock: Clock = utc_now,
) -> ReportStatus | None:
    """Run a report until it is ready or has failed for good; None when it was not ours.

    ``zone`` is the territory's (days, months, DST); ``limits`` the custodian profile's (its
    history limit clips the report). ``clock`` gives "now" (tests pin it).
    """
    run = _Run(sessions, report_id, zone, limits, on_ready, clock)
    for _ in range(MAX_ATTEMPTS):
        status = _run_once(run)
        if status is not ReportStatus.PENDING:
            return status
    return ReportStatus.PENDING  # pragma: no cover - the third run always ends the report


def build_agreement_report_of(  # noqa: PLR0913 - as ``build_agreement_report``
    sessions: sessionmaker[Session],
    agreement_id: int,
    zone: ZoneInfo,
    limits: Limits,
    on_ready: OnReady,
    *,
    clock: Clock = utc_now,
) -> ReportStatus | None:
    """``build_agreement_report`` for the report of an agreement (what acceptance queues)."""
    with transaction(sessions) as session:
        report_id = SqlAgreementReportStore(session).report_id_of(agreement_id)
    if report_id is None:
        return None
    return build_agreement_report(sessions, report_id, zone, limits, on_ready, clock=clock)


def build_in_background(  # noqa: PLR0913 - as ``build_agreement_report``
    sessions: sessionmaker[Session],
    agreement_id: int,
    zone: ZoneInfo,
    limits: Limits,
    on_ready: OnReady,
    *,
    after: Callable[[], None] | None = None,
    clock: Clock = utc_now,
) -> threading.Thread:
    """Build an agreement's report in a daemon thread of this process (no job queue).

    ``after`` runs once the run has ended (e.g. deliver the EM204 that ``on_ready`` queued).
    A failure outside a run (the database unreachable for the claim) is logged: the report
    stays pending in the table for the next sweep.
    """

    def work() -> None:
        try:
            build_agreement_report_of(sessions, agreement_id, zone, limits, on_ready, clock=clock)
        except Exception:  # a background thread logs; the table keeps the report's state
            LOG.exception("agreement report of agreement %s was not built", agreement_id)
            return
        if after is not None:
            after()

    thread = threading.Thread(target=work, name=f"agreement-report-{agreement_id}", daemon=True)
    thread.start()
    return thread


def resume_agreement_reports(
    sessions: sessionmaker[Session],
    zone: ZoneInfo,
    limits: Limits,
    on_ready: OnReady,
    *,
    clock: Clock = utc_now,
) -> int:
    """Run every report left waiting (pending, or claimed by a process that died); how many.

    An abandoned run that was the last allowed attempt is marked failed instead.
    """
    now = clock()
    with transaction(sessions) as session:
        store = SqlAgreementReportStore(session)
        store.abandon_exhausted(
            stale_before=now - STALE_AFTER, max_attempts=MAX_ATTEMPTS, now=now, error=ABANDONED
        )
        waiting = store.waiting(stale_before=now - STALE_AFTER, max_attempts=MAX_ATTEMPTS)
    return sum(
        build_agreement_report(sessions, report_id, zone, limits, on_ready, clock=clock) is not None
        for report_id in waiting
    )


@dataclass(frozen=True, slots=True)
class _Run:
    """What every run of one report needs."""

    sessions: sessionmaker[Session]
    report_id: int
    zone: ZoneInfo
    limits: Limits
    on_ready: OnReady
    clock: Clock


def _run_once(run: _Run) -> ReportStatus | None:
    """One run: claim, then build and store; the status it leaves the report in."""
    now = run.clock()
    with transaction(run.sessions) as session:
        attempt = SqlAgreementReportStore(session).claim(
            run.report_id, stale_before=now - STALE_AFTER, max_attempts=MAX_ATTEMPTS
        )
    if attempt is None:
        return None
    try:
        return _build_and_store(run, attempt)
    except Exception as error:  # noqa: BLE001 - any failure of a run is recorded, then retried
        with transaction(run.sessions) as session:
            return fail_report(
                SqlAgreementReportStore(session),
                run.report_id,
                attempt,
                f"{type(error).__name__}: {error}",
                run.clock(),
            )


def _build_and_store(run: _Run, attempt: int) -> ReportStatus | None:
    """Read, write, store, audit and announce in one transaction (module docstring)."""
    with transaction(run.sessions) as session:
        store = SqlAgreementReportStore(session)
        report = store.report(run.report_id)
        now = run.clock()
        built = build_report(
            store,
            report,
            zone=run.zone,
            max_history_seconds=run.limits.max_history_seconds,
            now=now,
        )
        if not finish_report(store, report, built, attempt=attempt, now=now):
            return None  # a later run took the report over; it announces its own result
        run.on_ready(session, report.agreement_id)
    return ReportStatus.READY
