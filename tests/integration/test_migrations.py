"""Every migration runs up and down, and the migrated schema matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from opencustodian.storage import db
from opencustodian.storage.models import Base


def _schema_diff(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url):
    engine = db.make_engine(empty_database_url)
    assert not db.is_initialized(engine)

    db.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"interval_readings", "reading_revisions", "accounts", "bills"} <= tables

    db.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    db.upgrade(engine)
    assert "interval_readings" in inspect(engine).get_table_names()
    engine.dispose()


def test_migrated_schema_matches_the_models(engine):
    assert _schema_diff(engine) == []


def test_upgrade_is_idempotent(engine):
    db.upgrade(engine)
    assert db.is_initialized(engine)
    assert _schema_diff(engine) == []
