"""The jobs themselves, as plain functions over a session factory (thin wrappers of services).

They run in-process after a request (development, tests) or in ``opencustodian worker``
processes fed by a Huey queue (production); either way each job opens its own transactions and
never holds one open across a network call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from opencustodian.kit.time import utc_now
from opencustodian.protocols.espi.batch_list import batch_list
from opencustodian.services.consent import GrantLifecycle
from opencustodian.services.notifications import DeliveryError, DeliveryOutcome, attempt
from opencustodian.services.notifications import record_outcome as record
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.db import transaction
from opencustodian.storage.notifications import SqlNotificationStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.orm import Session, sessionmaker

NOTIFICATION_TIMEOUT_SECONDS = 5.0
BATCH_LIST_CONTENT_TYPE = "application/atom+xml"
DUE_PER_ROUND = 100


def render_batch_list(uris: Sequence[str]) -> str:
    """The BatchList body of a notification, as text for the outbox."""
    return batch_list(uris).decode("utf-8")


def lifecycle_for(base_url: str) -> Callable[[Session], GrantLifecycle]:
    """A factory of ``GrantLifecycle`` for one session, building URIs on ``base_url``."""

    def build(session: Session) -> GrantLifecycle:
        return GrantLifecycle(
            SqlConsentStore(session),
            SqlNotificationStore(session),
            base_url=base_url,
            render_batch_list=render_batch_list,
        )

    return build


def post_batch_list(uri: str, body: str) -> None:
    """POST a BatchList to a third party; any non-2xx answer or network error is a failure."""
    try:
        response = httpx.post(
            uri,
            content=body.encode("utf-8"),
            headers={"Content-Type": BATCH_LIST_CONTENT_TYPE},
            timeout=NOTIFICATION_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        message = f"{type(error).__name__}: {error}"
        raise DeliveryError(message) from error
    if not response.is_success:
        message = f"HTTP {response.status_code}"
        raise DeliveryError(message)


def deliver_notifications(
    sessions: sessionmaker[Session], send: Callable[[str, str], None] = post_batch_list
) -> DeliveryOutcome:
    """Attempt every due notification once, recording each outcome in its own transaction."""
    with transaction(sessions) as session:
        due = SqlNotificationStore(session).due(utc_now(), DUE_PER_ROUND)
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    for notification in due:
        error = attempt(notification, send)
        with transaction(sessions) as session:
            counts[record(SqlNotificationStore(session), notification, error, utc_now())] += 1
    return DeliveryOutcome(**counts)


def end_expired_grants(sessions: sessionmaker[Session], base_url: str) -> int:
    """End every grant past its chosen period; returns how many ended."""
    with transaction(sessions) as session:
        return len(lifecycle_for(base_url)(session).end_expired(utc_now()))
