"""Registering third-party applications and rotating their secrets (seed 000 §2.2).

A registration yields a public client id, a client secret and a registration access token; the
third party sees the secrets once, here, and the custodian keeps only their hashes. Scope
strings are checked against the ESPI grammar and stored in their one canonical spelling.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opencustodian.domain.parties import RegistrationError
from opencustodian.domain.scopes import ScopeError
from opencustodian.kit.tokens import hash_secret, new_secret
from opencustodian.protocols.scopes import ScopeLanguage, read_scope_text

if TYPE_CHECKING:
    import uuid

    from opencustodian.domain.parties import ApplicationRegistration
    from opencustodian.domain.ports import ApplicationStore

CLIENT_SECRET_PREFIX = "ocsec"  # noqa: S105 - a label, not a secret
REGISTRATION_TOKEN_PREFIX = "ocreg"  # noqa: S105 - a label, not a secret


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    """What a new third party is told once: its ids and its secrets in the clear."""

    application_id: uuid.UUID
    client_id: str
    client_secret: str
    registration_access_token: str
    scopes: tuple[str, ...]


def canonical_scopes(scope_strings: tuple[str, ...]) -> tuple[str, ...]:
    """Each registered scope in its canonical spelling, one per entry.

    ESPI strings (``|``-joined ones split apart) must name a function block; CDS scope ids
    (space-separated ones split apart) must be scopes this custodian offers (CDS-WG1-02 §3.4).
    """
    canonical: list[str] = []
    for text in scope_strings:
        try:
            read = read_scope_text(text)
        except ScopeError as error:
            msg = f"scopes: {error}"
            raise RegistrationError(msg) from error
        if read.language is ScopeLanguage.CDS:
            canonical.extend(read.items)
        else:
            kept = zip(read.items, read.scopes, strict=True)
            canonical.extend(item for item, scope in kept if scope.function_blocks)
    if not canonical:
        msg = "scopes: no scope names a function block or an offered CDS scope"
        raise RegistrationError(msg)
    return tuple(dict.fromkeys(canonical))


def register_application(
    registration: ApplicationRegistration, store: ApplicationStore, key: str
) -> IssuedCredentials:
    """Register a third-party application and issue its credentials."""
    scopes = canonical_scopes(registration.scopes)
    client_id = secrets.token_hex(16)
    client_secret = new_secret(CLIENT_SECRET_PREFIX)
    registration_token = new_secret(REGISTRATION_TOKEN_PREFIX)
    application_id = store.add_application(
        registration,
        scopes=scopes,
        client_id=client_id,
        secret_hash=hash_secret(client_secret, key),
        registration_token_hash=hash_secret(registration_token, key),
    )
    return IssuedCredentials(application_id, client_id, client_secret, registration_token, scopes)


def rotate_client_secret(client_id: str, store: ApplicationStore, key: str) -> str:
    """Issue a new client secret; the old one stops working at once."""
    secret = new_secret(CLIENT_SECRET_PREFIX)
    if not store.replace_secret_hash(client_id, hash_secret(secret, key)):
        msg = f"client_id: no application {client_id!r}"
        raise RegistrationError(msg)
    return secret
