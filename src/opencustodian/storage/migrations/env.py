"""Alembic environment: runs migrations on the engine handed in by ``storage.db``."""

from __future__ import annotations

from alembic import context

from opencustodian.storage.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
    )
    context.run_migrations()
