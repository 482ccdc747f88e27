"""Shared fixtures: a migrated database per test, on SQLite or PostgreSQL.

The suite runs once per backend: SQLite by default, PostgreSQL when
``OPENCUSTODIAN_TEST_DATABASE_URL`` names a server (an admin URL such as
``postgresql://postgres@127.0.0.1:5432/postgres``). On PostgreSQL each test gets a fresh
database cloned from a migrated template, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from opencustodian.storage import db
from tests.mail import smtp_server  # noqa: F401 - the SMTP server fixture, for every test

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.engine import Engine

ADMIN_URL = os.environ.get("OPENCUSTODIAN_TEST_DATABASE_URL")


def _admin_engine() -> Engine:
    assert ADMIN_URL is not None
    return create_engine(db.normalize_url(ADMIN_URL), isolation_level="AUTOCOMMIT")


def _database_url(name: str) -> str:
    assert ADMIN_URL is not None
    url = make_url(db.normalize_url(ADMIN_URL)).set(database=name)
    return url.render_as_string(hide_password=False)


def _create_database(name: str, template: str | None = None) -> None:
    admin = _admin_engine()
    clause = f" TEMPLATE {template}" if template else ""
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}{clause}"))
    admin.dispose()


def _drop_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def backend() -> str:
    """``postgresql`` when the suite runs against a server, else ``sqlite``."""
    return "postgresql" if ADMIN_URL else "sqlite"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated template database, made once per test process (PostgreSQL only)."""
    if not ADMIN_URL:
        yield None
        return
    name = f"oc_tpl_{uuid.uuid4().hex[:12]}"
    _create_database(name)
    engine = db.make_engine(_database_url(name))
    db.upgrade(engine)
    engine.dispose()
    yield name
    _drop_database(name)


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh database with no schema."""
    if not ADMIN_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"oc_t_{uuid.uuid4().hex[:12]}"
    _create_database(name)
    yield _database_url(name)
    _drop_database(name)


@pytest.fixture
def database_url(tmp_path: Path, pg_template: str | None) -> Iterator[str]:
    """The URL of a fresh, migrated database."""
    if pg_template is None:
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        engine = db.make_engine(url)
        db.upgrade(engine)
        engine.dispose()
        yield url
        return
    name = f"oc_t_{uuid.uuid4().hex[:12]}"
    _create_database(name, template=pg_template)
    yield _database_url(name)
    _drop_database(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated database."""
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()
