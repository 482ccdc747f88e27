"""Process settings, read from ``OPENCUSTODIAN_*`` environment variables.

Deployment facts live here (where the database is, which secrets to use); the utility's own
identity and policy limits live in the custodian profile (``profile.py``).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development


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
