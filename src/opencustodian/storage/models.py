"""Tables of the custodian's data model.

Low-cardinality entities are typed ORM classes; interval readings are a plain Core table moved
in bulk (a meter-year at 15 minutes is 35,040 rows), keyed by (meter reading, start) so a
corrected value replaces the provisional one in place while ``reading_revisions`` keeps the old.
Third-party applications, grants, tokens, agreements, notifications and jobs get their own
modules beside this one when their issues land.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID  # for columns declared after a class's own ``uuid`` attribute

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from opencustodian.kit.time import require_aware, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no time zone type and hands back naive values; this type refuses naive input and
    re-attaches UTC on the way out, so no naive datetime ever leaves storage.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        """Store the instant in UTC."""
        del dialect
        return None if value is None else require_aware(value).astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        """Return an aware UTC datetime."""
        del dialect
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


MONEY = Numeric(14, 2)
QUANTITY = Numeric(16, 4)


class Base(DeclarativeBase):
    """Declarative base sharing one metadata with the Core tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UtcDateTime(),
        uuid.UUID: Uuid(),
        Decimal: MONEY,
    }


class RetailCustomer(Base):
    """A person or business who logs in to the customer portal."""

    __tablename__ = "retail_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    #: None until the customer registers for the portal (seed 003 FR 6: a customer of record
    #: may share data by an emailed agreement without ever having registered).
    username: Mapped[str | None] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_business: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Preferred language of correspondence (``en``/``es``), None when never stated.
    language: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    @property
    def registered(self) -> bool:
        """Whether the customer has a portal login."""
        return self.username is not None

    accounts: Mapped[list[Account]] = relationship(back_populates="customer", lazy="raise")


class ServiceLocation(Base):
    """A premises address where one or more service points are."""

    __tablename__ = "service_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    street: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    zip_code: Mapped[str] = mapped_column(String(10))


class Account(Base):
    """A customer's billing relationship; verified by its number and the mailing ZIP."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("account_class IN ('residential', 'commercial')", name="account_class"),
        CheckConstraint("status IN ('active', 'suspended', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    account_number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("retail_customers.id"), index=True)
    account_class: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")
    billing_zip: Mapped[str] = mapped_column(String(10))
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    # CDS ``cds_created``/``cds_modified`` (CDS-WG3-01 §10): when the row was made and changed.
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    customer: Mapped[RetailCustomer] = relationship(back_populates="accounts", lazy="raise")


class ServicePoint(Base):
    """Where a commodity is delivered and measured (ESPI UsagePoint, CDS Service Point).

    ``esiid`` is the utility's durable service identifier (Texas-style ESIID): it stays with the
    premises when a meter is exchanged, so it lives here rather than on the meter.
    """

    __tablename__ = "service_points"
    __table_args__ = (
        CheckConstraint("commodity IN ('electricity', 'gas', 'water')", name="commodity"),
        CheckConstraint(
            "meter_category IN ('ami', 'legacy_interval', 'non_interval')", name="meter_category"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    esiid: Mapped[str | None] = mapped_column(String(40), unique=True)
    title: Mapped[str | None] = mapped_column(String(200))
    service_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_locations.id"), index=True
    )
    commodity: Mapped[str] = mapped_column(String(20))
    meter_category: Mapped[str] = mapped_column(String(20), default="ami")
    net_metered: Mapped[bool] = mapped_column(Boolean, default=False)
    rate_plan: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Meter(Base):
    """A physical meter installed at a service point for a span of time."""

    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"), index=True)
    meter_number: Mapped[str] = mapped_column(String(40), unique=True)
    installed_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class AccountServicePoint(Base):
    """Which account held a service point when: move-in inclusive, move-out exclusive."""

    __tablename__ = "account_service_points"
    __table_args__ = (
        UniqueConstraint("account_id", "service_point_id", "move_in"),
        CheckConstraint("move_out IS NULL OR move_out > move_in", name="tenure_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"), index=True)
    move_in: Mapped[date] = mapped_column(Date)
    move_out: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ReadingTypeRow(Base):
    """The ESPI ReadingType fields, deduplicated: identical definitions share one row."""

    __tablename__ = "reading_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    commodity: Mapped[int | None] = mapped_column(SmallInteger)
    kind: Mapped[int | None] = mapped_column(SmallInteger)
    uom: Mapped[int | None] = mapped_column(SmallInteger)
    power_of_ten_multiplier: Mapped[int] = mapped_column(SmallInteger, default=0)
    accumulation_behaviour: Mapped[int | None] = mapped_column(SmallInteger)
    flow_direction: Mapped[int | None] = mapped_column(SmallInteger)
    interval_length: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[int | None] = mapped_column(SmallInteger)
    data_qualifier: Mapped[int | None] = mapped_column(SmallInteger)
    default_quality: Mapped[int | None] = mapped_column(SmallInteger)
    measuring_period: Mapped[int | None] = mapped_column(SmallInteger)
    phase: Mapped[int | None] = mapped_column(SmallInteger)
    time_attribute: Mapped[int | None] = mapped_column(SmallInteger)
    tou: Mapped[int | None] = mapped_column(SmallInteger)
    aggregate: Mapped[int | None] = mapped_column(SmallInteger)
    consumption_tier: Mapped[int | None] = mapped_column(SmallInteger)
    cpp: Mapped[int | None] = mapped_column(SmallInteger)


class MeterReading(Base):
    """A channel of interval readings of one reading type at one service point."""

    __tablename__ = "meter_readings"
    __table_args__ = (CheckConstraint("channel IN ('forward', 'reverse', 'net')", name="channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"), index=True)
    reading_type_id: Mapped[int] = mapped_column(ForeignKey("reading_types.id"))
    channel: Mapped[str] = mapped_column(String(10), default="forward")
    title: Mapped[str | None] = mapped_column(String(200))


# Columnar readings: (meter reading, start) is the identity; the table is clustered on it
# (WITHOUT ROWID on SQLite) so a range of one channel is one index walk.
interval_readings = Table(
    "interval_readings",
    Base.metadata,
    Column("meter_reading_id", Integer, ForeignKey("meter_readings.id"), primary_key=True),
    Column("start", BigInteger, primary_key=True, autoincrement=False),
    Column("duration", Integer, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("cost", BigInteger),
    Column("quality", SmallInteger),
    sqlite_with_rowid=False,
)

# Every replaced reading, with what replaced it and when (corrections and validations).
reading_revisions = Table(
    "reading_revisions",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("meter_reading_id", Integer, ForeignKey("meter_readings.id"), nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("old_duration", Integer, nullable=False),
    Column("old_value", BigInteger, nullable=False),
    Column("old_cost", BigInteger),
    Column("old_quality", SmallInteger),
    Column("new_duration", Integer, nullable=False),
    Column("new_value", BigInteger, nullable=False),
    Column("new_cost", BigInteger),
    Column("new_quality", SmallInteger),
    Column("revised_at", UtcDateTime(), nullable=False),
    Index("ix_reading_revisions_meter_reading_start", "meter_reading_id", "start"),
)


class Bill(Base):
    """A billing statement for one account and period."""

    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("account_id", "service_point_id", "period_start"),
        CheckConstraint("period_end > period_start", name="period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    rate_plan: Mapped[str] = mapped_column(String(60))
    usage: Mapped[Decimal] = mapped_column(QUANTITY)
    usage_unit: Mapped[str] = mapped_column(String(10))
    total: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    #: When payment is due, and when it was paid in full (None: outstanding).
    due_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class BillSection(Base):
    """A titled group of charges on a bill (delivery, supply, ESCO, tax)."""

    __tablename__ = "bill_sections"
    __table_args__ = (
        CheckConstraint("kind IN ('delivery', 'supply', 'esco', 'tax')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(100))


#: What a charge pays for; CDS line-item types and ECIS invoice-detail groups derive from it.
LINE_ITEM_CATEGORIES = (
    "fixed",
    "energy",
    "distribution",
    "transmission",
    "stranded_costs",
    "conservation",
    "tax",
    "credit",
    "other",
)


class BillLineItem(Base):
    """One charge on a bill section."""

    __tablename__ = "bill_line_items"
    __table_args__ = (
        CheckConstraint(
            "category IN ('fixed', 'energy', 'distribution', 'transmission', 'stranded_costs', "
            "'conservation', 'tax', 'credit', 'other')",
            name="category",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(
        ForeignKey("bill_sections.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    unit: Mapped[str | None] = mapped_column(String(10))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(14, 6))
    category: Mapped[str] = mapped_column(String(20), default="other")


class EnergyAttributeCertificate(Base):
    """Certificates retired on a customer's behalf (CDS-WG3-01 §10.9), per account.

    ``account_id`` None is a certificate retired for every customer of the utility (its
    general supply mix); an account's grant sees those and its own.
    """

    __tablename__ = "energy_attribute_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    beneficiary_type: Mapped[str] = mapped_column(String(20))
    eac_numbers: Mapped[list[str]] = mapped_column(JSON)
    eac_format: Mapped[str] = mapped_column(String(60))
    eac_data_url: Mapped[str] = mapped_column(String(500))
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class Aggregation(Base):
    """A published group of service points (CDS-WG3-01 §10.7): a building, a rate plan."""

    __tablename__ = "aggregations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    aggregation_number: Mapped[str | None] = mapped_column(String(60), unique=True)
    types: Mapped[list[str]] = mapped_column(JSON)
    name: Mapped[str] = mapped_column(String(200))
    regions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    consent_requirements: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class AggregationMember(Base):
    """A service point grouped in an aggregation."""

    __tablename__ = "aggregation_members"

    aggregation_id: Mapped[int] = mapped_column(
        ForeignKey("aggregations.id", ondelete="CASCADE"), primary_key=True
    )
    service_point_id: Mapped[int] = mapped_column(
        ForeignKey("service_points.id"), primary_key=True, index=True
    )


class UsedJwtId(Base):
    """A signed request's ``jti`` seen once (RFC 7519 §4.1.7): a replay is refused until expiry."""

    __tablename__ = "used_jwt_ids"
    __table_args__ = (UniqueConstraint("application_id", "jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("third_party_applications.id"))
    jti: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AuditEvent(Base):
    """An append-only record of something that happened (``source:subject:action``)."""

    __tablename__ = "audit_events"
    # The access log reads one customer's grants' events newest first (storage.self_service).
    __table_args__ = (Index("ix_audit_events_subject_occurred_at", "subject", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    tag: Mapped[str] = mapped_column(String(80), index=True)
    actor: Mapped[str] = mapped_column(String(120), default="system")
    subject: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ThirdPartyApplication(Base):
    """A registered third-party application (ESPI ApplicationInformation, CDS client).

    Secrets are stored only as keyed hashes (``kit.tokens``); the client id is public.
    """

    __tablename__ = "third_party_applications"
    __table_args__ = (
        CheckConstraint("status IN ('test', 'production', 'suspended', 'revoked')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # None while a new secret awaits delivery through the ApplicationInformation API.
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(
        String(40), default="client_secret_basic"
    )
    registration_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    contacts: Mapped[list[str]] = mapped_column(JSON, default=list)
    website: Mapped[str | None] = mapped_column(String(500))
    logo_uri: Mapped[str | None] = mapped_column(String(500))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    scope_selection_uri: Mapped[str | None] = mapped_column(String(500))
    notification_uri: Mapped[str | None] = mapped_column(String(500))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    secret_rotated_at: Mapped[datetime] = mapped_column(default=utc_now)
    status_changed_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: Public keys (RFC 7517 JWK Set) that verify the third party's signed ECIS requests.
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The client secret sealed (AES-GCM under the custodian's key), kept only when the third
    #: party signs ECIS requests with HS256: an HMAC cannot be checked against a hash.
    client_secret_sealed: Mapped[str | None] = mapped_column(String(300))
    #: The company's privacy policy, linked from agreement invitations (seed 003 EM201).
    privacy_policy_uri: Mapped[str | None] = mapped_column(String(500))


class AdminUser(Base):
    """A utility operator who may register, suspend and reinstate third parties."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Grant(Base):
    """A customer's consent to one third party (ESPI Authorization + Subscription, CDS grant).

    ``kind='client'`` rows are a third party's own client-credentials grants (bulk, registration).
    """

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint("kind IN ('customer', 'client')", name="kind"),
        CheckConstraint(
            "status IN ('pending', 'active', 'revoked', 'expired', 'ended')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    subscription_uuid: Mapped[UUID] = mapped_column(unique=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id"), index=True
    )
    retail_customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("retail_customers.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    scope: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    authorized_start: Mapped[datetime | None] = mapped_column()
    authorized_end: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(40))
    #: RFC 9396 authorization details as granted (CDS requests), None for ESPI grants.
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class GrantServicePoint(Base):
    """A service point (and the account it was chosen under) covered by a grant."""

    __tablename__ = "grant_service_points"

    grant_id: Mapped[int] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), primary_key=True
    )
    service_point_id: Mapped[int] = mapped_column(
        ForeignKey("service_points.id"), primary_key=True, index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)


class AuthorizationCode(Base):
    """A single-use authorization code (RFC 6749 §4.1.2), stored only as a hash."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class OAuthToken(Base):
    """An access token and its refresh token, stored only as hashes (RFC 9700 §4.14)."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(2000))
    issued_at: Mapped[datetime] = mapped_column(default=utc_now)
    access_expires_at: Mapped[datetime] = mapped_column()
    refresh_expires_at: Mapped[datetime | None] = mapped_column()
    # Set when the refresh token was traded for a successor; presenting it again is reuse.
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Notification(Base):
    """A message to a third party's notification URI, delivered with retries (outbox)."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id"), index=True
    )
    uri: Mapped[str] = mapped_column(String(500))
    tag: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    delivered_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))


class BatchJob(Base):
    """A large feed built in the background: Bulk, or a Batch/Subscription above the size limit.

    ``open_key`` holds the request's key while the job is pending or running and is cleared
    when it ends: its unique constraint is what refuses a duplicate request (NULLs never
    collide), even when two arrive at the same instant on two web processes.
    """

    __tablename__ = "batch_jobs"
    __table_args__ = (
        CheckConstraint("kind IN ('subscription', 'bulk')", name="kind"),
        CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id"), index=True
    )
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    usage_point: Mapped[str | None] = mapped_column(String(36))
    query: Mapped[str] = mapped_column(String(2000))
    self_href: Mapped[str] = mapped_column(String(2500))
    request_key: Mapped[str] = mapped_column(String(64), index=True)
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    file_name: Mapped[str | None] = mapped_column(String(200))
    byte_count: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(500))


class ThirdPartyUser(Base):
    """A person who signs in to the third-party portal for one company (seed 003 FR 4, 5, 10).

    The company is the registered application: its name is the agreement's company name.
    """

    __tablename__ = "third_party_users"
    __table_args__ = (CheckConstraint("role IN ('administrator', 'agent', 'viewer')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id"), index=True
    )
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class EnergyDataAgreement(Base):
    """A letter of authorization for one meter (seed 003 "Customer Agreement"; FR 12).

    The customer block is kept as the third party typed it (or, for a registered customer, as
    the records filled it in, FR 2): it is what the customer was shown and accepted.
    """

    __tablename__ = "energy_data_agreements"
    __table_args__ = (
        CheckConstraint("kind IN ('one_time', 'ongoing')", name="kind"),
        CheckConstraint(
            "status IN ('pending', 'complete', 'rejected', 'not_accepted', 'active', "
            "'extension_pending', 'terminated', 'expired')",
            name="status",
        ),
        CheckConstraint("customer_class IN ('residential', 'business')", name="customer_class"),
        Index("ix_energy_data_agreements_limit", "application_id", "esiid", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), index=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id"), index=True
    )
    initiated_by: Mapped[int | None] = mapped_column(ForeignKey("third_party_users.id"))
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"), index=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    esiid: Mapped[str] = mapped_column(String(40))
    meter_number: Mapped[str] = mapped_column(String(40))
    #: The customer of record holding the meter at initiation (who may accept on the portal).
    retail_customer_id: Mapped[int] = mapped_column(ForeignKey("retail_customers.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    customer_registered: Mapped[bool] = mapped_column(Boolean)
    customer_class: Mapped[str] = mapped_column(String(12))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_initial: Mapped[str] = mapped_column(String(1), default="")
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(100), default="")
    company_name: Mapped[str] = mapped_column(String(100), default="")
    street: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    zip_code: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(5))
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(100), default="")
    contact_email: Mapped[str] = mapped_column(String(254))
    report_type: Mapped[str | None] = mapped_column(String(10))
    report_duration: Mapped[str | None] = mapped_column(String(3))
    term_months: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    status_changed_at: Mapped[datetime] = mapped_column(default=utc_now)
    invitation_expires_at: Mapped[datetime] = mapped_column(index=True)
    #: The day data access starts (acceptance) and ends (ongoing: exclusive end date).
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    #: An extension asked for and awaiting the customer (Extension Pending): the new end date.
    proposed_end_date: Mapped[date | None] = mapped_column(Date)
    #: The consent engine's grant an accepted ongoing agreement opened.
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"), index=True)
    ended_by: Mapped[str | None] = mapped_column(String(20))


class AgreementInvitation(Base):
    """An emailed invitation's accept/reject links: a random token stored only as a hash.

    Each invitation (the first, and each extension request) has its own token; a resend
    (EM202) mails the same links again. The token works once (``used_at``) and only while
    its agreement awaits the customer in the status it was issued for (FR 14).
    """

    __tablename__ = "agreement_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("energy_data_agreements.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_for: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class AgreementReport(Base):
    """The CSV usage report of an accepted one-time agreement, built by a job (seed 003 EM204)."""

    __tablename__ = "agreement_reports"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'running', 'ready', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("energy_data_agreements.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column()
    file_name: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    row_count: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))


class OutgoingEmail(Base):
    """An email in the outbox: queued with the change it reports, sent by a job with retries.

    With no SMTP server configured the outbox is the development mailbox (``/dev/mailbox``).
    A link token in a message is not stored in its bodies: they hold a placeholder and the
    token is kept sealed (AES-GCM under the custodian's key) until the message is sent, then
    dropped, so reading this table never yields a working accept link.
    """

    __tablename__ = "outgoing_emails"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'held')", name="status"),
        Index("ix_outgoing_emails_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(20))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    sealed_secret: Mapped[str | None] = mapped_column(String(300))
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("energy_data_agreements.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
