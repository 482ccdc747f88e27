"""Starlette requests as Authlib ``OAuth2Request``s, accepting the seed's parameter variants.

Seed 000 §3.1 sends camelCase names a Spring-era gateway accepts (``clientId``, ``redirectUri``,
``grantType``, ``clientSecret``, ``oauthCode``/``authCode``) and JSON token bodies; RFC 6749
uses snake_case in form bodies. Both reach Authlib as one normalized parameter list. A name
given in both spellings stays twice and is refused as a repeated parameter (RFC 6749 §3.1,
§3.2: parameters MUST NOT be included more than once) — by Authlib at the authorization
endpoint, by ``repeated_parameter`` at the token and revocation endpoints.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.requests import OAuth2Payload, OAuth2Request

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: The request-size ceiling for OAuth endpoints: real requests are well under 8 KiB.
MAX_BODY_BYTES = 64 * 1024

SEED_ALIASES = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "redirectUri": "redirect_uri",
    "responseType": "response_type",
    "grantType": "grant_type",
    "oauthCode": "code",
    "authCode": "code",
    "refreshToken": "refresh_token",
    "codeVerifier": "code_verifier",
    "codeChallenge": "code_challenge",
    "codeChallengeMethod": "code_challenge_method",
}


class MalformedRequestError(ValueError):
    """The request body cannot be read as OAuth parameters (RFC 6749 ``invalid_request``)."""


def normalized(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``pairs`` with the seed's camelCase names mapped to RFC 6749 names.

    RFC 6749 §3.1/§3.2: "Parameters sent without a value MUST be treated as if they were
    omitted", so empty values are dropped here.
    """
    return [(SEED_ALIASES.get(name, name), value) for name, value in pairs if value != ""]


def repeated_parameter(request: CustodianRequest) -> str | None:
    """The first parameter given more than once (RFC 6749 §3.1, §3.2: MUST NOT repeat)."""
    return next(
        (name for name, values in request.payload.datalist.items() if len(values) > 1), None
    )


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """Parameters of an ``application/x-www-form-urlencoded`` body (RFC 6749 Appendix B)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        msg = "the request body is not UTF-8"
        raise MalformedRequestError(msg) from error
    return parse_qsl(text, keep_blank_values=True)


def json_pairs(body: bytes) -> list[tuple[str, str]]:
    """Parameters of a seed-000 JSON token body: one object of scalar values."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        msg = "the request body is not valid JSON"
        raise MalformedRequestError(msg) from error
    if not isinstance(document, dict):
        msg = "the JSON request body must be an object"
        raise MalformedRequestError(msg)
    pairs: list[tuple[str, str]] = []
    for name, value in document.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            msg = f"the JSON member {name!r} must be a string"
            raise MalformedRequestError(msg)
        pairs.append((name, str(value)))
    return pairs


def body_pairs(body: bytes, content_type: str) -> list[tuple[str, str]]:
    """Parameters of a request body in either style; an empty body has none."""
    if not body.strip():
        return []
    if content_type.split(";", maxsplit=1)[0].strip().lower() == "application/json":
        return json_pairs(body)
    return form_pairs(body)


class ParameterPayload(OAuth2Payload):
    """An Authlib payload over a list of (name, value) pairs."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        """Index ``pairs`` by name, keeping repeats."""
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        """First value of each parameter."""
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        """Every value of each parameter."""
        return self._datalist


class CustodianRequest(OAuth2Request):
    """An ``OAuth2Request`` built from already-read parameters.

    Authlib's constructor refuses plain-http URIs by reading a process-wide environment
    variable; this custodian instead refuses plain http outside development at its own edge
    (``oauth.endpoints``), so the constructor sets the same attributes without that check.
    """

    def __init__(
        self, method: str, uri: str, headers: Mapping[str, str], pairs: list[tuple[str, str]]
    ) -> None:
        """A request with ``pairs`` already normalized."""
        self.method = method
        self.uri = uri
        self.headers = headers  # Starlette's Headers: case-insensitive, as Authlib expects
        self._body = None
        self.payload = ParameterPayload(pairs)
        self.client: Any = None
        self.auth_method: str | None = None
        self.user: Any = None
        self.authorization_code: Any = None
        self.refresh_token: Any = None
        self.credential: Any = None
        self._scope: str | None = None
        #: Set when a failed request must still commit (a reused code or refresh token
        #: revokes what it issued, RFC 6749 §4.1.2 and RFC 9700 §4.14.2).
        self.commit_on_error = False

    @property
    def form(self) -> dict[str, str]:
        """Parameters, as Authlib's grants read them."""
        return self.payload.data

    @property
    def args(self) -> dict[str, str]:
        """Parameters, as Authlib's grants read them."""
        return self.payload.data
