"""Outgoing email: queued with the change it reports, sent afterwards with retries.

Seed 003 sends its Energy Data Agreement emails (EM201–EM205) because something happened to an
agreement; like third-party notifications (``services.notifications``) a message is therefore
written to the outbox in that change's transaction — never sent for a change that rolled back —
and a job sends it later, retrying on ``domain.notifications``' schedule (30 s, 5 min, 30 min,
2 h, 12 h) before giving up.

Link secrets never rest in a message body (``domain.mail``): ``queue_email`` seals the token for
its one recipient, ``compose`` unseals it into the bodies of the message it builds for sending,
and a successful send drops the sealed copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING, Final, TypeAlias

from opencustodian.domain.mail import (
    LINK_TOKEN_PLACEHOLDER,
    MailError,
    check_link_token,
    check_recipient,
    fill_link_token,
    one_line,
    secret_owner,
)
from opencustodian.domain.notifications import next_attempt
from opencustodian.kit.sealing import SealError, open_sealed, seal

if TYPE_CHECKING:
    from datetime import datetime

    from opencustodian.domain.mail import EmailDraft, OutboxEmail
    from opencustodian.domain.ports import MailOutbox

#: Sends one message or raises ``MailDeliveryError`` (``services.smtp.SmtpTransport.send``).
Transport: TypeAlias = Callable[[EmailMessage], None]
#: The mailbox a Message-ID names when the sender's address has no domain.
FALLBACK_DOMAIN: Final = "localhost"


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or did not accept the message."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt to send a message went."""

    error: str | None = None
    #: The message can never be sent (its link token no longer opens): no retry.
    permanent: bool = False


def queue_email(
    outbox: MailOutbox,
    draft: EmailDraft,
    *,
    link_token: str | None,
    server_key: str,
    hold: bool,
) -> int:
    """Queue ``draft``; its link token, if any, sealed for its recipient. Returns the id.

    ``hold`` keeps the message for the development mailbox instead of sending it (no SMTP
    server configured). The bodies must hold the placeholder exactly when there is a token,
    and never the token itself.
    """
    draft = dataclasses.replace(
        draft, to_address=check_recipient(draft.to_address), subject=one_line(draft.subject)
    )
    sealed = None
    if link_token is not None:
        token = check_link_token(link_token)
        if not draft.mentions_link_token:
            msg = "a message with a link token needs the placeholder in both bodies"
            raise MailError(msg)
        if token in draft.body_text or token in draft.body_html:
            msg = "the link token itself must not be in the stored bodies"
            raise MailError(msg)
        sealed = seal(token, owner=secret_owner(draft.to_address), server_key=server_key)
    elif LINK_TOKEN_PLACEHOLDER in draft.body_text or LINK_TOKEN_PLACEHOLDER in draft.body_html:
        msg = "the bodies hold a link placeholder but no token was given"
        raise MailError(msg)
    return outbox.queue(draft, sealed_secret=sealed, held=hold)


def link_token(email: OutboxEmail, server_key: str) -> str | None:
    """The message's link token, unsealed (None when it has none or it was dropped).

    Raises ``SealError`` when the sealed value does not open (the secret key changed).
    """
    if email.sealed_secret is None:
        return None
    return open_sealed(
        email.sealed_secret, owner=secret_owner(email.to_address), server_key=server_key
    )


def reveal(email: OutboxEmail, server_key: str) -> tuple[str, str]:
    """The text and HTML bodies as the recipient reads them (the token in its links)."""
    token = link_token(email, server_key)
    return fill_link_token(email.body_text, token), fill_link_token(email.body_html, token)


def message_id(email: OutboxEmail, sender: str) -> str:
    """A Message-ID (RFC 5322 §3.6.4) that stays the same for every attempt of one message.

    A server that received a first attempt whose reply got lost can recognise the retry.
    """
    domain = parseaddr(sender)[1].rpartition("@")[2] or FALLBACK_DOMAIN
    return f"<outbox.{email.email_id}.{int(email.created_at.timestamp())}@{domain}>"


def compose(email: OutboxEmail, *, sender: str, server_key: str, now: datetime) -> EmailMessage:
    """The MIME message to send: multipart/alternative, plain text first, then HTML.

    Raises ``SealError`` when the message's link token no longer opens.
    """
    text, html = reveal(email, server_key)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to_address
    message["Subject"] = one_line(email.subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(email, sender)
    # RFC 3834 §5: machine-sent, so autoresponders do not answer a no-reply sender.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def attempt(
    email: OutboxEmail, *, sender: str, server_key: str, now: datetime, send: Transport
) -> Attempt:
    """Build and send one message once; how it went (nothing is recorded here)."""
    try:
        message = compose(email, sender=sender, server_key=server_key, now=now)
    except SealError:
        # The custodian's secret key changed since the message was queued: its link can never
        # be filled in, and sending a message with a dead link would only mislead.
        return Attempt(
            "the message's link token cannot be unsealed (secret key changed)", permanent=True
        )
    try:
        send(message)
    except MailDeliveryError as error:
        return Attempt(str(error) or type(error).__name__)
    return Attempt()


def record_outcome(outbox: MailOutbox, email: OutboxEmail, result: Attempt, now: datetime) -> str:
    """Record an attempt; returns ``sent``, ``retrying`` or ``failed``."""
    retry_at = None
    if result.error is not None and not result.permanent:
        retry_at = next_attempt(email.attempts + 1, now)
    outbox.record_attempt(email.email_id, now=now, error=result.error, retry_at=retry_at)
    if result.error is None:
        return "sent"
    return "failed" if retry_at is None else "retrying"
