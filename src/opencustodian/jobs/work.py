"""The jobs themselves, as plain functions over a session factory (thin wrappers of services).

They run in-process after a request (development, tests) or in ``opencustodian worker``
processes fed by a Huey queue (production); either way each job opens its own transactions and
never holds one open across a network call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from opencustodian.kit.smtp_url import parse_smtp_url
from opencustodian.kit.time import utc_now
from opencustodian.profile import load_profile
from opencustodian.protocols.espi.batch_list import batch_list
from opencustodian.services import mail
from opencustodian.services.consent import GrantLifecycle
from opencustodian.services.notifications import DeliveryError, DeliveryOutcome, attempt
from opencustodian.services.notifications import record_outcome as record
from opencustodian.services.smtp import SmtpTransport
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.db import transaction
from opencustodian.storage.mail import SqlMailOutbox
from opencustodian.storage.notifications import SqlNotificationStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session, sessionmaker

    from opencustodian.config import Settings
    from opencustodian.services.mail import Transport

NOTIFICATION_TIMEOUT_SECONDS = 5.0
BATCH_LIST_CONTENT_TYPE = "application/atom+xml"
DUE_PER_ROUND = 100
#: How long a message claimed for sending stays out of other workers' rounds (a send takes
#: seconds; a worker that died mid-send leaves it due again after this).
EMAIL_LEASE = timedelta(minutes=5)


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


def mail_transport(settings: Settings) -> Transport | None:
    """How this process sends email: SMTP at ``settings.smtp_url``; None without one."""
    if settings.smtp_url is None:
        return None
    return SmtpTransport(parse_smtp_url(settings.smtp_url)).send


def mail_sender(settings: Settings) -> str:
    """The ``From`` of outgoing email (``OPENCUSTODIAN_MAIL_FROM``, else the utility's name)."""
    if settings.mail_from:
        return settings.mail_from
    return settings.mail_sender(load_profile(settings.profile).name)


def deliver_emails(
    sessions: sessionmaker[Session], settings: Settings, *, send: Transport | None = None
) -> DeliveryOutcome:
    """Send every due email once, recording each outcome in its own transaction.

    Without an SMTP URL nothing is sent: messages are held for the development mailbox. The
    messages are claimed first (``MailOutbox.claim_due``), so two workers running this at once
    never send one message twice; no transaction stays open while a message travels.
    """
    send = send or mail_transport(settings)
    if send is None:
        return DeliveryOutcome()
    sender = mail_sender(settings)
    with transaction(sessions) as session:
        now = utc_now()
        due = SqlMailOutbox(session).claim_due(now, DUE_PER_ROUND, now + EMAIL_LEASE)
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    for email in due:
        result = mail.attempt(
            email, sender=sender, server_key=settings.secret_key, now=utc_now(), send=send
        )
        with transaction(sessions) as session:
            outcome = mail.record_outcome(SqlMailOutbox(session), email, result, utc_now())
        counts["delivered" if outcome == "sent" else outcome] += 1
    return DeliveryOutcome(**counts)


def next_email_due(sessions: sessionmaker[Session]) -> datetime | None:
    """When the earliest unsent email is next due (None: nothing waits to be sent)."""
    with sessions() as session:
        return SqlMailOutbox(session).next_due()
