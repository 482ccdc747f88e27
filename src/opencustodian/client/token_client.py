"""Calls to the token and revocation endpoints.

- Authorization code exchange: RFC 6749 §4.1.3 (with the RFC 7636 §4.5 ``code_verifier``).
- Refresh: RFC 6749 §6. Client credentials: RFC 6749 §4.4 (ESPI ``FB=35_67`` and friends give a
  client access token and no refresh token).
- Revocation: RFC 7009 §2.1, always a form body.

Two body styles exist. ``"form"`` is RFC 6749's ``application/x-www-form-urlencoded`` with the
client authenticated by HTTP Basic (``client_secret_basic``, RFC 6749 §2.3.1: id and secret
form-encoded before Base64) or by body parameters (``client_secret_post``). ``"json"`` is the
Con Edison style of seed 000: the code exchange sends
``{"grantType", "clientId", "clientSecret", "redirectUri", "oauthCode" | "authCode"}`` and the
refresh sends ``{"grant_type", "refresh_token", "redirect_uri", "scope"}``, both as
``application/json``. The seed's refresh and client-credentials bodies carry no credentials, so
this client sends them as HTTP Basic (or as ``client_id``/``client_secret`` JSON members with
``client_secret_post``). A PKCE verifier travels as ``codeVerifier`` in the JSON code exchange.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Self
from urllib.parse import quote

import httpx

from opencustodian.client._responses import json_object, raise_for_error
from opencustodian.client.clock import Clock, utc_now
from opencustodian.client.tokens import TokenResponse, parse_token_response

if TYPE_CHECKING:
    from types import TracebackType

TokenBodyStyle = Literal["form", "json"]
ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]
JsonCodeKey = Literal["oauthCode", "authCode"]
TokenTypeHint = Literal["access_token", "refresh_token"]

DEFAULT_TIMEOUT = 10.0
CLIENT_ACCESS_SCOPE = "FB=35_67"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """The third party's ``client_id`` and ``client_secret``; the secret stays out of repr."""

    client_id: str
    client_secret: str = field(repr=False)

    def basic_authorization(self) -> str:
        """The ``Authorization`` header value of RFC 6749 §2.3.1 (encode, then Base64)."""
        pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


class TokenClient:
    """A synchronous client of one custodian's token and revocation endpoints.

    Pass your own ``httpx.Client`` to control timeouts, proxies and TLS; otherwise the token
    client makes one and :meth:`close` (or ``with``) closes it.
    """

    def __init__(  # noqa: PLR0913 - one keyword per independent protocol choice
        self,
        *,
        token_endpoint: str,
        credentials: ClientCredentials,
        revocation_endpoint: str | None = None,
        body_style: TokenBodyStyle = "form",
        auth_method: ClientAuthMethod = "client_secret_basic",
        json_code_key: JsonCodeKey = "oauthCode",
        http: httpx.Client | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.token_endpoint = token_endpoint
        self.revocation_endpoint = revocation_endpoint
        self.credentials = credentials
        self.body_style = body_style
        self.auth_method = auth_method
        self.json_code_key = json_code_key
        self.clock = clock
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=DEFAULT_TIMEOUT)

    def close(self) -> None:
        """Close the HTTP client if this token client made it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def exchange_code(
        self, code: str, *, redirect_uri: str, code_verifier: str | None = None
    ) -> TokenResponse:
        """Trade an authorization code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.5).

        Raises:
            OAuthError: the server refused (``RateLimitedError`` on HTTP 429).
            InvalidResponseError: the server's success response is malformed.
        """
        if self.body_style == "json":
            body: dict[str, str] = {
                "grantType": "authorization_code",
                "clientId": self.credentials.client_id,
                "clientSecret": self.credentials.client_secret,
                "redirectUri": redirect_uri,
                self.json_code_key: code,
            }
            if code_verifier is not None:
                body["codeVerifier"] = code_verifier
            return self._token_json(body, authenticate=False)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return self._token_form(form)

    def refresh(
        self, refresh_token: str, *, scope: str | None = None, redirect_uri: str | None = None
    ) -> TokenResponse:
        """Use a refresh token (RFC 6749 §6); the response may carry a new, rotated one.

        Raises:
            OAuthError: the server refused (``RateLimitedError`` on HTTP 429).
            InvalidResponseError: the server's success response is malformed.
        """
        body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if redirect_uri is not None and self.body_style == "json":
            body["redirect_uri"] = redirect_uri  # the seed's refresh body names it
        if scope is not None:
            body["scope"] = scope
        if self.body_style == "json":
            return self._token_json(body, authenticate=True)
        return self._token_form(body)

    def client_credentials(self, scope: str = CLIENT_ACCESS_SCOPE) -> TokenResponse:
        """A client access token for bulk data (RFC 6749 §4.4; ESPI ``FB=35_67``, seed 000).

        Raises:
            OAuthError: the server refused (``RateLimitedError`` on HTTP 429).
            InvalidResponseError: the server's success response is malformed.
        """
        body = {"grant_type": "client_credentials", "scope": scope}
        if self.body_style == "json":
            return self._token_json(body, authenticate=True)
        return self._token_form(body)

    def revoke(self, token: str, *, token_type_hint: TokenTypeHint | None = None) -> None:
        """Revoke a token (RFC 7009 §2.1); a 200 means done, whether or not it was valid.

        Raises:
            ValueError: no revocation endpoint is known.
            OAuthError: the server refused (e.g. ``unsupported_token_type``, HTTP 503).
        """
        if self.revocation_endpoint is None:
            msg = "this custodian has no revocation endpoint configured"
            raise ValueError(msg)
        form = {"token": token}
        if token_type_hint is not None:
            form["token_type_hint"] = token_type_hint
        headers, form = self._form_auth(form)
        response = self._http.post(self.revocation_endpoint, data=form, headers=headers)
        raise_for_error(response, self.clock())

    def _form_auth(self, form: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        headers = {"Accept": "application/json"}
        if self.auth_method == "client_secret_basic":
            headers["Authorization"] = self.credentials.basic_authorization()
            return headers, form
        return headers, {
            **form,
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
        }

    def _token_form(self, form: dict[str, str]) -> TokenResponse:
        headers, form = self._form_auth(form)
        response = self._http.post(self.token_endpoint, data=form, headers=headers)
        return self._read(response)

    def _token_json(self, body: dict[str, str], *, authenticate: bool) -> TokenResponse:
        headers = {"Accept": "application/json"}
        if authenticate:
            headers, body = self._form_auth(body)
        response = self._http.post(self.token_endpoint, json=body, headers=headers)
        return self._read(response)

    def _read(self, response: httpx.Response) -> TokenResponse:
        now = self.clock()
        return parse_token_response(json_object(response, now), now)
