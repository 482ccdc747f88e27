"""A seeded utility with two third parties, their portal users, and the app on a loopback port.

``Sunny Solar`` (the party under test) has an administrator, an agent and a viewer; ``Other
Energy`` has an administrator of its own, for the cross-company checks. The app's mailer and
job dispatcher are recorders: the tests see which emails were queued and which follow-up jobs
were started after each commit, without an SMTP server or background threads.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import httpx
import pytest

from opencustodian.config import Environment, Settings
from opencustodian.demo.synthetic import seed_utility
from opencustodian.domain.agreements import ThirdPartyRole
from opencustodian.kit.passwords import hash_password
from opencustodian.profile import load_profile
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import ThirdPartyUser
from opencustodian.web.app import create_app
from tests.agreements import AGREEMENT_SEED_NOW, RecordingMailer
from tests.custodian import SECRET_KEY, register_third_party
from tests.functional.partner.helpers import (
    PASSWORD,
    Portal,
    RecordingJobs,
    application_id,
)
from tests.live import free_port, serving

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine


SHORT = {
    ThirdPartyRole.ADMINISTRATOR: "admin",
    ThirdPartyRole.AGENT: "agent",
    ThirdPartyRole.VIEWER: "viewer",
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One Argon2 hash of ``PASSWORD`` for every test user (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


def _add_users(engine: Engine, company: int, prefix: str, name: str, stored: str) -> None:
    """An administrator, an agent and a viewer of ``company`` (``sunny-admin``, …)."""
    with transaction(session_factory(engine)) as session:
        session.add_all(
            ThirdPartyUser(
                application_id=company,
                username=f"{prefix}-{SHORT[role]}",
                password_hash=stored,
                name=f"{name} {role.label}",
                email=f"{SHORT[role]}@{prefix}.example",
                phone="555-0199",
                role=role.value,
            )
            for role in ThirdPartyRole
        )


@pytest.fixture
def portal(engine: Engine, password_hash: str) -> Iterator[Portal]:
    """Ten customers (``customer0010`` never registered), two companies, the app."""
    seed_utility(
        engine, load_profile(), customers=10, seed=7, now=AGREEMENT_SEED_NOW, history_days=2
    )
    sunny = register_third_party(engine, "Sunny Solar")
    other = register_third_party(engine, "Other Energy")
    sunny_id = application_id(engine, sunny.client_id)
    other_id = application_id(engine, other.client_id)
    _add_users(engine, sunny_id, "sunny", "Jamie Rivera", password_hash)
    _add_users(engine, other_id, "other", "Alex Other", password_hash)
    port = free_port()
    settings = Settings(
        environment=Environment.TESTING,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
        base_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings, engine)
    mailer = RecordingMailer()
    jobs = RecordingJobs()
    app.state.context = dataclasses.replace(
        app.state.context, jobs=jobs, agreement_mailer=lambda _session: mailer
    )
    with (
        serving(app, port) as base_url,
        httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as client,
    ):
        portal = Portal(engine, client, sunny, other, sunny_id, other_id, mailer, jobs)
        with portal.browsers:
            yield portal
