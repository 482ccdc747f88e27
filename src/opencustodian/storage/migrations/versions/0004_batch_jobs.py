"""Batch jobs: Bulk and large Batch/Subscription feeds built in the background (202 + BatchList).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("usage_point", sa.String(length=36), nullable=True),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("self_href", sa.String(length=2500), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("byte_count", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.CheckConstraint("kind IN ('subscription', 'bulk')", name=op.f("ck_batch_jobs_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')", name=op.f("ck_batch_jobs_status")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["third_party_applications.id"],
            name=op.f("fk_batch_jobs_application_id_third_party_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_batch_jobs_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_jobs")),
        sa.UniqueConstraint("open_key", name=op.f("uq_batch_jobs_open_key")),
        sa.UniqueConstraint("uuid", name=op.f("uq_batch_jobs_uuid")),
    )
    with op.batch_alter_table("batch_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_batch_jobs_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_batch_jobs_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_batch_jobs_request_key"), ["request_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_batch_jobs_status"), ["status"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("batch_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_batch_jobs_request_key"))
        batch_op.drop_index(batch_op.f("ix_batch_jobs_grant_id"))
        batch_op.drop_index(batch_op.f("ix_batch_jobs_application_id"))

    op.drop_table("batch_jobs")
