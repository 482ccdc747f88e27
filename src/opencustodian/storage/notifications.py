"""The notification outbox in the database.

Messages to third parties are written in the transaction that caused them and delivered
afterwards with retries (``services.notifications``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from opencustodian.domain.notifications import OutgoingNotification
from opencustodian.storage.models import Notification, ThirdPartyApplication

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session


class SqlNotificationStore:
    """Outbox rows over one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    def notification_uri(self, application_id: int) -> str | None:
        """Where an application wants notifications, if anywhere."""
        return self._session.scalar(
            select(ThirdPartyApplication.notification_uri).where(
                ThirdPartyApplication.id == application_id
            )
        )

    def enqueue(self, application_id: int, uri: str, tag: str, body: str) -> None:
        """Add a pending notification, due at once."""
        self._session.add(Notification(application_id=application_id, uri=uri, tag=tag, body=body))

    def due(self, now: datetime, limit: int) -> list[OutgoingNotification]:
        """Pending notifications whose next attempt is due, oldest first."""
        rows = self._session.scalars(
            select(Notification)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
        return [
            OutgoingNotification(row.id, row.application_id, row.uri, row.body, row.attempts)
            for row in rows
        ]

    def record_attempt(
        self, notification_id: int, *, now: datetime, error: str | None, retry_at: datetime | None
    ) -> None:
        """Record one delivery attempt: delivered, to retry at ``retry_at``, or given up."""
        row = self._session.get(Notification, notification_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error[:500] if error else None
        if error is None:
            row.status, row.delivered_at = "delivered", now
        elif retry_at is None:
            row.status = "failed"
        else:
            row.next_attempt_at = retry_at
