"""Initial data model: customers, accounts, service points, meters, readings, bills, audit.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 02:03:42.042716
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_events_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_events_tag"), ["tag"], unique=False)

    op.create_table(
        "reading_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("commodity", sa.SmallInteger(), nullable=True),
        sa.Column("kind", sa.SmallInteger(), nullable=True),
        sa.Column("uom", sa.SmallInteger(), nullable=True),
        sa.Column("power_of_ten_multiplier", sa.SmallInteger(), nullable=False),
        sa.Column("accumulation_behaviour", sa.SmallInteger(), nullable=True),
        sa.Column("flow_direction", sa.SmallInteger(), nullable=True),
        sa.Column("interval_length", sa.Integer(), nullable=True),
        sa.Column("currency", sa.SmallInteger(), nullable=True),
        sa.Column("data_qualifier", sa.SmallInteger(), nullable=True),
        sa.Column("default_quality", sa.SmallInteger(), nullable=True),
        sa.Column("measuring_period", sa.SmallInteger(), nullable=True),
        sa.Column("phase", sa.SmallInteger(), nullable=True),
        sa.Column("time_attribute", sa.SmallInteger(), nullable=True),
        sa.Column("tou", sa.SmallInteger(), nullable=True),
        sa.Column("aggregate", sa.SmallInteger(), nullable=True),
        sa.Column("consumption_tier", sa.SmallInteger(), nullable=True),
        sa.Column("cpp", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_types")),
        sa.UniqueConstraint("uuid", name=op.f("uq_reading_types_uuid")),
    )
    op.create_table(
        "retail_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("is_business", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retail_customers")),
        sa.UniqueConstraint("username", name=op.f("uq_retail_customers_username")),
        sa.UniqueConstraint("uuid", name=op.f("uq_retail_customers_uuid")),
    )
    op.create_table(
        "service_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("zip_code", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_locations")),
        sa.UniqueConstraint("uuid", name=op.f("uq_service_locations_uuid")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("account_number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account_class", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("billing_zip", sa.String(length=10), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "account_class IN ('residential', 'commercial')", name=op.f("ck_accounts_account_class")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'closed')", name=op.f("ck_accounts_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["retail_customers.id"],
            name=op.f("fk_accounts_customer_id_retail_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("account_number", name=op.f("uq_accounts_account_number")),
        sa.UniqueConstraint("uuid", name=op.f("uq_accounts_uuid")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "service_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("esiid", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("service_location_id", sa.Integer(), nullable=True),
        sa.Column("commodity", sa.String(length=20), nullable=False),
        sa.Column("meter_category", sa.String(length=20), nullable=False),
        sa.Column("net_metered", sa.Boolean(), nullable=False),
        sa.Column("rate_plan", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "commodity IN ('electricity', 'gas', 'water')", name=op.f("ck_service_points_commodity")
        ),
        sa.CheckConstraint(
            "meter_category IN ('ami', 'legacy_interval', 'non_interval')",
            name=op.f("ck_service_points_meter_category"),
        ),
        sa.ForeignKeyConstraint(
            ["service_location_id"],
            ["service_locations.id"],
            name=op.f("fk_service_points_service_location_id_service_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_points")),
        sa.UniqueConstraint("esiid", name=op.f("uq_service_points_esiid")),
        sa.UniqueConstraint("uuid", name=op.f("uq_service_points_uuid")),
    )
    with op.batch_alter_table("service_points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_points_service_location_id"),
            ["service_location_id"],
            unique=False,
        )

    op.create_table(
        "account_service_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=False),
        sa.Column("move_in", sa.Date(), nullable=False),
        sa.Column("move_out", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "move_out IS NULL OR move_out > move_in",
            name=op.f("ck_account_service_points_tenure_order"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_service_points_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_account_service_points_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_service_points")),
        sa.UniqueConstraint(
            "account_id",
            "service_point_id",
            "move_in",
            name=op.f("uq_account_service_points_account_id"),
        ),
    )
    with op.batch_alter_table("account_service_points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_service_points_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_account_service_points_service_point_id"),
            ["service_point_id"],
            unique=False,
        )

    op.create_table(
        "bills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("rate_plan", sa.String(length=60), nullable=False),
        sa.Column("usage", sa.Numeric(precision=16, scale=4), nullable=False),
        sa.Column("usage_unit", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_bills_period_order")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bills_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_bills_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bills")),
        sa.UniqueConstraint(
            "account_id", "service_point_id", "period_start", name=op.f("uq_bills_account_id")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_bills_uuid")),
    )
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bills_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bills_service_point_id"), ["service_point_id"], unique=False
        )

    op.create_table(
        "meter_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=False),
        sa.Column("reading_type_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "channel IN ('forward', 'reverse', 'net')", name=op.f("ck_meter_readings_channel")
        ),
        sa.ForeignKeyConstraint(
            ["reading_type_id"],
            ["reading_types.id"],
            name=op.f("fk_meter_readings_reading_type_id_reading_types"),
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_meter_readings_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_readings")),
        sa.UniqueConstraint("uuid", name=op.f("uq_meter_readings_uuid")),
    )
    with op.batch_alter_table("meter_readings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_readings_service_point_id"), ["service_point_id"], unique=False
        )

    op.create_table(
        "meters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=False),
        sa.Column("meter_number", sa.String(length=40), nullable=False),
        sa.Column("installed_on", sa.Date(), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_meters_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
        sa.UniqueConstraint("meter_number", name=op.f("uq_meters_meter_number")),
        sa.UniqueConstraint("uuid", name=op.f("uq_meters_uuid")),
    )
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meters_service_point_id"), ["service_point_id"], unique=False
        )

    op.create_table(
        "bill_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "kind IN ('delivery', 'supply', 'esco', 'tax')", name=op.f("ck_bill_sections_kind")
        ),
        sa.ForeignKeyConstraint(
            ["bill_id"],
            ["bills.id"],
            name=op.f("fk_bill_sections_bill_id_bills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_sections")),
    )
    with op.batch_alter_table("bill_sections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bill_sections_bill_id"), ["bill_id"], unique=False)

    op.create_table(
        "interval_readings",
        sa.Column("meter_reading_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=True),
        sa.Column("quality", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meter_reading_id"],
            ["meter_readings.id"],
            name=op.f("fk_interval_readings_meter_reading_id_meter_readings"),
        ),
        sa.PrimaryKeyConstraint("meter_reading_id", "start", name=op.f("pk_interval_readings")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "reading_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_reading_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("old_duration", sa.Integer(), nullable=False),
        sa.Column("old_value", sa.BigInteger(), nullable=False),
        sa.Column("old_cost", sa.BigInteger(), nullable=True),
        sa.Column("old_quality", sa.SmallInteger(), nullable=True),
        sa.Column("new_duration", sa.Integer(), nullable=False),
        sa.Column("new_value", sa.BigInteger(), nullable=False),
        sa.Column("new_cost", sa.BigInteger(), nullable=True),
        sa.Column("new_quality", sa.SmallInteger(), nullable=True),
        sa.Column("revised_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_reading_id"],
            ["meter_readings.id"],
            name=op.f("fk_reading_revisions_meter_reading_id_meter_readings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_revisions")),
    )
    with op.batch_alter_table("reading_revisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reading_revisions_meter_reading_start", ["meter_reading_id", "start"], unique=False
        )

    op.create_table(
        "bill_line_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=16, scale=4), nullable=True),
        sa.Column("unit", sa.String(length=10), nullable=True),
        sa.Column("rate", sa.Numeric(precision=14, scale=6), nullable=True),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["bill_sections.id"],
            name=op.f("fk_bill_line_items_section_id_bill_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_line_items")),
    )
    with op.batch_alter_table("bill_line_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bill_line_items_section_id"), ["section_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("bill_line_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_line_items_section_id"))

    op.drop_table("bill_line_items")
    with op.batch_alter_table("reading_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_reading_revisions_meter_reading_start")

    op.drop_table("reading_revisions")
    op.drop_table("interval_readings")
    with op.batch_alter_table("bill_sections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_sections_bill_id"))

    op.drop_table("bill_sections")
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meters_service_point_id"))

    op.drop_table("meters")
    with op.batch_alter_table("meter_readings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_readings_service_point_id"))

    op.drop_table("meter_readings")
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bills_service_point_id"))
        batch_op.drop_index(batch_op.f("ix_bills_account_id"))

    op.drop_table("bills")
    with op.batch_alter_table("account_service_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_service_points_service_point_id"))
        batch_op.drop_index(batch_op.f("ix_account_service_points_account_id"))

    op.drop_table("account_service_points")
    with op.batch_alter_table("service_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_points_service_location_id"))

    op.drop_table("service_points")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_customer_id"))

    op.drop_table("accounts")
    op.drop_table("service_locations")
    op.drop_table("retail_customers")
    op.drop_table("reading_types")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_tag"))
        batch_op.drop_index(batch_op.f("ix_audit_events_occurred_at"))

    op.drop_table("audit_events")
