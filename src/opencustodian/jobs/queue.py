"""Where jobs run: in-process right after a request, or on a Huey queue for worker processes.

With ``OPENCUSTODIAN_JOBS_URL`` unset (development, tests, the demo) a change's notifications
are attempted in a background thread as soon as its transaction commits, and the periodic
sweep runs in a thread of ``opencustodian serve``. With a queue URL (``sqlite:///…`` or
``redis://…``) the web process only enqueues, and ``opencustodian worker`` processes deliver,
retry and sweep — several machines may run workers against one Redis.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from huey import MemoryHuey, RedisHuey, SqliteHuey

from opencustodian.jobs.batches import run_in_background
from opencustodian.jobs.work import deliver_notifications

if TYPE_CHECKING:
    from huey.api import Huey
    from sqlalchemy.orm import Session, sessionmaker

    from opencustodian.jobs.batches import BatchEnvironment


class JobDispatcher(Protocol):
    """Starts the follow-up work of a committed change."""

    def notifications_queued(self) -> None:
        """New notifications are in the outbox."""
        ...

    def batch_requested(self, environment: BatchEnvironment, job_id: int) -> None:
        """A batch job was committed and awaits its run."""
        ...


class InProcessJobs:
    """Runs follow-up work in a daemon thread of this process."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Deliver through ``sessions``."""
        self._sessions = sessions

    def notifications_queued(self) -> None:
        """Attempt delivery now, off the request thread."""
        threading.Thread(target=deliver_notifications, args=(self._sessions,), daemon=True).start()

    def batch_requested(self, environment: BatchEnvironment, job_id: int) -> None:
        """Build the batch in a background thread of this process."""
        run_in_background(environment, job_id)


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


def dispatcher_for(jobs_url: str | None, sessions: sessionmaker[Session]) -> JobDispatcher:
    """In-process jobs without a queue URL, queued jobs with one."""
    return QueuedJobs() if jobs_url else InProcessJobs(sessions)
