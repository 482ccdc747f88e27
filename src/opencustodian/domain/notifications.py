"""Notifications to third parties (ESPI FB_39 push model, research/espi.md §7).

A change a third party must know about (a grant ended, new data) becomes a BatchList POSTed to
its notification URI. Delivery is retried with growing gaps, because the reference
implementation's fire-and-forget POST is exactly what certification test PSH004 faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opencustodian.kit.time import require_aware

# Gaps before attempts 2, 3, …; after the last one the notification is marked failed.
RETRY_GAPS = (
    timedelta(seconds=30),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)


@dataclass(frozen=True, slots=True)
class OutgoingNotification:
    """A queued notification about to be attempted."""

    notification_id: int
    application_id: int
    uri: str
    body: str
    attempts: int


def next_attempt(attempts_so_far: int, failed_at: datetime) -> datetime | None:
    """When to try again after ``attempts_so_far`` failed attempts; None means give up."""
    if attempts_so_far > len(RETRY_GAPS):
        return None
    return require_aware(failed_at) + RETRY_GAPS[attempts_so_far - 1]


@dataclass(frozen=True, slots=True)
class DataAudience:
    """An active customer grant that covers a meter reading which just got new data."""

    application_id: int
    subscription_uuid: str
    scope: str
    meter_reading_id: int
