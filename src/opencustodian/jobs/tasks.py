"""Huey tasks for ``opencustodian worker``: configured from the environment like the server."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from huey import crontab

from opencustodian.config import Settings
from opencustodian.jobs.agreement_reports import (
    build_agreement_report_of,
    resume_agreement_reports,
)
from opencustodian.jobs.agreements import agreement_mailer_for, report_announcer, sweep_agreements
from opencustodian.jobs.batches import (
    BatchEnvironment,
    batch_environment,
    build_batch,
    expire_batch_results,
    resume_batches,
)
from opencustodian.jobs.queue import huey_for
from opencustodian.jobs.work import deliver_emails, deliver_notifications, end_expired_grants
from opencustodian.profile import load_profile
from opencustodian.storage.db import make_engine, session_factory

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

SETTINGS = Settings()
huey = huey_for(SETTINGS.jobs_url)


@cache
def _engine() -> Engine:
    return make_engine(SETTINGS.resolved_database_url)


@cache
def _sessions() -> sessionmaker[Session]:
    return session_factory(_engine())


def _base_url() -> str:
    return SETTINGS.base_url or load_profile(SETTINGS.profile).base_url


@cache
def _batches() -> BatchEnvironment:
    return batch_environment(SETTINGS, load_profile(SETTINGS.profile), _base_url(), _engine())


@huey.task()  # type: ignore[untyped-decorator]  # Huey ships no type information
def deliver() -> None:
    """Attempt every due notification (retries are rescheduled in the outbox)."""
    deliver_notifications(_sessions())


@huey.task()  # type: ignore[untyped-decorator]  # as above
def deliver_mail() -> None:
    """Send every due email (retries are rescheduled in the outbox; none without SMTP)."""
    deliver_emails(_sessions(), SETTINGS)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # as above
def sweep() -> None:
    """Every minute: end expired grants, then deliver due notifications and emails.

    Retries are included: a message whose next attempt has come is due like a new one.
    """
    end_expired_grants(_sessions(), _base_url())
    deliver_notifications(_sessions())
    deliver_emails(_sessions(), SETTINGS)


@huey.task()  # type: ignore[untyped-decorator]  # as above
def build_batch_task(job_id: int) -> None:
    """Build one batch job (Bulk, or a large Batch/Subscription) and notify its third party."""
    build_batch(_batches(), job_id)


@huey.periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]  # as above
def batch_sweep() -> None:
    """Every five minutes: run batch jobs left waiting, then expire old results.

    A job's state is in the database, so a job left pending by a restart, or claimed by a
    worker that died, is found here and run again.
    """
    resume_batches(_batches())
    expire_batch_results(_batches())


@cache
def _report_ready() -> Callable[[Session, int], None]:
    profile = load_profile(SETTINGS.profile)
    return report_announcer(agreement_mailer_for(SETTINGS, profile, _base_url()))


@huey.task()  # type: ignore[untyped-decorator]  # as above
def build_report_task(agreement_id: int) -> None:
    """Build an accepted one-time agreement's report, then send its EM204 (seed 003)."""
    profile = load_profile(SETTINGS.profile)
    build_agreement_report_of(
        _sessions(), agreement_id, profile.time_zone, profile.limits, _report_ready()
    )
    deliver_emails(_sessions(), SETTINGS)


@huey.periodic_task(crontab(minute="*/5"))  # type: ignore[untyped-decorator]  # as above
def report_sweep() -> None:
    """Every five minutes: build reports left waiting (a lost enqueue, a worker that died)."""
    profile = load_profile(SETTINGS.profile)
    resume_agreement_reports(_sessions(), profile.time_zone, profile.limits, _report_ready())


@huey.periodic_task(crontab(minute="7"))  # type: ignore[untyped-decorator]  # as above
def agreement_sweep() -> None:
    """Hourly (BR 4 needs daily at least): lapse 30-day-old invitations, end finished terms.

    Run hourly rather than once a day so a status never lags its rule by more than an hour;
    each run is cheap (two indexed queries) and safe to repeat.
    """
    sweep_agreements(_sessions(), SETTINGS, load_profile(SETTINGS.profile), _base_url())
    deliver_notifications(_sessions())
