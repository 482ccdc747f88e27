"""Process settings, read from ``OPENCUSTODIAN_*`` environment variables.

Deployment facts live here (where the database is, which secrets to use); the utility's own
identity and policy limits live in the custodian profile (``profile.py``).
"""

from __future__ import annotations

from email.utils import formataddr, parseaddr
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from opencustodian.kit.smtp_url import parse_smtp_url

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development
#: The sender address when ``OPENCUSTODIAN_MAIL_FROM`` is unset (the display name is the utility's).
DEFAULT_MAIL_ADDRESS = "no-reply@localhost"


class Environment(StrEnum):
    """Where the process runs; production refuses development defaults."""

    DEVELOPMENT = "development"
    TESTING = "testing"
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Typed process settings."""

    model_config = SettingsConfigDict(env_prefix="OPENCUSTODIAN_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    profile: Path | None = None
    secret_key: str = DEVELOPMENT_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    import_max_bytes: int = 2 * 1024 * 1024 * 1024
    #: The public URL third parties and browsers use; overrides the profile's ``base_url``.
    base_url: str | None = None
    #: Where jobs queue: unset runs them in-process at once; ``sqlite:///path`` or
    #: ``redis://host:6379/0`` queues them for ``opencustodian worker`` processes.
    jobs_url: str | None = None
    #: Shared storage for the token rate limit when several web processes run
    #: (a ``limits`` storage URI such as ``redis://host:6379``); unset keeps counts in memory.
    rate_limit_url: str | None = None
    #: Where finished batch feeds (Bulk, large Batch/Subscription) are kept, gzip-compressed;
    #: unset: ``batches`` in the data directory. Every web process and worker must see it.
    batch_dir: Path | None = None
    #: Processes one large Bulk feed is written with (each compresses its share of the
    #: usage points); unset: one per CPU.
    batch_processes: int | None = Field(default=None, ge=1)
    #: The SMTP server outgoing email goes through: ``smtp://[user:pass@]host:port`` (add
    #: ``?starttls=true`` to upgrade the connection) or ``smtps://…`` (implicit TLS). Unset:
    #: email is kept in the outbox, unsent, and shown on the development mailbox page.
    smtp_url: str | None = None
    #: The ``From`` of outgoing email (``Name <address>``); unset: the utility's name with
    #: ``no-reply@localhost``.
    mail_from: str | None = None

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        """Refuse a malformed SMTP URL at start-up rather than at the first email."""
        if value is None or not value.strip():
            return None
        parse_smtp_url(value)  # raises ValueError saying what is wrong
        return value.strip()

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str | None) -> str | None:
        """A sender must be one address, optionally with a display name."""
        if value is None or not value.strip():
            return None
        if "\n" in value or "\r" in value or "@" not in parseaddr(value)[1]:
            msg = f"OPENCUSTODIAN_MAIL_FROM: {value!r} is not 'Name <address>' or an address"
            raise ValueError(msg)
        return value.strip()

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Settings:
        """Production and sandbox must set their own secret key."""
        shared = self.environment in {Environment.PRODUCTION, Environment.SANDBOX}
        if shared and self.secret_key == DEVELOPMENT_SECRET:
            msg = "OPENCUSTODIAN_SECRET_KEY must be set outside development and testing"
            raise ValueError(msg)
        return self

    @property
    def allows_plain_http(self) -> bool:
        """Whether OAuth endpoints may be served without TLS (development and tests only)."""
        return self.environment in {Environment.DEVELOPMENT, Environment.TESTING}

    def mail_sender(self, utility_name: str) -> str:
        """The ``From`` header: ``mail_from``, or the utility's name with a no-reply address."""
        return self.mail_from or formataddr((utility_name, DEFAULT_MAIL_ADDRESS))

    @property
    def resolved_batch_dir(self) -> Path:
        """Where batch results are kept: the configured directory or ``data_dir/batches``."""
        return self.batch_dir or self.data_dir / "batches"

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL: the configured one, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'opencustodian.sqlite3').resolve()}"
