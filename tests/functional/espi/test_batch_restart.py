"""A batch job outlives the process that accepted it: the next start builds it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select

from opencustodian.domain.batches import BatchStatus
from opencustodian.storage.models import BatchJob
from tests.functional.espi.batch_server import BR_SCOPE, batch_custodian
from tests.functional.espi.test_bulk import authorize, bulk_uri, points_of
from tests.functional.oauth.flows import client_tokens, read, unique_name
from tests.receiver import running_receiver
from tests.xsd import schema_errors

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Engine


def status_of(engine: Engine, job: str) -> str:
    with engine.connect() as connection:
        status = connection.scalar(
            select(BatchJob.status).where(BatchJob.uuid == uuid.UUID(job.rsplit("/", 1)[1]))
        )
    assert status is not None
    return status


def test_a_job_left_waiting_when_the_server_stopped_is_built_by_the_next_start(
    engine: Engine, tmp_path: Path
) -> None:
    with running_receiver() as receiver, httpx.Client(timeout=30) as http:
        with batch_custodian(engine, receiver, tmp_path) as first:  # jobs held: never run
            party = first.register(unique_name("Restart"))
            authorize(first, party, BR_SCOPE, "customer0001")
            token = client_tokens(http, first.custodian, party)["access_token"]
            accepted = read(http, bulk_uri(first), token)
            assert accepted.status_code == 202
        job = accepted.headers["location"]
        assert status_of(engine, job) == BatchStatus.PENDING.value

        with batch_custodian(engine, receiver, tmp_path, seed=False, hold=False) as second:
            # The new process has another address; the job keeps its id.
            moved = job.replace(first.base_url, second.base_url)
            receiver.wait_for(moved, timeout=30)
            fetched = read(http, moved, token)

    assert status_of(engine, job) == BatchStatus.DONE.value
    assert fetched.status_code == 200
    assert schema_errors(fetched.content) == []
    assert points_of(fetched.content)
