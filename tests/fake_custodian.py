"""A small fake Data Custodian OAuth server for client and demo third-party tests.

It implements just enough of RFC 6749/7636/7009/8414 and the seed-000 JSON token bodies to
check what a client sends: PKCE verifiers must match their challenges, JSON bodies must use the
seed's key names, refresh tokens rotate (a used one is refused), and the token endpoint answers
429 once a configured number of calls is exceeded. Every call is recorded for assertions; the
fake answers mistakes with OAuth errors rather than assertions (which would only be 500s).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

SEED_CODE_KEYS = {"grantType", "clientId", "clientSecret", "redirectUri"}


@dataclass
class CodeGrant:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    method: str | None


@dataclass
class Issued:
    scope: str
    number: int


@dataclass
class TokenCall:
    content_type: str
    body: dict[str, str]
    authorization: str | None


@dataclass
class FakeCustodian:
    client_id: str = "sunspark"
    client_secret: str = "s3cret:with space"
    expires_in: int = 3600
    token_limit: int | None = None
    deny: bool = False
    issuer: str | None = None
    authorize_calls: list[dict[str, str]] = field(default_factory=list)
    token_calls: list[TokenCall] = field(default_factory=list)
    revoke_calls: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, Issued] = field(default_factory=dict)
    access_tokens: dict[str, Issued] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    issued_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()
        app.add_api_route("/.well-known/oauth-authorization-server", self.metadata)
        app.add_api_route("/oauth/authorize", self.authorize)
        app.add_api_route("/oauth/token", self.token, methods=["POST"])
        app.add_api_route("/oauth/revoke", self.revoke, methods=["POST"])
        app.add_api_route("/broken/token", self.broken, methods=["POST"])
        return app

    # -- endpoints ---------------------------------------------------------------------------

    def metadata(self, request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": self.issuer or base,
                "authorization_endpoint": f"{base}/oauth/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "revocation_endpoint": f"{base}/oauth/revoke",
                "response_types_supported": ["code"],
                "grant_types_supported": [
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                ],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["FB=1_3_4_5", "FB=51_53"],
            }
        )

    def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_calls.append(params)
        client_id = params.get("client_id") or params.get("clientId")
        redirect_uri = params.get("redirect_uri") or params.get("redirectUri")
        if client_id != self.client_id or not redirect_uri:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        state = params.get("state", "")
        if self.deny:
            query = urlencode({"error": "access_denied", "state": state})
            return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = CodeGrant(
                client_id,
                redirect_uri,
                params.get("scope", ""),
                params.get("code_challenge"),
                params.get("code_challenge_method"),
            )
        query = urlencode({"code": code, "state": state})
        return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = {key: str(value) for key, value in json.loads(raw).items()}
        else:
            body = dict(parse_qsl(raw.decode()))
        authorization = request.headers.get("authorization")
        with self.lock:
            self.token_calls.append(TokenCall(content_type, body, authorization))
            if self.token_limit is not None and len(self.token_calls) > self.token_limit:
                return JSONResponse(
                    {"error": "too_many_requests", "error_description": "50 calls a minute"},
                    status_code=429,
                    headers={"Retry-After": "42"},
                )
            return self._grant(request, content_type, body, authorization)

    async def revoke(self, request: Request) -> Response:
        raw = await request.body()
        body = dict(parse_qsl(raw.decode()))
        self.revoke_calls.append(body)
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return self._error("invalid_request", "RFC 7009 takes a form body")
        if not self._client_ok(body, request.headers.get("authorization"), camel=False):
            return self._error("invalid_client", "bad client credentials", 401)
        token = body.get("token", "")
        with self.lock:
            self.revoked.add(token)
            issued = self.refresh_tokens.pop(token, None) or self.access_tokens.pop(token, None)
            if issued is not None:  # revoking one token of a grant revokes the grant
                for table in (self.refresh_tokens, self.access_tokens):
                    for other in [
                        key for key, value in table.items() if value.number == issued.number
                    ]:
                        del table[other]
        return Response(status_code=200)

    def broken(self) -> Response:
        return Response("<html>not json</html>", media_type="text/html")

    # -- helpers -----------------------------------------------------------------------------

    def _client_ok(self, body: dict[str, str], authorization: str | None, *, camel: bool) -> bool:
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            return (unquote(client_id), unquote(secret)) == (self.client_id, self.client_secret)
        id_key, secret_key = (
            ("clientId", "clientSecret") if camel else ("client_id", "client_secret")
        )
        return (body.get(id_key), body.get(secret_key)) == (self.client_id, self.client_secret)

    def _issue(
        self, base: str, scope: str, *, refresh: bool, number: int | None = None
    ) -> dict[str, Any]:
        self.issued_count += 1
        number = number if number is not None else self.issued_count
        access = f"at-{secrets.token_urlsafe(12)}"
        self.access_tokens[access] = Issued(scope, number)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": scope,
            "resourceURI": f"{base}/espi/1_1/resource/Batch/Subscription/{number}",
            "authorizationURI": f"{base}/espi/1_1/resource/Authorization/{number}",
        }
        if refresh:
            token = f"rt-{secrets.token_urlsafe(12)}"
            self.refresh_tokens[token] = Issued(scope, number)
            answer["refresh_token"] = token
            answer["customerResourceURI"] = (
                f"{base}/espi/1_1/resource/Batch/RetailCustomer/{number}"
            )
        return answer

    @staticmethod
    def _error(error: str, description: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    def _grant(  # noqa: PLR0911 - one early answer per OAuth error case
        self, request: Request, content_type: str, body: dict[str, str], authorization: str | None
    ) -> Response:
        base = str(request.base_url).rstrip("/")
        is_json = content_type.startswith("application/json")
        grant_type = (
            body.get("grantType") if is_json and "grantType" in body else body.get("grant_type")
        )
        if grant_type == "authorization_code":
            return self._code_grant(base, body, authorization, is_json=is_json)
        if not self._client_ok(body, authorization, camel=False):
            return self._error("invalid_client", "bad client credentials", 401)
        if grant_type == "refresh_token":
            issued = self.refresh_tokens.pop(body.get("refresh_token", ""), None)
            if issued is None:
                return self._error("invalid_grant", "unknown or already used refresh token")
            if body.get("scope") not in {None, issued.scope}:
                return self._error("invalid_scope", "scope differs from the grant")
            return JSONResponse(self._issue(base, issued.scope, refresh=True, number=issued.number))
        if grant_type == "client_credentials":
            if body.get("scope") != "FB=35_67":
                return self._error("invalid_scope", "client access tokens take FB=35_67")
            answer = self._issue(base, "FB=35_67", refresh=False)
            answer["resourceURI"] = f"{base}/espi/1_1/resource/Batch/Bulk/1"
            return JSONResponse(answer)
        return self._error("unsupported_grant_type", f"grant_type {grant_type!r}")

    def _code_grant(  # noqa: PLR0911 - one early answer per OAuth error case
        self, base: str, body: dict[str, str], authorization: str | None, *, is_json: bool
    ) -> Response:
        if is_json:
            if not body.keys() >= SEED_CODE_KEYS:
                return self._error("invalid_request", f"seed JSON keys missing: {sorted(body)}")
            code = body.get("oauthCode") or body.get("authCode") or ""
            redirect_uri = body["redirectUri"]
            verifier = body.get("codeVerifier")
        else:
            code = body.get("code", "")
            redirect_uri = body.get("redirect_uri", "")
            verifier = body.get("code_verifier")
        if not self._client_ok(body, authorization, camel=is_json):
            return self._error("invalid_client", "bad client credentials", 401)
        grant = self.codes.pop(code, None)
        if grant is None:
            return self._error("invalid_grant", "unknown or reused code")
        if grant.redirect_uri != redirect_uri:
            return self._error("invalid_grant", "redirect_uri differs from the authorization")
        if grant.challenge is not None:
            if grant.method != "S256" or verifier is None:
                return self._error("invalid_grant", "PKCE verifier missing")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return self._error("invalid_grant", "PKCE verifier does not match")
        return JSONResponse(self._issue(base, grant.scope, refresh=True))
