"""Asynchronous batches: large feeds built in the background and announced by notification.

Seed 000 §3.1 ("Synchronous vs Batch APIs"): a custodian may answer a large Batch/Subscription
or a Bulk request with ``202 Accepted``, assemble the data, then POST a BatchList naming the URI
to fetch it from; a duplicate request while one is pending is rejected. A *batch job* is that
promise, kept in the database so it survives a restart: who asked (the application, and for a
subscription the grant), for what (the resource and its query), and how far it got.

Glossary: a *Bulk* is ESPI's ``Batch/Bulk/{bulkId}``: every customer grant of one third party
whose scope carries ``BR={bulkId}``, read with the third party's client access token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import uuid
    from datetime import date, datetime

#: A job claimed this long ago and still running was lost (its process died): run it again.
STALE_AFTER: Final = timedelta(hours=2)
#: Runs a job gets before it is marked failed (a crash mid-run counts as one).
MAX_ATTEMPTS: Final = 3


class BatchKind(StrEnum):
    """What a batch job builds."""

    SUBSCRIPTION = "subscription"
    BULK = "bulk"


class BatchStatus(StrEnum):
    """Where a batch job stands; only ``done`` jobs have a result to fetch."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        """Whether the job may still produce a result (a duplicate request is refused)."""
        return self in {BatchStatus.PENDING, BatchStatus.RUNNING}


@dataclass(frozen=True, slots=True)
class SharedGrant:
    """An active customer grant as a batch reads it: its scope, period and live points.

    ``held_since`` is, per covered service point still held today by the account it was
    shared from, the day that account's tenure began (as ``AccessRecord.held_since``).
    """

    grant_id: int
    grant_uuid: str
    subscription_uuid: str
    scope: str
    authorized_end: datetime | None
    held_since: tuple[tuple[int, date], ...]
    customer_id: int | None = None

    @property
    def live_service_point_ids(self) -> tuple[int, ...]:
        """The covered service points still held by the account they were shared from."""
        return tuple(point for point, _ in self.held_since)


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """A request to answer asynchronously, as the job records it.

    ``subject`` is the subscription id (Batch/Subscription) or the bulk id (Bulk); ``grant_id``
    is the customer grant of a subscription request and None for Bulk, which any client
    access token of the application may fetch. ``key`` identifies the request (caller,
    resource, query): while one job with a key is open, another is a duplicate.
    """

    kind: BatchKind
    application_id: int
    grant_id: int | None
    subject: str
    usage_point: str | None
    query: str  # the request's query string, parsed again when the job runs
    self_href: str  # the URL the caller asked for: the feed's ``self`` link
    key: str


@dataclass(frozen=True, slots=True)
class BatchJob:
    """A stored batch job."""

    id: int
    uuid: uuid.UUID
    request: BatchRequest
    status: BatchStatus
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    file_name: str | None
    byte_count: int | None
    error: str | None


def stale_before(now: datetime) -> datetime:
    """Jobs claimed before this instant and still running are presumed lost."""
    return now - STALE_AFTER
