"""A live custodian for batch tests: the test decides when jobs run and how large a feed may be.

``HeldJobs`` keeps the batch jobs the custodian hands to its job runner until the test calls
``release``, which builds them in the test's own thread; with ``hold`` off they go to the real
in-process runner (a background thread). ``BatchCustodian.set_sync_limit`` changes the
profile's ``sync_feed_max_readings`` of the running app, so one server answers both the
synchronous and the deferred form of the same request.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from opencustodian.config import Environment, Settings
from opencustodian.jobs.batches import build_batch
from opencustodian.web.app import create_app
from tests.custodian import (
    BULK_SCOPE,
    ELECTRIC_SCOPE,
    SECRET_KEY,
    LiveCustodian,
    register_third_party,
    seed_small_utility,
)
from tests.live import free_port, serving

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

    from opencustodian.jobs.batches import BatchEnvironment
    from opencustodian.jobs.queue import JobDispatcher
    from tests.custodian import ThirdParty
    from tests.receiver import Receiver

BULK_ID = "7"
#: A customer scope carrying the bulk id (PG&E's form: FB 35 with BR, research/espi.md §11).
BR_SCOPE = (
    f"FB=1_3_4_5_35;IntervalDuration=900;BlockDuration=Daily;HistoryLength=63072000;BR={BULK_ID};"
)


@dataclass
class HeldJobs:
    """A job dispatcher that holds batch jobs until released (notifications pass through)."""

    inner: JobDispatcher
    hold: bool = True
    held: list[tuple[BatchEnvironment, int]] = field(default_factory=list)

    def notifications_queued(self) -> None:
        self.inner.notifications_queued()

    def emails_queued(self) -> None:
        self.inner.emails_queued()

    def report_requested(self, agreement_id: int) -> None:
        self.inner.report_requested(agreement_id)

    def batch_requested(self, environment: BatchEnvironment, job_id: int) -> None:
        if self.hold:
            self.held.append((environment, job_id))
        else:
            self.inner.batch_requested(environment, job_id)

    def release(self) -> int:
        """Build every held job here and now (notifications included); how many ran."""
        ran = 0
        while self.held:
            environment, job_id = self.held.pop(0)
            ran += build_batch(environment, job_id) is not None
        return ran


@dataclass
class BatchCustodian:
    """The running custodian, its app, its job dispatcher and the notification receiver."""

    custodian: LiveCustodian
    app: FastAPI
    jobs: HeldJobs
    receiver: Receiver

    @property
    def base_url(self) -> str:
        return self.custodian.base_url

    @property
    def resource_root(self) -> str:
        return f"{self.custodian.base_url}/espi/1_1/resource"

    def register(self, name: str, *scopes: str) -> ThirdParty:
        """A third party with these scopes whose notifications reach the receiver."""
        chosen = scopes or (BR_SCOPE, ELECTRIC_SCOPE, BULK_SCOPE)
        return self.custodian.register(name, scopes=chosen, notification_uri=self.receiver.url)

    def set_sync_limit(self, readings: int) -> None:
        """Make reads estimated above ``readings`` deferred (the profile's limit, live)."""
        context = self.app.state.context
        limits = replace(context.profile.limits, sync_feed_max_readings=readings)
        self.app.state.context = replace(context, profile=replace(context.profile, limits=limits))


@contextmanager
def batch_custodian(
    engine: Engine,
    receiver: Receiver,
    batch_dir: Path,
    *,
    seed: bool = True,
    hold: bool = True,
    **settings: Any,
) -> Iterator[BatchCustodian]:
    """Serve the custodian over ``engine`` with results in ``batch_dir``.

    Batch jobs are held for ``release`` when ``hold`` (also those resumed at start-up).
    """
    if seed:
        seed_small_utility(engine)
    third_party = register_third_party(engine, "Bulk Solar", notification_uri=receiver.url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(
        Settings(
            environment=Environment.TESTING,
            database_url=str(engine.url),
            secret_key=SECRET_KEY,
            base_url=base_url,
            batch_dir=batch_dir,
            **settings,
        ),
        engine,
    )
    jobs = HeldJobs(app.state.context.jobs, hold=hold)
    app.state.context = replace(app.state.context, jobs=jobs)
    with serving(app, port):
        yield BatchCustodian(LiveCustodian(base_url, engine, third_party), app, jobs, receiver)
