"""Where outgoing mail goes: an SMTP server named by one URL (``OPENCUSTODIAN_SMTP_URL``).

Forms (the scheme decides how the connection is protected):

- ``smtp://[user:password@]host[:port]`` — plain SMTP (RFC 5321), port 25 by default;
- ``smtp://…?starttls=true`` — the connection is upgraded with STARTTLS (RFC 3207) before any
  credentials are sent, port 587 by default;
- ``smtps://[user:password@]host[:port]`` — implicit TLS from the first byte (RFC 8314 §3.3),
  port 465 by default.

User name and password are percent-decoded, so a password may hold ``@`` or ``:`` written as
``%40`` and ``%3A``. A URL that does not fit is refused with a ``ValueError`` naming what is
wrong: the process should not start and only later discover that it cannot send mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from urllib.parse import SplitResult

PLAIN_PORT: Final = 25
SUBMISSION_PORT: Final = 587
IMPLICIT_TLS_PORT: Final = 465
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


@dataclass(frozen=True, slots=True)
class SmtpEndpoint:
    """A parsed SMTP URL: host, port, protection and optional credentials."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    #: Kept out of ``repr`` so a logged endpoint never shows the password.
    password: str | None = field(default=None, repr=False)

    @property
    def authenticates(self) -> bool:
        """Whether to log in (a user name was given)."""
        return self.username is not None


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """``url`` read into an endpoint; ``ValueError`` with the reason when it is not usable."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        msg = f"SMTP URL: scheme must be smtp:// or smtps://, not {parts.scheme or 'none'!r}"
        raise ValueError(msg)
    if not parts.hostname:
        msg = "SMTP URL: a host is required (smtp://host:port)"
        raise ValueError(msg)
    if parts.path not in {"", "/"} or parts.fragment:
        msg = "SMTP URL: only host, port, credentials and ?starttls=true are understood"
        raise ValueError(msg)
    starttls = _starttls(parts.query)
    implicit = scheme == "smtps"
    if implicit and starttls:
        msg = "SMTP URL: smtps:// is already TLS; starttls=true applies to smtp:// only"
        raise ValueError(msg)
    return SmtpEndpoint(
        host=parts.hostname,
        port=_port(parts, implicit=implicit, starttls=starttls),
        implicit_tls=implicit,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _port(parts: SplitResult, *, implicit: bool, starttls: bool) -> int:
    try:
        port = parts.port
    except ValueError as error:  # urllib refuses ports out of range or not numeric
        msg = f"SMTP URL: {error}"
        raise ValueError(msg) from None
    if port is not None:
        return port
    if implicit:
        return IMPLICIT_TLS_PORT
    return SUBMISSION_PORT if starttls else PLAIN_PORT


def _starttls(query: str) -> bool:
    """The ``starttls`` parameter; any other parameter is a mistake worth reporting."""
    values = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(values) - {"starttls"})
    if unknown:
        msg = f"SMTP URL: unknown parameter(s) {', '.join(unknown)} (only starttls is understood)"
        raise ValueError(msg)
    given = values.get("starttls")
    if not given:
        return False
    word = given[-1].strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    msg = f"SMTP URL: starttls must be true or false, not {given[-1]!r}"
    raise ValueError(msg)
