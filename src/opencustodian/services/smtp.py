"""Sending one message to an SMTP server (RFC 5321) with the standard library's ``smtplib``.

The connection follows the SMTP URL (``kit.smtp_url``): implicit TLS for ``smtps://``,
STARTTLS when asked for, a login when credentials are given. TLS always verifies the server's
certificate and name. Every failure — refused or timed-out connection, a 4xx or 5xx reply,
a TLS or login problem — becomes ``MailDeliveryError``, which the outbox retries.
"""

from __future__ import annotations

import smtplib
import ssl
from typing import TYPE_CHECKING, Final

from opencustodian.services.mail import MailDeliveryError

if TYPE_CHECKING:
    from email.message import EmailMessage

    from opencustodian.kit.smtp_url import SmtpEndpoint

#: Connect, and wait for each reply, at most this long: a hung server must not hold a worker.
TIMEOUT_SECONDS: Final = 10.0


class SmtpTransport:
    """Sends messages through one SMTP server, a fresh connection per message."""

    def __init__(
        self,
        endpoint: SmtpEndpoint,
        *,
        timeout: float = TIMEOUT_SECONDS,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Send through ``endpoint``; ``tls`` overrides the default verifying context."""
        self._endpoint = endpoint
        self._timeout = timeout
        self._tls = tls

    def _context(self) -> ssl.SSLContext:
        return self._tls or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        endpoint = self._endpoint
        if endpoint.implicit_tls:
            return smtplib.SMTP_SSL(
                endpoint.host, endpoint.port, timeout=self._timeout, context=self._context()
            )
        return smtplib.SMTP(endpoint.host, endpoint.port, timeout=self._timeout)

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its ``To`` recipients; ``MailDeliveryError`` on any failure."""
        try:
            with self._connect() as client:
                self._prepare(client)
                refused = client.send_message(message)
        except smtplib.SMTPResponseException as error:
            msg = f"SMTP {error.smtp_code}: {_text(error.smtp_error)}"
            raise MailDeliveryError(msg) from error
        except smtplib.SMTPRecipientsRefused as error:
            msg = f"recipient refused: {_refusals(error.recipients)}"
            raise MailDeliveryError(msg) from error
        except (smtplib.SMTPException, OSError) as error:  # ssl.SSLError is an OSError
            msg = f"{type(error).__name__}: {error}"
            raise MailDeliveryError(msg) from error
        if refused:  # some, but not all, recipients refused: the message did not arrive whole
            msg = f"recipient refused: {_refusals(refused)}"
            raise MailDeliveryError(msg)

    def _prepare(self, client: smtplib.SMTP) -> None:
        """STARTTLS (before any credential travels) and the login, as the URL asks."""
        endpoint = self._endpoint
        if endpoint.starttls:
            client.starttls(context=self._context())
        if endpoint.authenticates:
            client.login(endpoint.username or "", endpoint.password or "")


def _text(reply: bytes | str) -> str:
    """A server's reply text (smtplib hands over bytes, or str for its own errors)."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address} ({code} {_text(reply)})" for address, (code, reply) in refused.items()
    )
