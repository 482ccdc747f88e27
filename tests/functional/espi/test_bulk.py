"""Batch/Bulk over real HTTP: who may ask, what it holds, 202 → job → BatchList → feed, 409."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from lxml import etree
from sqlalchemy import select

from opencustodian.domain.events import EventTag
from opencustodian.storage.models import AuditEvent
from tests.conformance.link_rules import certification_problems
from tests.custodian import ELECTRIC_SCOPE
from tests.functional.espi.batch_server import BR_SCOPE, BULK_ID, batch_custodian
from tests.functional.espi.test_usage_feeds import ATOM, ESPI
from tests.functional.oauth.flows import client_tokens, customer_tokens, read, unique_name
from tests.receiver import running_receiver
from tests.xsd import schema_errors

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

    from tests.custodian import ThirdParty
    from tests.functional.espi.batch_server import BatchCustodian
    from tests.receiver import Receiver


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
    """Every test starts with jobs held (run by ``release``) and leaves none behind."""
    batches.jobs.hold = True
    yield
    batches.jobs.release()


def authorize(
    batches: BatchCustodian, party: ThirdParty, scope: str, username: str
) -> dict[str, Any]:
    """A customer's token response, signed in on a browser of their own."""
    with httpx.Client(timeout=30) as browser:
        return customer_tokens(browser, batches.custodian, party, scope, username=username)


def points_of(document: bytes) -> dict[str, str]:
    """UsagePoint id → its ``self`` href, for every UsagePoint entry."""
    found = {}
    for entry in etree.fromstring(document).iter(f"{ATOM}entry"):
        if entry.find(f"{ATOM}content/{ESPI}UsagePoint") is not None:
            (href,) = [
                link.get("href") for link in entry.iter(f"{ATOM}link") if link.get("rel") == "self"
            ]
            found[entry.findtext(f"{ATOM}id") or ""] = href or ""
    return found


def entries_of(document: bytes) -> set[tuple[str, str]]:
    """Every entry but the territory's LocalTimeParameters, as (id, content XML).

    LocalTimeParameters carries the time of the read; every other entry is the same whenever
    and wherever it is read.
    """
    found = set()
    for entry in etree.fromstring(document).iter(f"{ATOM}entry"):
        content = entry.find(f"{ATOM}content")
        assert content is not None
        if content.find(f"{ESPI}LocalTimeParameters") is None:
            found.add((entry.findtext(f"{ATOM}id") or "", etree.tostring(entry).decode()))
    return found


def bulk_uri(batches: BatchCustodian, bulk_id: str = BULK_ID) -> str:
    return f"{batches.resource_root}/Batch/Bulk/{bulk_id}"


def test_bulk_holds_exactly_the_br_grants_of_the_calling_party_each_under_its_rights(
    batches: BatchCustodian, http: httpx.Client
) -> None:
    party = batches.register(unique_name("Bulk"))
    other = batches.register(unique_name("Other"))
    first = authorize(batches, party, BR_SCOPE, "customer0001")
    second = authorize(batches, party, BR_SCOPE, "customer0002")
    authorize(batches, party, ELECTRIC_SCOPE, "customer0003")  # no BR: not in the Bulk
    authorize(batches, other, BR_SCOPE, "customer0003")  # BR=7, but another party's
    synchronous = {
        tokens["resourceURI"]: read(http, tokens["resourceURI"], tokens["access_token"]).content
        for tokens in (first, second)
    }
    client = client_tokens(http, batches.custodian, party)

    accepted = read(http, bulk_uri(batches), client["access_token"])
    assert accepted.status_code == 202, accepted.text
    job = accepted.headers["location"]
    assert job.startswith(f"{bulk_uri(batches)}/Job/")
    assert accepted.headers["retry-after"].isdigit()
    assert batches.jobs.release() == 1
    batches.receiver.wait_for(job)
    fetched = read(http, job, client["access_token"])

    assert fetched.status_code == 200, fetched.text
    document = fetched.content
    assert schema_errors(document) == []
    assert certification_problems(document) == []
    expected: dict[str, str] = {}
    for resource_uri, feed in synchronous.items():
        subscription = resource_uri.rsplit("/", 1)[1]
        points = points_of(feed)
        assert points
        assert all(f"/Subscription/{subscription}/UsagePoint/" in href for href in points.values())
        expected.update(points)
        # Each grant's part of the Bulk is exactly what its own subscription feed holds.
        assert entries_of(feed) <= entries_of(document)
    assert points_of(document) == expected
    assert entries_of(document) == set().union(*(entries_of(feed) for feed in synchronous.values()))


def test_bulk_refuses_every_token_but_the_client_access_token(
    batches: BatchCustodian, http: httpx.Client
) -> None:
    party = batches.register(unique_name("Bulk"))
    customer = authorize(batches, party, BR_SCOPE, "customer0001")
    refused = {
        "customer": read(http, bulk_uri(batches), customer["access_token"]),
        "registration": read(http, bulk_uri(batches), party.registration_token),
        "none": http.get(bulk_uri(batches)),
    }
    assert refused["customer"].status_code == 403
    assert refused["registration"].status_code in {401, 403}
    assert refused["none"].status_code == 401
    for response in refused.values():
        assert "job" not in response.text
    assert batches.jobs.held == []


def test_a_job_is_the_asking_party_s_alone(batches: BatchCustodian, http: httpx.Client) -> None:
    party = batches.register(unique_name("Bulk"))
    intruder = batches.register(unique_name("Intruder"))
    authorize(batches, party, BR_SCOPE, "customer0001")
    customer = authorize(batches, party, BR_SCOPE, "customer0002")
    own = client_tokens(http, batches.custodian, party)["access_token"]
    job = read(http, bulk_uri(batches), own).headers["location"]
    batches.jobs.release()

    foreign = read(http, job, client_tokens(http, batches.custodian, intruder)["access_token"])
    assert foreign.status_code == 404
    assert read(http, job, customer["access_token"]).status_code == 403
    assert http.get(job).status_code == 401
    other_bulk = job.replace(f"/Bulk/{BULK_ID}/", "/Bulk/8/")
    assert read(http, other_bulk, own).status_code == 404
    assert read(http, f"{bulk_uri(batches)}/Job/not-a-uuid", own).status_code == 404
    assert read(http, job, own).status_code == 200


def test_a_duplicate_request_while_its_job_is_open_is_409_naming_the_job(
    batches: BatchCustodian, http: httpx.Client
) -> None:
    party = batches.register(unique_name("Bulk"))
    authorize(batches, party, BR_SCOPE, "customer0001")
    token = client_tokens(http, batches.custodian, party)["access_token"]

    first = read(http, bulk_uri(batches), token)
    assert first.status_code == 202
    job = first.headers["location"]
    duplicate = read(http, f"{bulk_uri(batches)}?unknown=ignored", token)
    assert duplicate.status_code == 409
    assert duplicate.json()["job"] == job
    window = read(http, f"{bulk_uri(batches)}?published-min=2026-10-31T00:00:00Z", token)
    assert window.status_code == 202  # another window is another request
    assert window.headers["location"] != job
    pending = read(http, job, token)
    assert pending.status_code == 202
    assert pending.headers["retry-after"].isdigit()

    assert batches.jobs.release() == 2
    assert read(http, job, token).status_code == 200
    again = read(http, bulk_uri(batches), token)  # the job is done: a new request is new
    assert again.status_code == 202
    assert again.headers["location"] != job


def test_malformed_bulk_queries_are_400(batches: BatchCustodian, http: httpx.Client) -> None:
    party = batches.register(unique_name("Bulk"))
    token = client_tokens(http, batches.custodian, party)["access_token"]
    response = read(http, f"{bulk_uri(batches)}?published-min=yesterday", token)
    assert response.status_code == 400
    assert "published-min" in response.json()["error_description"]
    assert batches.jobs.held == []


def test_the_in_process_runner_builds_and_notifies_on_its_own(
    batches: BatchCustodian, http: httpx.Client, module_engine: Engine
) -> None:
    batches.jobs.hold = False
    party = batches.register(unique_name("Bulk"))
    grant = authorize(batches, party, BR_SCOPE, "customer0002")
    token = client_tokens(http, batches.custodian, party)["access_token"]

    job = read(http, bulk_uri(batches), token).headers["location"]
    batches.receiver.wait_for(job, timeout=30)
    plain = read(http, job, token)
    with http.stream(
        "GET", job, headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    ) as response:
        assert response.headers["content-encoding"] == "gzip"
        compressed = b"".join(response.iter_raw())
    assert plain.status_code == 200
    assert gzip.decompress(compressed) == plain.content
    assert schema_errors(plain.content) == []
    # The customer's access log learns of the read: one event naming the batch.
    subject = f"grant:{grant['authorizationURI'].rsplit('/', 1)[1]}"
    with module_engine.connect() as connection:
        events = connection.execute(
            select(AuditEvent.data, AuditEvent.actor).where(
                AuditEvent.tag == EventTag.DATA_READ.value, AuditEvent.subject == subject
            )
        ).all()
    assert [event.data["batch"] for event in events] == [job.rsplit("/", 1)[1]]
    assert events[0].actor == f"client:{party.client_id}"
    assert events[0].data["usage_points"] == [
        point.removeprefix("urn:uuid:") for point in points_of(plain.content)
    ]
