"""``create_thirdparty_app()``: the demo third party's pages, callback and notification URI.

The journey (seed 001, "The Customer Journey"; seed 000 §3.1 "Customer Authorization Flow"):

- ``GET /`` → ``GET /connect`` (select your utility) → ``GET /connect/data`` (choose what to
  share) → ``POST /connect/data`` builds the authorization request (RFC 6749 §4.1.1, PKCE per
  RFC 7636, scopes joined by ``|``) and sends the browser to the custodian with a 303.
- Utility-initiated: the custodian's Share My Data page sends the customer to
  ``GET /scope-selection?scope=…&scope=…&DataCustodianID=…`` (ESPI FB_14, the reference Third
  Party's ScopeSelection); ``POST /scope-selection`` continues the same way.
- ``GET /callback`` claims the attempt by ``state`` (RFC 6749 §10.12), exchanges the code
  (§4.1.3) or records ``error=access_denied`` (§4.1.2.1), and shows the connection.
- ``POST /connections/{id}/refresh`` (RFC 6749 §6) and ``POST /connections/{id}/disconnect``
  (RFC 7009) act on a connection; tokens are never shown.
- Once connected, the callback fetches the customer's feed (``resourceURI``) and
  ``GET /connections/{id}/usage`` charts it (:mod:`.usage_pages`); ``POST
  /connections/{id}/fetch`` fetches again.
- ``POST /notifications`` receives ESPI ``BatchList`` bodies (FB_39), answers 200 at once and
  then, in the background, fetches the feeds they name (:mod:`.fetching`).
- ``GET /privacy``: the company's privacy policy, which the custodian's agreement invitations
  link to (seed 003 EM201).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import httpx
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from opencustodian.client import (
    BatchListError,
    ClientCredentials,
    ClientError,
    Clock,
    TokenCache,
    TokenClient,
    build_authorization_request,
    parse_batch_list,
    split_scopes,
    utc_now,
)
from opencustodian.client.notifications import MAX_BATCH_LIST_BYTES
from opencustodian.demo.thirdparty import usage_pages
from opencustodian.demo.thirdparty.config import PREDEFINED_SCOPES, ScopeOption, ThirdPartyConfig
from opencustodian.demo.thirdparty.context import ThirdParty, problem_page, render, tp_of
from opencustodian.demo.thirdparty.fetching import Fetcher
from opencustodian.demo.thirdparty.store import Attempt, Database, SqliteTokenStore
from opencustodian.demo.thirdparty.usage_store import UsageStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

HTTP_TIMEOUT = 10.0
MAX_OFFERED_SCOPES = 50
MAX_SCOPE_LENGTH = 2000
UNKNOWN_STATE = (
    "This sign-in link is unknown, expired or was already used. Please start connecting again."
)


def create_thirdparty_app(
    config: ThirdPartyConfig,
    *,
    http_client: httpx.Client | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """Build the demo third party for ``config``.

    Args:
        config: who the third party is and which custodian it uses.
        http_client: the httpx client for calls to the custodian (one is made when omitted and
            closed on shutdown).
        clock: the current time (aware); tests inject one to move time.
    """
    http = http_client or httpx.Client(timeout=HTTP_TIMEOUT)
    endpoints = config.endpoints
    tokens = TokenClient(
        token_endpoint=endpoints.token_endpoint,
        revocation_endpoint=endpoints.revocation_endpoint,
        credentials=ClientCredentials(config.client_id, config.client_secret),
        body_style=config.token_body_style,
        auth_method=config.client_auth_method,
        json_code_key=config.json_code_key,
        http=http,
        clock=clock,
    )
    database = Database(config.database_path)
    cache = TokenCache(
        SqliteTokenStore(database), tokens, clock=clock, redirect_uri=config.redirect_uri
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if http_client is None:
            http.close()

    app = FastAPI(title=config.name, docs_url=None, redoc_url=None, lifespan=lifespan)
    usage = UsageStore(database)
    fetcher = Fetcher(database, usage, cache, http, clock)
    app.state.thirdparty = ThirdParty(config, database, tokens, cache, clock, usage, fetcher)
    for path, endpoint, method in (*PAGES, *usage_pages.PAGES):
        app.add_api_route(
            path,
            endpoint,
            methods=[method],
            response_class=HTMLResponse,
            include_in_schema=False,
        )
    app.add_api_route("/notifications", receive_notification, methods=["POST"])
    return app


def landing(request: Request) -> HTMLResponse:
    """What the app does and a button to connect utility data."""
    return render(request, "landing.html")


def select_utility(request: Request) -> HTMLResponse:
    """Seed 001: "Hello, Customer. Please select your Utility"."""
    return render(request, "select_utility.html")


def choose_data(request: Request) -> HTMLResponse:
    """The predefined scope sets of seed 000 and a custom scope field."""
    return render(
        request,
        "choose_data.html",
        options=PREDEFINED_SCOPES,
        checked=set(),
        action="/connect/data",
        heading="Choose what to share",
        data_custodian_id=None,
        error=None,
    )


def _clean_scopes(values: list[str]) -> list[str] | None:
    """Scope strings from form values (a custom value may hold several, ``|``-joined)."""
    scopes: list[str] = []
    for value in values:
        for scope in split_scopes(value):
            if len(scope) > MAX_SCOPE_LENGTH or any(char.isspace() for char in scope):
                return None
            if scope not in scopes:
                scopes.append(scope)
    return scopes


def _start(  # noqa: PLR0913 - the two entry points differ in exactly these values
    request: Request,
    scope: list[str] | None,
    custom_scope: str,
    *,
    options: tuple[ScopeOption, ...],
    action: str,
    heading: str,
    data_custodian_id: str | None,
) -> Response:
    """Build the authorization request, remember its state and verifier, redirect (303)."""
    tp = tp_of(request)
    chosen = list(scope or [])
    scopes = _clean_scopes([*chosen, custom_scope])
    if not scopes:
        error = (
            "A scope string contains spaces or is too long."
            if scopes is None
            else "Choose at least one kind of data to share."
        )
        return render(
            request,
            "choose_data.html",
            400,
            options=options,
            checked=set(chosen),
            action=action,
            heading=heading,
            data_custodian_id=data_custodian_id,
            error=error,
        )
    authorization = build_authorization_request(
        tp.config.endpoints.authorization_endpoint,
        client_id=tp.config.client_id,
        redirect_uri=tp.config.redirect_uri,
        scopes=scopes,
        style=tp.config.authorize_param_style,
    )
    tp.database.add_attempt(
        Attempt(
            authorization.state,
            authorization.code_verifier,
            authorization.scope,
            authorization.redirect_uri,
            "custodian" if data_custodian_id is not None else "third_party",
            data_custodian_id,
        ),
        tp.clock(),
    )
    return RedirectResponse(authorization.url, status_code=303)


def submit_data(
    request: Request,
    scope: Annotated[list[str] | None, Form()] = None,
    custom_scope: Annotated[str, Form()] = "",
) -> Response:
    """Start the authorization with the chosen scope sets."""
    return _start(
        request,
        scope,
        custom_scope,
        options=PREDEFINED_SCOPES,
        action="/connect/data",
        heading="Choose what to share",
        data_custodian_id=None,
    )


def _offered(scope: list[str] | None) -> tuple[ScopeOption, ...] | None:
    names = {option.scope: option.name for option in PREDEFINED_SCOPES}
    offered = _clean_scopes((scope or [])[:MAX_OFFERED_SCOPES])
    if offered is None:
        return None
    return tuple(ScopeOption(names.get(value, value), value) for value in offered)


def offered_scopes(
    request: Request,
    scope: Annotated[list[str] | None, Query()] = None,
    data_custodian_id: Annotated[str | None, Query(alias="DataCustodianID")] = None,
) -> HTMLResponse:
    """The utility-initiated entry: the scopes the custodian offers, ticked by default."""
    options = _offered(scope)
    if options is None:
        return problem_page(request, "Unusable scope list", "A scope string is malformed.", 400)
    if not options:
        options = PREDEFINED_SCOPES
    return render(
        request,
        "choose_data.html",
        options=options,
        checked={option.scope for option in options} if scope else set(),
        action="/scope-selection",
        heading=f"{tp_of(request).config.custodian_name} sent you here: choose what to share",
        data_custodian_id=data_custodian_id or "",
        error=None,
    )


def submit_offered(
    request: Request,
    scope: Annotated[list[str] | None, Form()] = None,
    custom_scope: Annotated[str, Form()] = "",
    offered: Annotated[list[str] | None, Form()] = None,
    data_custodian_id: Annotated[str, Form()] = "",
) -> Response:
    """Continue the utility-initiated journey exactly like ``POST /connect/data``."""
    options = _offered(offered) or PREDEFINED_SCOPES
    return _start(
        request,
        scope,
        custom_scope,
        options=options,
        action="/scope-selection",
        heading=f"{tp_of(request).config.custodian_name} sent you here: choose what to share",
        data_custodian_id=data_custodian_id,
    )


def callback(
    request: Request,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """The redirect URI: claim the attempt by state, then exchange the code or record denial."""
    tp = tp_of(request)
    now = tp.clock()
    attempt = (
        tp.database.claim_attempt(state, now, now - tp.config.state_lifetime) if state else None
    )
    if attempt is None:
        return problem_page(request, "Unknown authorization", UNKNOWN_STATE, 400)
    if error is not None:
        outcome = "denied" if error == "access_denied" else "error"
        tp.database.finish_attempt(
            attempt.state, outcome, error=error, description=error_description
        )
        if outcome == "denied":
            return render(request, "denied.html")
        return problem_page(
            request,
            "The utility did not connect",
            f"{tp.config.custodian_name} answered: {error_description or error}.",
            502,
        )
    if not code:
        tp.database.finish_attempt(attempt.state, "error", error="invalid_request")
        return problem_page(request, "Unknown authorization", "The utility sent no code.", 400)
    try:
        token = tp.tokens.exchange_code(
            code, redirect_uri=attempt.redirect_uri, code_verifier=attempt.code_verifier
        )
    except (ClientError, httpx.HTTPError) as failure:
        tp.database.finish_attempt(
            attempt.state, "error", error=type(failure).__name__, description=str(failure)
        )
        return problem_page(
            request,
            "The utility did not connect",
            f"Exchanging the authorization code with {tp.config.custodian_name} failed.",
            502,
        )
    connection_id = tp.database.add_connection(
        tp.config.custodian_name, attempt.scope, token, tp.clock()
    )
    tp.database.finish_attempt(attempt.state, "granted", connection_id=connection_id)
    if token.resource_uri is not None:
        # The first fetch happens now, so the connection page can offer the chart at once; a
        # failure is recorded on the connection and never undoes it.
        tp.fetcher.fetch(connection_id, token.resource_uri, "connected")
    return RedirectResponse(f"/connections/{connection_id}", status_code=303)


def list_connections(request: Request) -> HTMLResponse:
    """Every connection this app holds."""
    return render(request, "connections.html", connections=tp_of(request).database.connections())


def show_connection(
    request: Request, connection_id: int, notice: str | None = None
) -> HTMLResponse:
    """What was granted: scopes, ESPI URIs, token times (never the tokens) and usage fetched."""
    tp = tp_of(request)
    connection = tp.database.connection(connection_id)
    if connection is None:
        return problem_page(request, "No such connection", "This connection does not exist.", 404)
    notices = {"refreshed": "The access token was refreshed.", "disconnected": "Disconnected."}
    return render(
        request,
        "connection.html",
        connection=connection,
        scopes=split_scopes(connection.scope or ""),
        notice=notices.get(notice or ""),
        fetches=tp.usage.fetches(connection_id, limit=1),
        series=[series for series in tp.usage.series(connection_id) if series.reading_count],
    )


def refresh_connection(request: Request, connection_id: int) -> Response:
    """Refresh the access token now (RFC 6749 §6); the rotated refresh token is kept."""
    tp = tp_of(request)
    connection = tp.database.connection(connection_id)
    if connection is None or connection.status != "active":
        return problem_page(request, "No active connection", "Nothing to refresh.", 404)
    try:
        tp.cache.refresh(str(connection_id))
    except (ClientError, httpx.HTTPError):
        return problem_page(
            request,
            "Refresh failed",
            f"{tp.config.custodian_name} refused to refresh this connection's token.",
            502,
        )
    return RedirectResponse(f"/connections/{connection_id}?notice=refreshed", status_code=303)


def disconnect(request: Request, connection_id: int) -> Response:
    """Revoke the grant at the custodian (RFC 7009) and forget the tokens."""
    tp = tp_of(request)
    connection = tp.database.connection(connection_id)
    if connection is None or connection.status != "active":
        return problem_page(request, "No active connection", "Nothing to disconnect.", 404)
    token = tp.cache.get(str(connection_id))
    if token is not None:
        try:
            if token.refresh_token is not None:
                tp.tokens.revoke(token.refresh_token, token_type_hint="refresh_token")  # noqa: S106 - a hint name, not a secret
            tp.tokens.revoke(token.access_token, token_type_hint="access_token")  # noqa: S106 - a hint name, not a secret
        except (ClientError, httpx.HTTPError):
            return problem_page(
                request,
                "Disconnect failed",
                f"{tp.config.custodian_name} did not confirm the revocation; try again.",
                502,
            )
    tp.database.disconnect(connection_id, tp.clock())
    return RedirectResponse(f"/connections/{connection_id}?notice=disconnected", status_code=303)


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


async def receive_notification(request: Request) -> Response:
    """The notification URI: store each BatchList URI and answer 200 at once (ESPI FB_39)."""
    tp = tp_of(request)
    body = await _bounded_body(request, MAX_BATCH_LIST_BYTES)
    if body is None:
        return PlainTextResponse("BatchList body is too large", status_code=413)
    try:
        uris = parse_batch_list(body)
    except BatchListError as error:
        return PlainTextResponse(str(error), status_code=400)
    await run_in_threadpool(tp.database.add_notifications, uris, tp.clock())
    # The custodian is answered first; the feeds are fetched after the response is sent.
    return Response(status_code=200, background=BackgroundTask(tp.fetcher.import_notified, uris))


def privacy_policy(request: Request) -> HTMLResponse:
    """The company's privacy policy: the link agreement invitations show (seed 003 EM201)."""
    return render(request, "privacy.html")


def list_notifications(request: Request) -> HTMLResponse:
    """The resource URIs the custodian notified, newest first."""
    return render(
        request, "notifications.html", notifications=tp_of(request).database.notifications()
    )


PAGES: tuple[tuple[str, Callable[..., object], str], ...] = (
    ("/", landing, "GET"),
    ("/connect", select_utility, "GET"),
    ("/connect/data", choose_data, "GET"),
    ("/connect/data", submit_data, "POST"),
    ("/scope-selection", offered_scopes, "GET"),
    ("/scope-selection", submit_offered, "POST"),
    ("/callback", callback, "GET"),
    ("/connections", list_connections, "GET"),
    ("/connections/{connection_id}", show_connection, "GET"),
    ("/connections/{connection_id}/refresh", refresh_connection, "POST"),
    ("/connections/{connection_id}/disconnect", disconnect, "POST"),
    ("/notifications", list_notifications, "GET"),
    ("/privacy", privacy_policy, "GET"),
)
