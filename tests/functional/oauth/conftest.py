"""One live custodian per test module, and a fresh third party per test.

Starting a server costs about two seconds, so the OAuth tests share one per module. They stay
independent because each test registers its own third party (its own clients, grants and
token rate-limit budget) and signs its customer in on its own HTTP client.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

from opencustodian.storage import db
from tests.conftest import ADMIN_URL, _create_database, _database_url, _drop_database
from tests.custodian import live_custodian
from tests.functional.oauth.flows import unique_name

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian, ThirdParty


@pytest.fixture(scope="module")
def module_engine(
    tmp_path_factory: pytest.TempPathFactory, pg_template: str | None
) -> Iterator[Engine]:
    """A fresh, migrated database for one test module (SQLite file or PostgreSQL clone)."""
    if pg_template is None or not ADMIN_URL:
        url = f"sqlite:///{tmp_path_factory.mktemp('oauth') / 'custodian.sqlite3'}"
        engine = db.make_engine(url)
        db.upgrade(engine)
        yield engine
        engine.dispose()
        return
    name = f"oc_m_{uuid.uuid4().hex[:12]}"
    _create_database(name, template=pg_template)
    engine = db.make_engine(_database_url(name))
    yield engine
    engine.dispose()
    _drop_database(name)


@pytest.fixture(scope="module")
def server(module_engine: Engine) -> Iterator[LiveCustodian]:
    """A live custodian shared by the tests of one module."""
    with live_custodian(module_engine) as running:
        yield running


@pytest.fixture
def party(server: LiveCustodian) -> ThirdParty:
    """A third party registered for this test alone."""
    return server.register(unique_name())


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """An HTTP client (a browser's cookie jar for the customer, a TP's connection)."""
    with httpx.Client(timeout=30) as client:
        yield client
