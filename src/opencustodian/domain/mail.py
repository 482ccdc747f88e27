"""Outgoing email: what a queued message is, and the rule that keeps link secrets out of it.

Emails are written to an outbox in the transaction of the change they report (seed 003: an
invitation is sent because an agreement was initiated, EM201) and sent afterwards by a job, with
the retry schedule of ``domain.notifications``. With no SMTP server configured a message is
*held*: never sent, readable on the development mailbox page.

An invitation's accept and reject links carry a secret token. The stored bodies never hold it:
they hold ``LINK_TOKEN_PLACEHOLDER`` and the token is kept sealed beside them until the message
is sent (then dropped), so a copy of the outbox table yields no working link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from datetime import datetime

#: Stands for the link token in stored bodies; substituted only when the message is sent or
#: shown on the development mailbox. Plain ASCII that survives HTML escaping and URL building.
LINK_TOKEN_PLACEHOLDER: Final = "@@link-token@@"  # noqa: S105 - a marker, not a secret
#: A link token is URL-safe (RFC 3986 unreserved characters), so it can be put into a URL or
#: an HTML attribute as it is; at most ``kit.sealing.MAX_SECRET_BYTES`` long.
_LINK_TOKEN: Final = re.compile(r"[A-Za-z0-9._~-]{1,160}")
MAX_ERROR: Final = 500


class MailError(ValueError):
    """A message that cannot be queued as asked (a secret without a place, a bad token)."""


class EmailTemplate(StrEnum):
    """The seed's email numbers (seed 003, "Emails to Customers and 3rd Parties")."""

    EM201 = "EM201"
    EM202 = "EM202"
    EM203 = "EM203"
    EM204 = "EM204"
    EM205 = "EM205"

    @property
    def scenario(self) -> str:
        """The seed's scenario for the email."""
        return _SCENARIOS[self]


_SCENARIOS = {
    EmailTemplate.EM201: "3rd Party initiates request for an Energy Data agreement",
    EmailTemplate.EM202: "3rd Party resends request for an Energy Data agreement",
    EmailTemplate.EM203: "Customer accepts 3rd Party request",
    EmailTemplate.EM204: "The One-Time Energy Data report has been completed",
    EmailTemplate.EM205: "Customer rejects 3rd Party request",
}


class MailStatus(StrEnum):
    """Where a queued message stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    #: No SMTP server configured: kept for the development mailbox, never sent.
    HELD = "held"


@dataclass(frozen=True, slots=True)
class EmailDraft:
    """A rendered message before it is queued (the link token, if any, still a placeholder)."""

    template: str
    to_address: str
    subject: str
    body_text: str
    body_html: str
    #: The agreement the message is about (seed 003's agreement number), when there is one.
    agreement_number: str | None = None

    @property
    def mentions_link_token(self) -> bool:
        """Whether both bodies have the placeholder a sealed token will fill."""
        return LINK_TOKEN_PLACEHOLDER in self.body_text and LINK_TOKEN_PLACEHOLDER in self.body_html


@dataclass(frozen=True, slots=True)
class OutboxEmail:
    """A message as the outbox holds it."""

    email_id: int
    template: str
    to_address: str
    subject: str
    body_text: str
    body_html: str
    sealed_secret: str | None
    status: MailStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None


def check_link_token(token: str) -> str:
    """``token`` when it can stand in a URL as it is; ``MailError`` otherwise."""
    if not _LINK_TOKEN.fullmatch(token):
        msg = "a link token must be 1 to 160 URL-safe characters"
        raise MailError(msg)
    return token


_RECIPIENT: Final = re.compile(r"[^@\s,;<>\"]{1,64}@[^@\s,;<>\"]{1,189}")
MAX_SUBJECT: Final = 300
#: RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254.
MAX_ADDRESS: Final = 254


def check_recipient(address: str) -> str:
    """One bare address (no display name, no list), trimmed; ``MailError`` otherwise.

    Outbox messages go to exactly one recipient, whose address also binds the sealed token.
    """
    address = address.strip()
    if len(address) > MAX_ADDRESS or not _RECIPIENT.fullmatch(address):
        msg = f"{address!r} is not one email address"
        raise MailError(msg)
    return address


def one_line(subject: str) -> str:
    """A subject on one line (no header injection), at most the column's width."""
    return " ".join(subject.split())[:MAX_SUBJECT]


def secret_owner(to_address: str) -> str:
    """Whom a sealed link token is bound to: the one recipient it was written for.

    A sealed value copied onto a message to someone else does not open (``kit.sealing``).
    """
    return f"email:{to_address}"


def fill_link_token(body: str, token: str | None) -> str:
    """``body`` with the placeholder replaced by ``token`` (unchanged when there is none)."""
    if token is None:
        return body
    return body.replace(LINK_TOKEN_PLACEHOLDER, check_link_token(token))


def clip_error(error: str) -> str:
    """An error text short enough for the outbox column."""
    return error[:MAX_ERROR]
