"""CDS customer data and ECIS: timestamps, bill facts, certificates, aggregations, signed requests.

- ``created_at``/``updated_at`` on accounts, tenures, service points, meters and bills: CDS
  objects carry ``cds_created`` and ``cds_modified`` (CDS-WG3-01 §10). Existing rows get the
  migration's time.
- Bills gain ``due_on``/``paid_on`` (ECIS ``invoice_due_date``/``invoice_paid``, CDS
  ``amount_due_date``) and line items a ``category`` (what a charge pays for; CDS line-item
  types and the ECIS invoice-detail groups derive from it). Existing items become ``other``.
- ``energy_attribute_certificates`` (§10.9) and ``aggregations`` with their members (§10.7).
- Grants keep their RFC 9396 ``authorization_details``; applications a JWK Set and, for HS256
  signers only, a sealed client secret; ``used_jwt_ids`` refuses a replayed signed request.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:31:37.876853
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIMESTAMPED = ("accounts", "account_service_points", "meters", "bills")
CATEGORIES = (
    "'fixed', 'energy', 'distribution', 'transmission', 'stranded_costs', "
    "'conservation', 'tax', 'credit', 'other'"
)


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()
    )


def _stamps() -> list[sa.Column[object]]:
    return [_timestamp("created_at"), _timestamp("updated_at")]


def upgrade() -> None:
    """Apply this revision."""
    for table in TIMESTAMPED:
        with op.batch_alter_table(table) as batch_op:
            for column in _stamps():
                batch_op.add_column(column)
    with op.batch_alter_table("service_points") as batch_op:
        batch_op.add_column(_timestamp("updated_at"))
    with op.batch_alter_table("bills") as batch_op:
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("paid_on", sa.Date(), nullable=True))
    with op.batch_alter_table("bill_line_items") as batch_op:
        batch_op.add_column(
            sa.Column("category", sa.String(20), nullable=False, server_default="other")
        )
        batch_op.create_check_constraint("category", f"category IN ({CATEGORIES})")
    with op.batch_alter_table("grants") as batch_op:
        batch_op.add_column(sa.Column("authorization_details", sa.JSON(), nullable=True))
    with op.batch_alter_table("third_party_applications") as batch_op:
        batch_op.add_column(sa.Column("jwks", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("client_secret_sealed", sa.String(300), nullable=True))
    _create_certificates()
    _create_aggregations()
    _create_used_jwt_ids()


def _create_certificates() -> None:
    op.create_table(
        "energy_attribute_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("beneficiary_type", sa.String(20), nullable=False),
        sa.Column("eac_numbers", sa.JSON(), nullable=False),
        sa.Column("eac_format", sa.String(60), nullable=False),
        sa.Column("eac_data_url", sa.String(500), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_energy_attribute_certificates_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_attribute_certificates")),
        sa.UniqueConstraint("uuid", name=op.f("uq_energy_attribute_certificates_uuid")),
    )
    op.create_index(
        op.f("ix_energy_attribute_certificates_account_id"),
        "energy_attribute_certificates",
        ["account_id"],
    )


def _create_aggregations() -> None:
    op.create_table(
        "aggregations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("aggregation_number", sa.String(60), nullable=True),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("consent_requirements", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregations")),
        sa.UniqueConstraint("aggregation_number", name=op.f("uq_aggregations_aggregation_number")),
        sa.UniqueConstraint("uuid", name=op.f("uq_aggregations_uuid")),
    )
    op.create_table(
        "aggregation_members",
        sa.Column("aggregation_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["aggregation_id"],
            ["aggregations.id"],
            name=op.f("fk_aggregation_members_aggregation_id_aggregations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_aggregation_members_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint(
            "aggregation_id", "service_point_id", name=op.f("pk_aggregation_members")
        ),
    )
    op.create_index(
        op.f("ix_aggregation_members_service_point_id"),
        "aggregation_members",
        ["service_point_id"],
    )


def _create_used_jwt_ids() -> None:
    op.create_table(
        "used_jwt_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("jti", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["third_party_applications.id"],
            name=op.f("fk_used_jwt_ids_application_id_third_party_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_jwt_ids")),
        sa.UniqueConstraint("application_id", "jti", name=op.f("uq_used_jwt_ids_application_id")),
    )
    op.create_index(op.f("ix_used_jwt_ids_expires_at"), "used_jwt_ids", ["expires_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("used_jwt_ids")
    op.drop_table("aggregation_members")
    op.drop_table("aggregations")
    op.drop_table("energy_attribute_certificates")
    with op.batch_alter_table("third_party_applications") as batch_op:
        batch_op.drop_column("client_secret_sealed")
        batch_op.drop_column("jwks")
    with op.batch_alter_table("grants") as batch_op:
        batch_op.drop_column("authorization_details")
    with op.batch_alter_table("bill_line_items") as batch_op:
        batch_op.drop_constraint("category", type_="check")
        batch_op.drop_column("category")
    with op.batch_alter_table("bills") as batch_op:
        batch_op.drop_column("paid_on")
        batch_op.drop_column("due_on")
    with op.batch_alter_table("service_points") as batch_op:
        batch_op.drop_column("updated_at")
    for table in TIMESTAMPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("updated_at")
            batch_op.drop_column("created_at")
