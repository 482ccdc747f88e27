"""The authorization request that sends the customer to the Data Custodian.

RFC 6749 §4.1.1 (``response_type=code``, ``client_id``, ``redirect_uri``, ``scope``, ``state``)
plus RFC 7636 §4.3 (``code_challenge``, ``code_challenge_method=S256``). ESPI scope strings
(NAESB REQ.21 "ESPI OAuth2 Scope Definition") contain ``=`` and ``;`` but never ``|``; a custodian
that accepts several scopes at once takes them joined by ``|`` (seed 000: "selected scopes
separated by a '|' pipe symbol").

Two parameter spellings exist: the RFC's ``client_id``/``redirect_uri`` and the camelCase
``clientId``/``redirectUri`` of the Con Edison onboarding guide (seed 000, "Redirect to Utility").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opencustodian.client.pkce import Pkce

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

ParamStyle = Literal["rfc6749", "seed"]
SCOPE_SEPARATOR = "|"

_PARAM_NAMES: dict[ParamStyle, tuple[str, str]] = {
    "rfc6749": ("client_id", "redirect_uri"),
    "seed": ("clientId", "redirectUri"),
}


def join_scopes(scopes: Iterable[str]) -> str:
    """One ``scope`` value for several ESPI scope strings, joined by ``|``.

    Raises:
        ValueError: no scope, an empty scope, or a scope containing ``|`` or whitespace.
    """
    cleaned = [scope.strip() for scope in scopes]
    if not cleaned:
        msg = "at least one scope is required"
        raise ValueError(msg)
    for scope in cleaned:
        if not scope:
            msg = "an empty scope string cannot be requested"
            raise ValueError(msg)
        if SCOPE_SEPARATOR in scope or any(char.isspace() for char in scope):
            msg = f"a scope string contains no '|' and no whitespace: {scope!r}"
            raise ValueError(msg)
    return SCOPE_SEPARATOR.join(cleaned)


def split_scopes(value: str) -> list[str]:
    """The individual scope strings of a ``|``-joined ``scope`` value (empty parts dropped)."""
    return [part.strip() for part in value.split(SCOPE_SEPARATOR) if part.strip()]


def new_state() -> str:
    """An unguessable ``state`` value (RFC 6749 §10.12: CSRF protection)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What the caller needs to send the browser off and to check the callback later.

    Store ``state`` and ``code_verifier`` server-side (keyed by ``state``); redirect to ``url``.
    """

    url: str
    state: str
    code_verifier: str = field(repr=False)
    scope: str
    redirect_uri: str


def build_authorization_request(  # noqa: PLR0913 - each argument is one protocol parameter
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str],
    style: ParamStyle = "rfc6749",
    state: str | None = None,
    pkce: Pkce | None = None,
    extra_params: Mapping[str, str] | None = None,
) -> AuthorizationRequest:
    """Build the authorization URL (RFC 6749 §4.1.1 with RFC 7636 §4.3 PKCE).

    Args:
        authorization_endpoint: the custodian's authorize URL; an existing query is kept.
        client_id: the third party's client id.
        redirect_uri: the registered redirect URI the custodian sends the code to.
        scopes: one or more ESPI scope strings, joined by ``|``.
        style: ``"rfc6749"`` for ``client_id``/``redirect_uri``, ``"seed"`` for the camelCase
            ``clientId``/``redirectUri`` of seed 000.
        state: the state to send; a random one when omitted.
        pkce: the PKCE pair; a random S256 pair when omitted.
        extra_params: further query parameters (e.g. ``DataCustodianID``).

    Returns:
        The URL together with the state and verifier to remember until the callback.
    """
    scope = join_scopes(scopes)
    state = state or new_state()
    pkce = pkce or Pkce.generate()
    client_id_name, redirect_uri_name = _PARAM_NAMES[style]
    params: list[tuple[str, str]] = [
        ("response_type", "code"),
        (client_id_name, client_id),
        (redirect_uri_name, redirect_uri),
        ("scope", scope),
        ("state", state),
        ("code_challenge", pkce.challenge),
        ("code_challenge_method", pkce.method),
    ]
    params.extend((extra_params or {}).items())
    parts = urlsplit(authorization_endpoint)
    query = parse_qsl(parts.query, keep_blank_values=True) + params
    url = urlunsplit(parts._replace(query=urlencode(query)))
    return AuthorizationRequest(url, state, pkce.verifier, scope, redirect_uri)
