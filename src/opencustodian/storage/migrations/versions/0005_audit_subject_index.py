"""Audit events by subject: the portal's access log looks them up by subject and time.

``storage.self_service.SqlSelfServiceDirectory.data_reads`` filters ``audit_events`` on
``subject IN (the customer's grants)`` and orders by ``occurred_at``; without this index every
page of the log scans the whole audit table, which grows with every third-party read.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_audit_events_subject_occurred_at",
        "audit_events",
        ["subject", "occurred_at"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_audit_events_subject_occurred_at", table_name="audit_events")
