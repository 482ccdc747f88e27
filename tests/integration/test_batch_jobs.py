"""Batch jobs against the database: parallel writing, retries, expiry, resumption, races."""

from __future__ import annotations

import gzip
import uuid
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select, update

from opencustodian.config import Environment, Settings
from opencustodian.domain.batches import MAX_ATTEMPTS, BatchKind, BatchRequest, BatchStatus
from opencustodian.jobs import batches as batch_jobs
from opencustodian.jobs.batches import (
    batch_environment,
    build_batch,
    expire_batch_results,
    result_path,
    resume_batches,
)
from opencustodian.kit.time import utc_now
from opencustodian.profile import load_profile
from opencustodian.protocols.espi.query import FeedQuery
from opencustodian.services.batches import BATCH_READY, request_batch, request_key
from opencustodian.storage.batches import SqlBatchStore
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import BatchJob, Notification, RetailCustomer
from tests.custodian import register_third_party, seed_small_utility
from tests.functional.espi.batch_server import BR_SCOPE, BULK_ID

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Engine

    from opencustodian.jobs.batches import BatchEnvironment

BASE_URL = "https://custodian.example"
#: Connection refused at once: notifications fail fast and stay queued for retry.
DEAD_ENDPOINT = "http://127.0.0.1:9/notify"


@pytest.fixture
def application(engine: Engine) -> int:
    """A seeded utility, a third party, and its BR grants from all three customers."""
    seed_small_utility(engine)
    party = register_third_party(
        engine, "Bulk Reader", scopes=(BR_SCOPE,), notification_uri=DEAD_ENDPOINT
    )
    now = utc_now()
    with transaction(session_factory(engine)) as session:
        store = SqlConsentStore(session)
        app = store.application_by_uuid(uuid.UUID(party.application_id))
        assert app is not None
        for customer_id in session.scalars(select(RetailCustomer.id).order_by(RetailCustomer.id)):
            choices = store.shareable_service_points(customer_id, now.date())
            grant = store.create_customer_grant(
                application_id=app.id,
                customer_id=customer_id,
                scope=BR_SCOPE,
                choices=choices,
                authorized_end=now + timedelta(days=365),
                now=now,
            )
            store.activate(grant, now)
        return app.id


def environment(engine: Engine, directory: Path, processes: int = 1) -> BatchEnvironment:
    settings = Settings(
        environment=Environment.TESTING, batch_dir=directory, batch_processes=processes
    )
    return batch_environment(settings, load_profile(), BASE_URL, engine)


def open_bulk(engine: Engine, application_id: int, query: str = "") -> int:
    """A pending Bulk job of the application; its id."""
    request = BatchRequest(
        kind=BatchKind.BULK,
        application_id=application_id,
        grant_id=None,
        subject=BULK_ID,
        usage_point=None,
        query=query,
        self_href=f"{BASE_URL}/espi/1_1/resource/Batch/Bulk/{BULK_ID}",
        key=request_key(
            kind=BatchKind.BULK,
            application_id=application_id,
            grant_id=None,
            subject=BULK_ID,
            usage_point=None,
            query=FeedQuery(max_results=len(query) or None),
        ),
    )
    with transaction(session_factory(engine)) as session:
        return request_batch(SqlBatchStore(session), request, utc_now()).job.id


def job_row(engine: Engine, job_id: int) -> BatchJob:
    with session_factory(engine)() as session:
        return session.get_one(BatchJob, job_id)


def finished_file(engine: Engine, env: BatchEnvironment, job_id: int) -> bytes:
    with session_factory(engine)() as session:
        job = SqlBatchStore(session).job(job_row(engine, job_id).uuid)
    assert job is not None
    path = result_path(env, job)
    assert path is not None
    return path.read_bytes()


def test_a_bulk_written_by_two_processes_is_the_one_a_single_process_writes(
    engine: Engine, application: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instant = utc_now()
    monkeypatch.setattr(batch_jobs, "utc_now", lambda: instant)  # one feed time for both runs
    monkeypatch.setattr(batch_jobs, "PARALLEL_MIN_POINTS", 0)
    parallel_runs: list[int] = []
    write_parallel = batch_jobs._write_parallel

    def spy(*args: Any) -> dict[str, list[str]]:
        parallel_runs.append(len(args[3]))  # the slices
        return write_parallel(*args)

    monkeypatch.setattr(batch_jobs, "_write_parallel", spy)
    serial_env = environment(engine, tmp_path / "serial", processes=1)
    parallel_env = environment(engine, tmp_path / "parallel", processes=2)

    first = open_bulk(engine, application)
    assert build_batch(serial_env, first) is BatchStatus.DONE
    second = open_bulk(engine, application)  # the first is done: the same request is new
    assert build_batch(parallel_env, second) is BatchStatus.DONE

    assert parallel_runs == [2]  # two slices, one per process
    serial, parallel = (
        finished_file(engine, serial_env, first),
        finished_file(engine, parallel_env, second),
    )
    document = gzip.decompress(serial)
    assert document.count(b"<espi:UsagePoint>") >= 3
    assert gzip.decompress(parallel) == document
    one_member = zlib.decompressobj(wbits=31)
    assert one_member.decompress(parallel) == document
    assert one_member.eof
    assert one_member.unused_data == b""


def test_a_run_that_keeps_failing_is_retried_then_failed_and_announced(
    engine: Engine, application: int, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("in the way")
    job_id = open_bulk(engine, application)

    assert build_batch(environment(engine, not_a_directory), job_id) is BatchStatus.FAILED

    row = job_row(engine, job_id)
    assert row.attempts == MAX_ATTEMPTS
    assert row.open_key is None  # the request may be made again
    assert "FileExistsError" in (row.error or "")
    with engine.connect() as connection:
        bodies = connection.scalars(
            select(Notification.body).where(Notification.tag == BATCH_READY)
        ).all()
    assert len(bodies) == 1
    assert str(row.uuid) in bodies[0]


def test_results_expire_after_the_profile_s_days(
    engine: Engine, application: int, tmp_path: Path
) -> None:
    env = environment(engine, tmp_path / "batches")
    job_id = open_bulk(engine, application)
    build_batch(env, job_id)
    assert finished_file(engine, env, job_id)
    assert expire_batch_results(env) == 0  # a week to fetch it

    with engine.begin() as connection:
        connection.execute(
            update(BatchJob).values(finished_at=utc_now() - timedelta(days=env.result_days + 1))
        )
    assert expire_batch_results(env) == 1

    assert list(env.directory.iterdir()) == []
    assert job_row(engine, job_id).file_name is None


def test_waiting_and_abandoned_jobs_are_resumed_but_running_ones_are_not(
    engine: Engine, application: int, tmp_path: Path
) -> None:
    env = environment(engine, tmp_path)
    waiting = open_bulk(engine, application, "a")
    abandoned = open_bulk(engine, application, "bb")
    running = open_bulk(engine, application, "ccc")
    with transaction(session_factory(engine)) as session:
        store = SqlBatchStore(session)
        assert store.claim(abandoned, utc_now() - timedelta(hours=3)) is not None
        assert store.claim(running, utc_now() - timedelta(minutes=1)) is not None
        assert store.claim(running, utc_now()) is None  # nobody takes a live claim

    assert resume_batches(env) == 2

    statuses = {job: job_row(engine, job).status for job in (waiting, abandoned, running)}
    assert statuses == {waiting: "done", abandoned: "done", running: "running"}


def test_the_same_request_opens_one_job(engine: Engine, application: int) -> None:
    first = open_bulk(engine, application)
    assert open_bulk(engine, application) == first
    with transaction(session_factory(engine)) as session:
        store = SqlBatchStore(session)
        job = store.job(job_row(engine, first).uuid)
        assert job is not None
        assert store.add_job(job.request, utc_now()) is None  # the unique open key refuses it
        assert store.open_job(job.request.key) == job
