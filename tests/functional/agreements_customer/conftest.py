"""The customer's agreement pages, driven in-process on a seeded utility.

An httpx client hands each request straight to the ASGI app (no server, no port).

Agreements are initiated through ``AgreementService`` at the real clock (the pages decide with
``utc_now``), with a recording mailer that keeps each invitation's link token. The app under
test gets a recording mailer and a recording job dispatcher too: the pages are what is tested
here, and what they start after a commit is asserted instead of delivered.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from opencustodian.config import Environment, Settings
from opencustodian.web.app import create_app
from tests.agreements import RecordingMailer, seed_agreement_utility
from tests.custodian import SECRET_KEY
from tests.functional.agreements_customer.helpers import (
    Portal,
    RecordingJobs,
    in_process_client,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine


@pytest.fixture
def party(engine: Engine) -> int:
    """Ten synthetic customers (``customer0010`` unregistered) and the third party's id."""
    return seed_agreement_utility(engine)


@pytest.fixture
def portal(engine: Engine, party: int) -> Iterator[Portal]:
    """The custodian app in-process, with recording mail and jobs, and a cookie-keeping client."""
    settings = Settings(
        environment=Environment.TESTING,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
        base_url="http://testserver",
    )
    app = create_app(settings, engine)
    mailer, jobs = RecordingMailer(), RecordingJobs()
    app.state.context = dataclasses.replace(
        app.state.context, jobs=jobs, agreement_mailer=lambda _session: mailer
    )
    with in_process_client(app) as client:
        yield Portal(client, engine, party, mailer, jobs)
