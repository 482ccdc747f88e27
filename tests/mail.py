"""A real SMTP server for tests: aiosmtpd on a loopback port, keeping what it receives, parsed.

Use the ``smtp_server`` fixture (registered in tests/conftest.py)::

    def test_invitation_arrives(smtp_server):
        settings = Settings(..., smtp_url=smtp_server.url)
        ...  # queue and deliver
        [mail] = smtp_server.wait_for(1)
        assert mail.rcpt_tos == ("customer@example.com",)
        assert "Accept" in mail.text and "Accept" in mail.html

``smtp_server.messages`` lists every ``ReceivedEmail`` so far (envelope sender and recipients,
the parsed ``email.message.EmailMessage`` and its text and HTML parts); ``wait_for(count,
timeout)`` waits until at least ``count`` have arrived. ``refuse_next(reply, times)`` answers
the next DATA commands with an error (``"451 4.3.0 Try again later"``), ``stop()`` and
``start()`` take the server down and up on the same port (a connection refused meanwhile), and
``SmtpServer(credentials=…, tls=…)`` demands a login and STARTTLS or implicit TLS.
"""

from __future__ import annotations

import html
import ipaddress
import re
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.live import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

HOST = "127.0.0.1"
TlsMode = Literal["starttls", "implicit"]


@dataclass(frozen=True)
class ReceivedEmail:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        """The subject as a mail client shows it (unfolded; a fold may leave a leading space)."""
        return str(self.message["Subject"]).strip()

    @property
    def to(self) -> str:
        return str(self.message["To"]).strip()

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part in {self.message.get_content_type()}"
        assert isinstance(part, EmailMessage)
        content = part.get_content()
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")  # SMTP's line ends, as Python writes text

    @property
    def text(self) -> str:
        """The text/plain body, decoded (``\\n`` line ends)."""
        return self._part("plain")

    @property
    def html(self) -> str:
        """The text/html body, decoded (``\\n`` line ends)."""
        return self._part("html")

    @property
    def html_text(self) -> str:
        """What the HTML body reads as: tags dropped, entities decoded, spaces collapsed."""
        without_tags = re.sub(r"<[^>]+>", " ", self.html)
        return " ".join(html.unescape(without_tags).split())


class _Handler:
    """aiosmtpd's handler: keeps each message, or answers with a queued refusal."""

    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        del server, session
        return self._server._receive(envelope)


class _Authenticator:
    """Accepts exactly one user name and password (AUTH PLAIN or LOGIN)."""

    def __init__(self, username: str, password: str) -> None:
        self._expected = (username.encode(), password.encode())

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        del server, session, envelope, mechanism
        given = (auth_data.login, auth_data.password)
        # handled=False: aiosmtpd itself answers (235, or 535 on a mismatch).
        return AuthResult(success=given == self._expected, handled=False)


class SmtpServer:
    """An aiosmtpd server on a loopback port that records every message it accepts."""

    def __init__(
        self,
        port: int | None = None,
        *,
        credentials: tuple[str, str] | None = None,
        tls: TlsMode | None = None,
        certificates: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.credentials = credentials
        self.tls = tls
        self._certificates = certificates
        self._received: list[ReceivedEmail] = []
        self._refusals: list[str] = []
        self._arrived = threading.Condition()
        self._controller: Controller | None = None
        self.client_tls: ssl.SSLContext | None = None
        self._server_tls: ssl.SSLContext | None = None
        if tls is not None:
            assert certificates is not None, "TLS needs a directory for the test certificate"
            self._server_tls, self.client_tls = _tls_contexts(certificates)

    @property
    def url(self) -> str:
        """The ``OPENCUSTODIAN_SMTP_URL`` of this server (credentials and TLS included)."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        user = _userinfo(self.credentials)
        query = "?starttls=true" if self.tls == "starttls" else ""
        return f"{scheme}://{user}{HOST}:{self.port}{query}"

    @property
    def messages(self) -> list[ReceivedEmail]:
        """Every message received so far, in arrival order."""
        with self._arrived:
            return list(self._received)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen (again) on ``port``."""
        assert self._controller is None, "already running"
        options: dict[str, Any] = {}
        if self.credentials is not None:
            options["authenticator"] = _Authenticator(*self.credentials)
            options["auth_require_tls"] = self.tls is not None
        if self.tls == "starttls":
            options["tls_context"] = self._server_tls
            options["require_starttls"] = True
        controller = Controller(
            _Handler(self),
            hostname=HOST,
            port=self.port,
            ssl_context=self._server_tls if self.tls == "implicit" else None,
            **options,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse_next(self, reply: str = "451 4.3.0 Try again later", times: int = 1) -> None:
        """Answer the next ``times`` DATA commands with ``reply`` instead of accepting."""
        with self._arrived:
            self._refusals.extend([reply] * times)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedEmail]:
        """Wait until at least ``count`` messages arrived; every message so far."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    subjects = [mail.subject for mail in self._received]
                    pytest.fail(f"expected {count} emails within {timeout}s, got {subjects}")
                self._arrived.wait(remaining)
            return list(self._received)

    def _receive(self, envelope: Any) -> str:
        with self._arrived:
            if self._refusals:
                return self._refusals.pop(0)
            parsed = message_from_bytes(envelope.original_content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self._received.append(
                ReceivedEmail(str(envelope.mail_from), tuple(envelope.rcpt_tos), parsed)
            )
            self._arrived.notify_all()
        return "250 OK"


def _userinfo(credentials: tuple[str, str] | None) -> str:
    """``user:password@`` for a URL, percent-encoded (a password may hold ``@`` or ``:``)."""
    if credentials is None:
        return ""
    return f"{quote(credentials[0], safe='')}:{quote(credentials[1], safe='')}@"


def _tls_contexts(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: the server's context, and a client's trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(tz=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server for one test (plain SMTP, no login)."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
