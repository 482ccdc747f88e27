"""Where jobs run: in-process right after a request, or on a Huey queue for worker processes.

With ``OPENCUSTODIAN_JOBS_URL`` unset (development, tests, the demo) a change's notifications
are attempted in a background thread as soon as its transaction commits, and the periodic
sweep runs in a thread of ``opencustodian serve``. With a queue URL (``sqlite:///…`` or
``redis://…``) the web process only enqueues, and ``opencustodian worker`` processes deliver,
retry and sweep — several machines may run workers against one Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import urlsplit

from huey import MemoryHuey, RedisHuey, SqliteHuey

from opencustodian.jobs.agreement_reports import build_in_background
from opencustodian.jobs.batches import run_in_background
from opencustodian.jobs.work import deliver_emails, deliver_notifications, next_email_due
from opencustodian.kit.time import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo

    from huey.api import Huey
    from sqlalchemy.orm import Session, sessionmaker

    from opencustodian.config import Settings
    from opencustodian.jobs.batches import BatchEnvironment
    from opencustodian.profile import Limits

LOG = logging.getLogger(__name__)
#: The shortest wait before an in-process email retry round (never a busy loop).
MIN_RETRY_DELAY_SECONDS: Final = 1.0


class JobDispatcher(Protocol):
    """Starts the follow-up work of a committed change."""

    def notifications_queued(self) -> None:
        """New notifications are in the outbox."""
        ...

    def batch_requested(self, environment: BatchEnvironment, job_id: int) -> None:
        """A batch job was committed and awaits its run."""
        ...

    def emails_queued(self) -> None:
        """New emails are in the outbox."""
        ...

    def report_requested(self, agreement_id: int) -> None:
        """A one-time agreement was accepted: its report awaits its build (seed 003 EM204)."""
        ...


class InProcessJobs:
    """Runs follow-up work in a daemon thread of this process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings | None = None,
        reports: ReportJob | None = None,
    ) -> None:
        """Deliver through ``sessions``; email needs ``settings``, reports ``reports``."""
        self._sessions = sessions
        self._settings = settings
        self._reports = reports
        self._retry_lock = threading.Lock()
        self._retry: threading.Timer | None = None
        self._retry_at = 0.0  # time.monotonic() of the pending wake-up

    def notifications_queued(self) -> None:
        """Attempt delivery now, off the request thread."""
        threading.Thread(target=deliver_notifications, args=(self._sessions,), daemon=True).start()

    def batch_requested(self, environment: BatchEnvironment, job_id: int) -> None:
        """Build the batch in a background thread of this process."""
        run_in_background(environment, job_id)

    def emails_queued(self) -> None:
        """Send the due emails now, off the request thread; retries follow on a timer.

        Without settings or an SMTP URL there is nothing to do: messages are held for the
        development mailbox.
        """
        if self._settings is None or self._settings.smtp_url is None:
            return
        threading.Thread(target=self._email_round, daemon=True).start()

    def _email_round(self) -> None:
        """One delivery round, then a timer for the next retry that is due (if any).

        With no worker process there is no periodic sweep, so this process wakes itself when
        the earliest retry comes due. A failure here must not kill the thread silently: it is
        logged, and the outbox still holds every message for the next round.
        """
        assert self._settings is not None  # noqa: S101 - emails_queued checked it
        try:
            deliver_emails(self._sessions, self._settings)
            due = next_email_due(self._sessions)
        except Exception:  # a background round logs; the outbox keeps every message's state
            LOG.exception("email delivery round failed")
            return
        if due is not None:
            delay = max((due - utc_now()).total_seconds(), MIN_RETRY_DELAY_SECONDS)
            self._schedule_retry(delay)

    def _schedule_retry(self, delay: float) -> None:
        """Wake in ``delay`` seconds, unless a wake-up at least as early is still to come."""
        wake_at = time.monotonic() + delay
        with self._retry_lock:
            pending = self._retry is not None and self._retry_at > time.monotonic()
            if pending and self._retry_at <= wake_at:
                return
            if self._retry is not None:
                self._retry.cancel()  # a later wake-up is replaced by this earlier one
            self._retry = threading.Timer(delay, self._email_round)
            self._retry.daemon = True
            self._retry_at = wake_at
            self._retry.start()

    def report_requested(self, agreement_id: int) -> None:
        """Build the report in a daemon thread, then send the EM204 it queued."""
        if self._reports is None:
            return  # stays pending for a worker's report sweep
        build_in_background(
            self._sessions,
            agreement_id,
            self._reports.zone,
            self._reports.limits,
            self._reports.on_ready,
            after=self.emails_queued,
        )


@dataclass(frozen=True, slots=True)
class ReportJob:
    """What an in-process report build needs: the territory's zone, limits, the announcer."""

    zone: ZoneInfo
    limits: Limits
    on_ready: Callable[[Session, int], None]


class QueuedJobs:
    """Enqueues follow-up work for ``opencustodian worker`` processes."""

    def notifications_queued(self) -> None:
        """Enqueue a delivery round."""
        from opencustodian.jobs.tasks import deliver  # noqa: PLC0415 - binds the queue lazily

        deliver()

    def batch_requested(self, environment: BatchEnvironment, job_id: int) -> None:
        """Enqueue the job; a worker builds it with its own settings (same profile, same files)."""
        del environment
        from opencustodian.jobs.tasks import build_batch_task  # noqa: PLC0415 - as above

        build_batch_task(job_id)

    def emails_queued(self) -> None:
        """Enqueue a mail round (workers also send due mail, retries included, every minute)."""
        from opencustodian.jobs.tasks import deliver_mail  # noqa: PLC0415 - as above

        deliver_mail()

    def report_requested(self, agreement_id: int) -> None:
        """Enqueue the report's build."""
        from opencustodian.jobs.tasks import build_report_task  # noqa: PLC0415 - as above

        build_report_task(agreement_id)


def huey_for(url: str | None, name: str = "opencustodian") -> Huey:
    """The Huey instance for a queue URL (``sqlite:///path``, ``redis://…``; None → memory)."""
    if not url:
        return MemoryHuey(name, immediate=True)
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return SqliteHuey(name, filename=url.removeprefix("sqlite:///"))
    if scheme in {"redis", "rediss"}:
        return RedisHuey(name, url=url)
    msg = f"OPENCUSTODIAN_JOBS_URL: unsupported queue {url!r} (use sqlite:/// or redis://)"
    raise ValueError(msg)


def dispatcher_for(
    jobs_url: str | None,
    sessions: sessionmaker[Session],
    settings: Settings | None = None,
    reports: ReportJob | None = None,
) -> JobDispatcher:
    """In-process jobs without a queue URL, queued jobs with one.

    In-process email delivery needs ``settings`` and report builds ``reports``; without them
    that work waits for a worker.
    """
    return QueuedJobs() if jobs_url else InProcessJobs(sessions, settings, reports)
