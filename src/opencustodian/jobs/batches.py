"""Batch jobs: build the promised feed into a gzip file, record it, notify the third party.

A thin wrapper over ``services.batches``: it claims a job, reads the grants it covers, writes
the feed (``usage_feed``) gzip-compressed into the batch directory, then records the result
and queues the BatchList in one transaction, and delivers it. Each step opens its own
transaction; none is held while the feed is written.

A large Bulk feed is written by several processes at once: the grants are cut into
contiguous slices, each process writes and compresses its slice as a segment of one DEFLATE
stream (``kit.gzip_segments``), and the segments are joined in order between the feed's head
and end. The file is byte for byte the one a single process writes: 29.8 million readings took
85 s in one process and 48–58 s in two on a two-core machine (BENCHMARKS.md, "Bulk").
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from itertools import accumulate
from typing import TYPE_CHECKING, BinaryIO, Final
from urllib.parse import parse_qsl

from opencustodian.domain.batches import MAX_ATTEMPTS, BatchKind, BatchStatus
from opencustodian.jobs.work import deliver_notifications, render_batch_list
from opencustodian.kit.gzip_segments import GZIP_HEADER, Segment, SegmentWriter, gzip_trailer
from opencustodian.kit.time import utc_now
from opencustodian.protocols.espi.query import parse_feed_query
from opencustodian.protocols.espi.usage_feed import usage_feed
from opencustodian.services.batches import (
    BatchRefusedError,
    fail_batch,
    finish_batch,
    grants_to_read,
    plan_batch_feed,
)
from opencustodian.services.usage_feeds import FeedSettings
from opencustodian.storage.batches import SqlBatchStore
from opencustodian.storage.db import make_engine, session_factory, transaction
from opencustodian.storage.notifications import SqlNotificationStore
from opencustodian.storage.usage import SqlUsageStore

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime
    from pathlib import Path

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from opencustodian.config import Settings
    from opencustodian.domain.batches import BatchJob, SharedGrant
    from opencustodian.profile import CustodianProfile

#: zlib level of batch files. Level 1 compressed a 777 MB usage feed 3.4× faster than level 6
#: for 20% more bytes (27 vs 23 MB): batch files are written once and fetched once or twice.
GZIP_LEVEL: Final = 1
#: A Bulk feed covering fewer usage points is written by one process: below this, starting
#: worker processes (about half a second each) costs more than it saves.
PARALLEL_MIN_POINTS: Final = 64
SUFFIX: Final = ".xml.gz"

# One batch at a time per web process when jobs run in-process (development, the demo): a
# large Bulk should not take every core from the requests being served.
_IN_PROCESS = threading.Lock()


@dataclass(frozen=True, slots=True)
class BatchEnvironment:
    """What running a batch job needs: storage, the custodian's feed settings, files."""

    engine: Engine
    base_url: str
    feed: FeedSettings
    directory: Path
    processes: int
    result_days: int


def batch_environment(
    settings: Settings, profile: CustodianProfile, base_url: str, engine: Engine
) -> BatchEnvironment:
    """The environment of batch jobs, from the process settings and the custodian profile.

    The feed settings are those of a synchronous read (``web.api.espi_usage.feed_settings``),
    so a job builds exactly the feed the same request would have streamed.
    """
    limits = profile.limits
    feed = FeedSettings(
        base_url=base_url,
        zone=profile.time_zone,
        max_history_seconds=limits.max_history_seconds,
        certification_href=profile.certification_url,
        real_time_window_seconds=int(limits.real_time_window.total_seconds()),
        real_time_latency_seconds=int(limits.real_time_latency.total_seconds()),
    )
    return BatchEnvironment(
        engine=engine,
        base_url=base_url,
        feed=feed,
        directory=settings.resolved_batch_dir,
        processes=settings.batch_processes or os.cpu_count() or 1,
        result_days=limits.batch_result_days,
    )


def result_path(environment: BatchEnvironment, job: BatchJob) -> Path | None:
    """The finished job's gzip file, when it still exists."""
    if job.status is not BatchStatus.DONE or job.file_name is None:
        return None
    path = environment.directory / job.file_name
    return path if path.is_file() else None


def run_in_background(environment: BatchEnvironment, job_id: int) -> None:
    """Build a job in a daemon thread of this process (no job queue configured).

    Expired results are deleted after each job: without workers there is no periodic sweep.
    """

    def run() -> None:
        with _IN_PROCESS:
            build_batch(environment, job_id)
            expire_batch_results(environment)

    threading.Thread(target=run, name=f"batch-{job_id}", daemon=True).start()


def build_batch(environment: BatchEnvironment, job_id: int) -> BatchStatus | None:
    """Run a job until it is done or has failed for good; None when it was not ours to run.

    A failed run is retried at once, up to ``MAX_ATTEMPTS`` runs in all (a run lost to a
    crash counts as one: its claim goes stale and ``resume_batches`` runs it again).
    """
    sessions = session_factory(environment.engine)
    for _ in range(MAX_ATTEMPTS):
        status = _run_once(environment, sessions, job_id)
        if status is not BatchStatus.PENDING:
            deliver_notifications(sessions)
            return status
    return BatchStatus.PENDING  # pragma: no cover - _run_once ends every job by then


def resume_batches(environment: BatchEnvironment) -> int:
    """Run every job left waiting (pending, or claimed by a process that died); how many."""
    with transaction(session_factory(environment.engine)) as session:
        waiting = SqlBatchStore(session).runnable(utc_now())
    return sum(build_batch(environment, job_id) is not None for job_id in waiting)


def expire_batch_results(environment: BatchEnvironment) -> int:
    """Delete result files older than the profile's ``batch_result_days``; how many."""
    before = utc_now() - timedelta(days=environment.result_days)
    with transaction(session_factory(environment.engine)) as session:
        store = SqlBatchStore(session)
        expired = store.results_finished_before(before)
        for job_id, file_name in expired:
            (environment.directory / file_name).unlink(missing_ok=True)
            store.forget_result(job_id)
    return len(expired)


def _run_once(
    environment: BatchEnvironment, sessions: sessionmaker[Session], job_id: int
) -> BatchStatus | None:
    """One run of a job: claim, read, write, record. The status it leaves the job in."""
    now = utc_now()
    today = now.astimezone(environment.feed.zone).date()
    with transaction(sessions) as session:
        store = SqlBatchStore(session)
        job = store.claim(job_id, now)
        if job is None:
            return None
        try:
            grants = grants_to_read(store, job, today)
        except BatchRefusedError as error:
            _fail(session, environment, job, str(error), final=True)
            return BatchStatus.FAILED
    try:
        written = _write(environment, job, grants, now)
    except Exception as error:  # noqa: BLE001 - any failure of a run is recorded, then retried
        with transaction(sessions) as session:
            final = _fail(session, environment, job, f"{type(error).__name__}: {error}")
        return BatchStatus.FAILED if final else BatchStatus.PENDING
    with transaction(sessions) as session:
        finish_batch(
            SqlBatchStore(session),
            SqlNotificationStore(session),
            job,
            result=(written.file_name, written.byte_count),
            served=written.served,
            now=utc_now(),
            base_url=environment.base_url,
            render_batch_list=render_batch_list,
        )
    return BatchStatus.DONE


def _fail(
    session: Session,
    environment: BatchEnvironment,
    job: BatchJob,
    error: str,
    *,
    final: bool = False,
) -> bool:
    return fail_batch(
        SqlBatchStore(session),
        SqlNotificationStore(session),
        job,
        error=error,
        final=final,
        now=utc_now(),
        base_url=environment.base_url,
        render_batch_list=render_batch_list,
    )


@dataclass(frozen=True, slots=True)
class _Written:
    file_name: str
    byte_count: int
    served: dict[str, list[str]]


def _write(
    environment: BatchEnvironment, job: BatchJob, grants: Sequence[SharedGrant], now: datetime
) -> _Written:
    """Write the job's feed to its file (atomically: a reader never sees half a file)."""
    environment.directory.mkdir(parents=True, exist_ok=True)
    file_name = f"{job.uuid}{SUFFIX}"
    partial = environment.directory / f".{job.uuid}.part"
    slices = _slices(grants, environment.processes) if _parallel(environment, job, grants) else []
    try:
        with partial.open("wb") as out:
            if len(slices) > 1:
                served = _write_parallel(out, environment, job, slices, now)
            else:
                served = _write_serial(out, environment, job, grants, now)
        partial.replace(environment.directory / file_name)
    finally:
        partial.unlink(missing_ok=True)
    return _Written(file_name, (environment.directory / file_name).stat().st_size, served)


def _parallel(environment: BatchEnvironment, job: BatchJob, grants: Sequence[SharedGrant]) -> bool:
    """Whether to write with several processes: a large unpaged Bulk, and more than one CPU.

    Paging counts blocks across the whole feed, so a paged feed is written in one piece.
    """
    if environment.processes < 2 or job.request.kind is not BatchKind.BULK:  # noqa: PLR2004
        return False
    query = parse_feed_query(parse_qsl(job.request.query, keep_blank_values=True))
    if query.skip or query.entry_limit is not None:
        return False
    return sum(len(grant.held_since) for grant in grants) >= PARALLEL_MIN_POINTS


def _slices(grants: Sequence[SharedGrant], count: int) -> list[list[SharedGrant]]:
    """``grants`` cut into at most ``count`` contiguous slices of about equal usage points."""
    weights = list(accumulate(max(len(grant.held_since), 1) for grant in grants))
    total = weights[-1] if weights else 0
    slices: list[list[SharedGrant]] = [[] for _ in range(count)]
    for grant, reached in zip(grants, weights, strict=True):
        slices[min((reached - 1) * count // max(total, 1), count - 1)].append(grant)
    return [piece for piece in slices if piece]


def _write_serial(
    out: BinaryIO,
    environment: BatchEnvironment,
    job: BatchJob,
    grants: Sequence[SharedGrant],
    now: datetime,
) -> dict[str, list[str]]:
    feed = plan_batch_feed(SqlUsageStore(environment.engine), job, grants, environment.feed, now)
    plan = feed.plan
    out.write(GZIP_HEADER)
    segment = _compress(out, usage_feed(plan.meta, plan.local_time, plan.usage_points), final=True)
    out.write(gzip_trailer([segment]))
    return feed.served


def _write_parallel(
    out: BinaryIO,
    environment: BatchEnvironment,
    job: BatchJob,
    slices: Sequence[Sequence[SharedGrant]],
    now: datetime,
) -> dict[str, list[str]]:
    """Head, then each slice's segment (written by its own process), then the end."""
    url = environment.engine.url.render_as_string(hide_password=False)
    tasks = [
        _SliceTask(
            url, environment.feed, job, list(piece), now, environment.directory / f".{job.uuid}.{i}"
        )
        for i, piece in enumerate(slices)
    ]
    # "spawn": a fresh interpreter per worker. Forking a web process that runs threads can
    # copy a lock held by another thread and deadlock the child.
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=len(tasks), mp_context=context) as pool:
            results = list(pool.map(_render_slice, tasks))
        plan = plan_batch_feed(SqlUsageStore(environment.engine), job, [], environment.feed, now)
        meta, local_time = plan.plan.meta, plan.plan.local_time
        out.write(GZIP_HEADER)
        segments = [_compress(out, usage_feed(meta, local_time, (), tail=False), final=False)]
        served: dict[str, list[str]] = {}
        for task, (segment, piece_served) in zip(tasks, results, strict=True):
            with task.segment_path.open("rb") as piece:
                shutil.copyfileobj(piece, out, 1 << 20)
            segments.append(segment)
            served.update(piece_served)
        segments.append(_compress(out, usage_feed(meta, local_time, (), head=False), final=True))
        out.write(gzip_trailer(segments))
    finally:
        for task in tasks:
            task.segment_path.unlink(missing_ok=True)
    return served


def _compress(out: BinaryIO, chunks: Iterable[bytes], *, final: bool) -> Segment:
    writer = SegmentWriter(out, GZIP_LEVEL)
    for chunk in chunks:
        writer.write(chunk)
    return writer.close(final=final)


@dataclass(frozen=True, slots=True)
class _SliceTask:
    """One worker process's share of a parallel Bulk (pickled to the worker)."""

    database_url: str
    feed: FeedSettings
    job: BatchJob
    grants: list[SharedGrant]
    now: datetime
    segment_path: Path


def _render_slice(task: _SliceTask) -> tuple[Segment, dict[str, list[str]]]:
    """In a worker process: write one slice's entries as a DEFLATE segment of its own."""
    engine = make_engine(task.database_url)
    try:
        feed = plan_batch_feed(SqlUsageStore(engine), task.job, task.grants, task.feed, task.now)
        plan = feed.plan
        chunks = usage_feed(plan.meta, plan.local_time, plan.usage_points, head=False, tail=False)
        with task.segment_path.open("wb") as out:
            segment = _compress(out, chunks, final=False)
        return segment, feed.served
    finally:
        engine.dispose()
