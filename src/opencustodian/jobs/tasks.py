"""Huey tasks for ``opencustodian worker``: configured from the environment like the server."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from huey import crontab

from opencustodian.config import Settings
from opencustodian.jobs.queue import huey_for
from opencustodian.jobs.work import deliver_notifications, end_expired_grants
from opencustodian.profile import load_profile
from opencustodian.storage.db import make_engine, session_factory

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

SETTINGS = Settings()
huey = huey_for(SETTINGS.jobs_url)


@cache
def _sessions() -> sessionmaker[Session]:
    return session_factory(make_engine(SETTINGS.resolved_database_url))


def _base_url() -> str:
    return SETTINGS.base_url or load_profile(SETTINGS.profile).base_url


@huey.task()  # type: ignore[untyped-decorator]  # Huey ships no type information
def deliver() -> None:
    """Attempt every due notification (retries are rescheduled in the outbox)."""
    deliver_notifications(_sessions())


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # as above
def sweep() -> None:
    """Every minute: end expired grants, then deliver due notifications (retries included)."""
    end_expired_grants(_sessions(), _base_url())
    deliver_notifications(_sessions())
