"""Alembic migrations of the custodian schema."""
