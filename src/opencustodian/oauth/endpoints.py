"""HTTP edge of the authorization server: token, revocation and metadata endpoints.

Bodies are read (size-limited) on the event loop, then the synchronous Authlib work runs in
the thread pool with its own database session. A response commits its session only when it
succeeded, or when a refusal must still revoke something (a replayed code or refresh token).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi.responses import JSONResponse, Response
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from opencustodian.kit.time import utc_now
from opencustodian.kit.tokens import hash_secret
from opencustodian.oauth.requests import (
    MAX_BODY_BYTES,
    CustodianRequest,
    MalformedRequestError,
    body_pairs,
    normalized,
    repeated_parameter,
)
from opencustodian.oauth.server import CustodianAuthorizationServer

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session, sessionmaker
    from starlette.requests import Request

    from opencustodian.oauth.server import ServerSettings
    from opencustodian.services.consent import GrantLifecycle

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenRateLimiter:
    """Token calls per client per minute (seed 000 §3.3 b: 50), a moving window."""

    def __init__(self, per_minute: int, storage_uri: str | None = None) -> None:
        """Limit to ``per_minute`` calls; in memory unless a ``limits`` storage URI is given."""
        storage = storage_from_string(storage_uri) if storage_uri else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self._item = RateLimitItemPerMinute(per_minute)

    def retry_after(self, client_key: str) -> int | None:
        """Count one call; seconds to wait when over the limit, else None."""
        if self._limiter.hit(self._item, "token", client_key):
            return None
        reset = self._limiter.get_window_stats(self._item, "token", client_key).reset_time
        return max(1, math.ceil(reset - utc_now().timestamp()))


@dataclass(frozen=True, slots=True)
class OAuthEdge:
    """Everything the endpoints need, built once by ``create_app``."""

    settings: ServerSettings
    sessions: sessionmaker[Session]
    lifecycle: Callable[[Session], GrantLifecycle]
    limiter: TokenRateLimiter
    insecure_transport_allowed: bool
    #: Called after a commit that may have queued notifications (grant ended by a reuse or
    #: a revocation).
    after_commit: Callable[[], None]


def error_response(error: str, description: str, status: int = 400) -> JSONResponse:
    """An RFC 6749 §5.2 error body."""
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=NO_STORE
    )


async def read_body(request: Request) -> bytes:
    """The request body, refusing more than ``MAX_BODY_BYTES`` before reading it all."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            msg = f"the request body is larger than {MAX_BODY_BYTES} bytes"
            raise MalformedRequestError(msg)
        chunks.append(chunk)
    return b"".join(chunks)


async def adapt(request: Request) -> CustodianRequest:
    """The request as Authlib's, with the seed's parameter names normalized."""
    body = await read_body(request)
    pairs = normalized(
        [
            *request.query_params.multi_items(),
            *body_pairs(body, request.headers.get("content-type", "")),
        ]
    )
    return CustodianRequest(request.method, str(request.url), request.headers, pairs)


def _client_key(edge: OAuthEdge, request: CustodianRequest) -> str:
    """The rate-limit bucket: the client id *and* a keyed hash of the presented secret.

    Client ids are public (they are in every authorize URL); keying on the id alone would let
    anyone spend a third party's budget with forged calls. Calls with a wrong secret land in
    a bucket of their own, so they never slow the real client down.
    """
    basic_id, basic_secret = extract_basic_authorization(request.headers)
    client_id = basic_id or request.payload.data.get("client_id") or "anonymous"
    secret = basic_secret or request.payload.data.get("client_secret") or ""
    return f"{client_id}:{hash_secret(secret, edge.settings.key)[:16]}"


def _client_auth_problem(request: CustodianRequest) -> str | None:
    """RFC 6749 §2.3: one authentication method per request, naming one client."""
    basic_id, _ = extract_basic_authorization(request.headers)
    if not basic_id:
        return None
    if "client_secret" in request.payload.data:
        return "use one client authentication method"
    body_id = request.payload.data.get("client_id")
    if body_id and body_id != basic_id:
        return "client_id differs from the HTTP Basic credentials"
    return None


def _request_problem(request: CustodianRequest) -> str | None:
    """What makes a token request malformed before any grant looks at it (RFC 6749 §5.2)."""
    repeated = repeated_parameter(request)
    if repeated:
        return f"the parameter {repeated!r} is given more than once"
    if not request.payload.data.get("grant_type"):
        return "missing grant_type"
    return _client_auth_problem(request)


def _insecure(edge: OAuthEdge, request: Request) -> bool:
    return request.url.scheme != "https" and not edge.insecure_transport_allowed


def build_server(edge: OAuthEdge, session: Session) -> CustodianAuthorizationServer:
    """An authorization server for one request's ``session``, at the current time."""
    return CustodianAuthorizationServer(
        edge.settings, session=session, now=utc_now(), lifecycle=edge.lifecycle
    )


def run_server(
    edge: OAuthEdge, call: Callable[[CustodianAuthorizationServer], Response], request: object
) -> Response:
    """Run ``call`` on a server with a fresh session; commit per the module's rule."""
    with edge.sessions() as session:
        server = build_server(edge, session)
        response = call(server)
        if response.status_code < 400 or getattr(request, "commit_on_error", False):  # noqa: PLR2004
            session.commit()
            if server.lifecycle.ended_any:
                edge.after_commit()
        else:
            session.rollback()
        return response


async def token_endpoint(request: Request) -> Response:
    """``POST /oauth/token`` (RFC 6749 §3.2), form or seed-000 JSON bodies."""
    edge: OAuthEdge = request.app.state.oauth
    if _insecure(edge, request):
        return error_response("invalid_request", "the token endpoint requires https")
    try:
        oauth_request = await adapt(request)
    except MalformedRequestError as error:
        return error_response("invalid_request", str(error))
    wait = edge.limiter.retry_after(_client_key(edge, oauth_request))
    if wait is not None:
        response = error_response("slow_down", "too many token requests; retry later", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    problem = _request_problem(oauth_request)
    if problem:
        return error_response("invalid_request", problem)
    return await run_in_threadpool(
        run_server, edge, lambda server: server.create_token_response(oauth_request), oauth_request
    )


async def revocation_endpoint(request: Request) -> Response:
    """``POST /oauth/revoke`` (RFC 7009)."""
    edge: OAuthEdge = request.app.state.oauth
    try:
        oauth_request = await adapt(request)
    except MalformedRequestError as error:
        return error_response("invalid_request", str(error))
    repeated = repeated_parameter(oauth_request)
    if repeated:
        return error_response("invalid_request", f"the parameter {repeated!r} is repeated")
    return await run_in_threadpool(
        run_server,
        edge,
        lambda server: server.create_endpoint_response("revocation", oauth_request),
        oauth_request,
    )


def metadata(base_url: str) -> dict[str, object]:
    """RFC 8414 metadata: the OAuth members (``web.api.cds_admin`` adds the CDS ones)."""
    return {
        "issuer": base_url,
        "authorization_endpoint": f"{base_url}/oauth/authorize",
        "token_endpoint": f"{base_url}/oauth/token",
        "revocation_endpoint": f"{base_url}/oauth/revoke",
        "introspection_endpoint": f"{base_url}/oauth/introspect",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": f"{base_url}/docs",
        "espi_resource_endpoint": f"{base_url}/espi/1_1/resource",
        "espi_scope_separator": "|",
    }
