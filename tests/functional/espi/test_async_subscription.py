"""A Batch/Subscription read above the size limit: 202, a job, a BatchList, the same feed."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from lxml import etree
from sqlalchemy import select

from opencustodian.domain.batches import BatchStatus
from opencustodian.services.batches import BATCH_READY
from opencustodian.storage.models import BatchJob, Notification
from tests.conformance.link_rules import certification_problems
from tests.custodian import ELECTRIC_SCOPE
from tests.functional.espi.batch_server import batch_custodian
from tests.functional.espi.test_bulk import authorize, entries_of, points_of
from tests.functional.espi.test_usage_feeds import ATOM
from tests.functional.oauth.flows import client_tokens, read, revoke, unique_name
from tests.receiver import running_receiver
from tests.xsd import schema_errors

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from sqlalchemy.engine import Engine

    from tests.functional.espi.batch_server import BatchCustodian
    from tests.receiver import Receiver

EVERYTHING_SYNCHRONOUS = 10**12


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def batches(
    module_engine: Engine, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BatchCustodian]:
    with batch_custodian(module_engine, receiver, tmp_path_factory.mktemp("batches")) as running:
        yield running


@pytest.fixture(autouse=True)
def held_jobs(batches: BatchCustodian) -> Iterator[None]:
    batches.jobs.hold = True
    batches.set_sync_limit(0)  # every read of usage data is deferred unless a test says not
    yield
    batches.jobs.release()


def feed_head(document: bytes) -> tuple[str | None, list[str | None]]:
    """The feed's id and its links (everything of the head but the time it was written)."""
    root = etree.fromstring(document)
    return root.findtext(f"{ATOM}id"), [link.get("href") for link in root.findall(f"{ATOM}link")]


def test_a_deferred_read_builds_exactly_the_feed_a_synchronous_read_gives(
    batches: BatchCustodian, http: httpx.Client
) -> None:
    party = batches.register(unique_name("Large"))
    tokens = authorize(batches, party, ELECTRIC_SCOPE, "customer0001")
    resource, token = tokens["resourceURI"], tokens["access_token"]
    batches.set_sync_limit(EVERYTHING_SYNCHRONOUS)
    synchronous = read(http, resource, token)
    assert synchronous.status_code == 200
    batches.set_sync_limit(0)

    accepted = read(http, resource, token)
    assert accepted.status_code == 202, accepted.text
    job = accepted.headers["location"]
    assert job.startswith(f"{resource}/Job/")
    assert batches.jobs.release() == 1
    batches.receiver.wait_for(job)
    fetched = read(http, job, token)

    assert fetched.status_code == 200, fetched.text
    assert schema_errors(fetched.content) == []
    assert certification_problems(fetched.content) == []
    assert feed_head(fetched.content) == feed_head(synchronous.content)
    assert entries_of(fetched.content) == entries_of(synchronous.content)
    assert points_of(fetched.content)


def test_one_usage_point_is_deferred_under_its_subscription_too(
    batches: BatchCustodian, http: httpx.Client
) -> None:
    party = batches.register(unique_name("Large"))
    tokens = authorize(batches, party, ELECTRIC_SCOPE, "customer0002")
    resource, token = tokens["resourceURI"], tokens["access_token"]
    batches.set_sync_limit(EVERYTHING_SYNCHRONOUS)
    whole = read(http, resource, token).content
    point = next(iter(points_of(whole))).removeprefix("urn:uuid:")
    synchronous = read(http, f"{resource}/UsagePoint/{point}", token).content
    batches.set_sync_limit(0)

    accepted = read(http, f"{resource}/UsagePoint/{point}", token)
    assert accepted.status_code == 202
    job = accepted.headers["location"]
    assert job.startswith(f"{resource}/Job/")
    batches.jobs.release()
    fetched = read(http, job, token).content
    assert list(points_of(fetched)) == [f"urn:uuid:{point}"]
    assert entries_of(fetched) == entries_of(synchronous)


def test_only_reads_estimated_above_the_limit_are_deferred(
    batches: BatchCustodian, http: httpx.Client
) -> None:
    party = batches.register(unique_name("Large"))
    tokens = authorize(batches, party, ELECTRIC_SCOPE, "customer0003")
    resource, token = tokens["resourceURI"], tokens["access_token"]
    batches.set_sync_limit(100)
    # The last day of the seeded data: about 96 quarter-hours per channel.
    one_hour = f"{resource}?published-min=2026-10-31T00:00:00Z&published-max=2026-10-31T01:00:00Z"
    assert read(http, one_hour, token).status_code == 200
    assert read(http, resource, token).status_code == 202
    assert batches.jobs.held


def test_refused_and_malformed_requests_are_answered_by_the_feed_as_always(
    batches: BatchCustodian, http: httpx.Client
) -> None:
    party = batches.register(unique_name("Large"))
    tokens = authorize(batches, party, ELECTRIC_SCOPE, "customer0001")
    resource = tokens["resourceURI"]
    client = client_tokens(http, batches.custodian, party)["access_token"]
    assert read(http, resource, client).status_code == 403
    assert http.get(resource).status_code == 401
    malformed = read(http, f"{resource}?max-results=many", tokens["access_token"])
    assert malformed.status_code == 400
    assert read(http, f"{resource}/UsagePoint/nope", tokens["access_token"]).status_code == 404
    assert batches.jobs.held == []


def test_a_subscription_job_is_read_only_with_that_subscription_s_token(
    batches: BatchCustodian, http: httpx.Client
) -> None:
    party = batches.register(unique_name("Large"))
    own = authorize(batches, party, ELECTRIC_SCOPE, "customer0001")
    neighbour = authorize(batches, party, ELECTRIC_SCOPE, "customer0002")
    job = read(http, own["resourceURI"], own["access_token"]).headers["location"]
    batches.jobs.release()

    assert read(http, job, neighbour["access_token"]).status_code == 403
    moved = job.replace(own["resourceURI"], neighbour["resourceURI"])
    assert read(http, moved, neighbour["access_token"]).status_code == 404
    client = client_tokens(http, batches.custodian, party)["access_token"]
    assert read(http, job, client).status_code == 403
    assert http.get(job).status_code == 401
    assert read(http, job, own["access_token"]).status_code == 200


def test_a_job_whose_authorization_ended_fails_and_still_notifies(
    batches: BatchCustodian, http: httpx.Client, module_engine: Engine
) -> None:
    party = batches.register(unique_name("Large"))
    tokens = authorize(batches, party, ELECTRIC_SCOPE, "customer0001")
    job = read(http, tokens["resourceURI"], tokens["access_token"]).headers["location"]
    assert revoke(http, batches.custodian, party, tokens["refresh_token"]).status_code == 200

    batches.jobs.release()

    batches.receiver.wait_for(job)
    job_id = uuid.UUID(job.rsplit("/", 1)[1])
    with module_engine.connect() as connection:
        status, error = connection.execute(
            select(BatchJob.status, BatchJob.error).where(BatchJob.uuid == job_id)
        ).one()
        tags = connection.scalars(select(Notification.tag).where(Notification.body.contains(job)))
        assert list(tags) == [BATCH_READY]
    assert status == BatchStatus.FAILED.value
    assert "authorization ended" in (error or "")
    assert read(http, job, tokens["access_token"]).status_code == 401  # its token ended too
