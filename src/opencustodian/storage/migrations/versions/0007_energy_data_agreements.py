"""Energy Data Agreements (seed 003): third-party users, agreements, invitations, reports, email.

- ``retail_customers.username``/``password_hash`` become optional: a customer of record may
  share by an emailed agreement before registering for the portal (FR 6); ``language`` keeps
  the language preference (FR 1).
- ``third_party_applications.privacy_policy_uri``: the link every invitation shows (EM201).
- ``third_party_users`` (company users with a role, FR 10), ``energy_data_agreements`` (one per
  meter, FR 12), ``agreement_invitations`` (hashed single-use link tokens), ``agreement_reports``
  (one-time CSV reports) and ``outgoing_emails`` (the mail outbox).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STATUSES = (
    "'pending', 'complete', 'rejected', 'not_accepted', 'active', 'extension_pending', "
    "'terminated', 'expired'"
)


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _fk(column: str, table: str, target: str, ondelete: str | None = None) -> sa.Constraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("retail_customers") as batch_op:
        batch_op.alter_column("username", existing_type=sa.String(120), nullable=True)
        batch_op.alter_column("password_hash", existing_type=sa.String(200), nullable=True)
        batch_op.add_column(_text("language", 5, nullable=True))
    with op.batch_alter_table("third_party_applications") as batch_op:
        batch_op.add_column(_text("privacy_policy_uri", 500, nullable=True))
    _create_users()
    _create_agreements()
    _create_invitations()
    _create_reports()
    _create_emails()


def _create_users() -> None:
    table = "third_party_users"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        _text("username", 120),
        _text("password_hash", 200),
        _text("name", 100),
        _text("phone", 40),
        _text("email", 254),
        _text("role", 20),
        _when("created_at"),
        sa.CheckConstraint(
            "role IN ('administrator', 'agent', 'viewer')", name=op.f(f"ck_{table}_role")
        ),
        _fk("application_id", table, "third_party_applications"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("username", name=op.f(f"uq_{table}_username")),
    )
    op.create_index(op.f(f"ix_{table}_application_id"), table, ["application_id"])


def _create_agreements() -> None:
    table = "energy_data_agreements"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        _text("number", 12),
        _text("kind", 10),
        _text("status", 20),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("initiated_by", sa.Integer(), nullable=True),
        sa.Column("service_point_id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        _text("esiid", 40),
        _text("meter_number", 40),
        sa.Column("retail_customer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("customer_registered", sa.Boolean(), nullable=False),
        _text("customer_class", 12),
        _text("first_name", 100),
        _text("middle_initial", 1),
        _text("last_name", 100),
        _text("title", 100),
        _text("company_name", 100),
        _text("street", 100),
        _text("city", 100),
        _text("state", 2),
        _text("zip_code", 10),
        _text("phone", 100),
        _text("email", 254),
        _text("language", 5, nullable=True),
        _text("contact_name", 100),
        _text("contact_phone", 100),
        _text("contact_email", 254),
        _text("report_type", 10, nullable=True),
        _text("report_duration", 3, nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=True),
        _text("comments", 1000),
        _when("created_at"),
        _when("status_changed_at"),
        _when("invitation_expires_at"),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("proposed_end_date", sa.Date(), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        _text("ended_by", 20, nullable=True),
        sa.CheckConstraint("kind IN ('one_time', 'ongoing')", name=op.f(f"ck_{table}_kind")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f(f"ck_{table}_status")),
        sa.CheckConstraint(
            "customer_class IN ('residential', 'business')", name=op.f(f"ck_{table}_customer_class")
        ),
        _fk("application_id", table, "third_party_applications"),
        _fk("initiated_by", table, "third_party_users"),
        _fk("service_point_id", table, "service_points"),
        _fk("meter_id", table, "meters"),
        _fk("retail_customer_id", table, "retail_customers"),
        _fk("account_id", table, "accounts"),
        _fk("grant_id", table, "grants"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("uuid", name=op.f(f"uq_{table}_uuid")),
        sa.UniqueConstraint("number", name=op.f(f"uq_{table}_number")),
    )
    for column in (
        "status",
        "application_id",
        "service_point_id",
        "retail_customer_id",
        "last_name",
        "invitation_expires_at",
        "grant_id",
    ):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])
    op.create_index(
        "ix_energy_data_agreements_limit", table, ["application_id", "esiid", "kind", "created_at"]
    )


def _create_invitations() -> None:
    table = "agreement_invitations"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        _text("token_hash", 64),
        _text("issued_for", 20),
        _when("issued_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        _fk("agreement_id", table, "energy_data_agreements", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{table}_token_hash")),
    )
    op.create_index(op.f(f"ix_{table}_agreement_id"), table, ["agreement_id"])


def _create_reports() -> None:
    table = "agreement_reports"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        _text("status", 10),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("finished_at", nullable=True),
        _text("file_name", 200, nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        _text("sha256", 64, nullable=True),
        _text("error", 500, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'ready', 'failed')", name=op.f(f"ck_{table}_status")
        ),
        _fk("agreement_id", table, "energy_data_agreements", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("agreement_id", name=op.f(f"uq_{table}_agreement_id")),
    )
    op.create_index(op.f(f"ix_{table}_status"), table, ["status"])


def _create_emails() -> None:
    table = "outgoing_emails"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        _text("template", 20),
        _text("to_address", 254),
        _text("subject", 300),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        _text("sealed_secret", 300, nullable=True),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        _text("status", 10),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("next_attempt_at"),
        _when("sent_at", nullable=True),
        _text("last_error", 500, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'held')", name=op.f(f"ck_{table}_status")
        ),
        _fk("agreement_id", table, "energy_data_agreements", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_agreement_id"), table, ["agreement_id"])
    op.create_index("ix_outgoing_emails_due", table, ["status", "next_attempt_at"])


def downgrade() -> None:
    """Revert this revision."""
    for table in (
        "outgoing_emails",
        "agreement_reports",
        "agreement_invitations",
        "energy_data_agreements",
        "third_party_users",
    ):
        op.drop_table(table)
    with op.batch_alter_table("third_party_applications") as batch_op:
        batch_op.drop_column("privacy_policy_uri")
    with op.batch_alter_table("retail_customers") as batch_op:
        batch_op.drop_column("language")
