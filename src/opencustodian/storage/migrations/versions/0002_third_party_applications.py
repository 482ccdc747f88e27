"""Third-party applications (ESPI ApplicationInformation, CDS clients) with hashed secrets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:43:09.596568
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "third_party_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_secret_hash", sa.String(length=64), nullable=False),
        sa.Column("registration_token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("logo_uri", sa.String(length=500), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scope_selection_uri", sa.String(length=500), nullable=True),
        sa.Column("notification_uri", sa.String(length=500), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('test', 'production', 'suspended', 'revoked')",
            name=op.f("ck_third_party_applications_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_third_party_applications")),
        sa.UniqueConstraint("client_id", name=op.f("uq_third_party_applications_client_id")),
        sa.UniqueConstraint(
            "registration_token_hash",
            name=op.f("uq_third_party_applications_registration_token_hash"),
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_third_party_applications_uuid")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("third_party_applications")
