"""Telling third parties what changed, with retries (ESPI FB_39; research/espi.md §7).

A notification is queued in the same transaction as the change it reports, so a change is
never lost and never announced before it is committed; delivery happens afterwards (a job)
and is retried on the schedule of ``domain.notifications`` until it succeeds or gives up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from opencustodian.domain.notifications import next_attempt

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from opencustodian.domain.notifications import OutgoingNotification
    from opencustodian.domain.ports import NotificationStore


class DeliveryError(Exception):
    """The third party's notification endpoint did not accept the message."""


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What one delivery round did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def queue_batch_list(
    store: NotificationStore,
    application_id: int,
    *,
    tag: str,
    resources: Sequence[str],
    render: Callable[[Sequence[str]], str],
) -> bool:
    """Queue a BatchList of ``resources`` for an application; False if it has no endpoint."""
    uri = store.notification_uri(application_id)
    if not uri:
        return False
    store.enqueue(application_id, uri, tag, render(resources))
    return True


def attempt(notification: OutgoingNotification, send: Callable[[str, str], None]) -> str | None:
    """Try to deliver once; the error text when it failed, else None."""
    try:
        send(notification.uri, notification.body)
    except DeliveryError as error:
        return str(error) or type(error).__name__
    return None


def record_outcome(
    store: NotificationStore,
    notification: OutgoingNotification,
    error: str | None,
    now: datetime,
) -> str:
    """Record an attempt; returns ``delivered``, ``retrying`` or ``failed``."""
    attempts = notification.attempts + 1
    retry_at = None if error is None else next_attempt(attempts, now)
    store.record_attempt(notification.notification_id, now=now, error=error, retry_at=retry_at)
    if error is None:
        return "delivered"
    return "failed" if retry_at is None else "retrying"
