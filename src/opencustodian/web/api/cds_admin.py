"""CDS discovery and administration over HTTP.

- ``GET /.well-known/cds-server-metadata.json`` (CDS-WG1-01 §3; also the legacy
  ``/.well-known/carbon-data-spec.json``) and ``GET /.well-known/oauth-authorization-server``
  (RFC 8414 with the CDS-WG1-02 §3.2 and WG3-01 §5 members): public, with a strong ``ETag``
  (``If-None-Match`` → 304) and ``Cache-Control: max-age``;
- ``GET /cds/v1/coverage`` (CDS-WG1-01 §4): public, one entry for the utility;
- ``/cds/v1/grants`` (CDS-WG1-02 §8): list, read and close the caller's customer grants;
- ``/cds/v1/clients`` (CDS-WG1-02 §5): the caller's own client, read only;
- ``POST /oauth/introspect`` (RFC 7662), authenticated like the token endpoint.

The Grants and Clients APIs take a client-credentials token with ``cds_client_admin``;
errors are RFC 9457 problems as in ``web.api.cds``. Another client's grant or client is 404,
never 403, so ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Final

from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request  # noqa: TC002 - FastAPI reads route annotations

from opencustodian.kit import exact_json
from opencustodian.kit.time import utc_now
from opencustodian.oauth.endpoints import (
    adapt,
    error_response,
    metadata,
    read_body,
    run_server,
)
from opencustodian.oauth.introspection import introspect
from opencustodian.oauth.requests import MalformedRequestError, repeated_parameter
from opencustodian.protocols.cds import schema_catalog
from opencustodian.protocols.cds.admin_objects import client_object, grant_object
from opencustodian.protocols.cds.listing import (
    ListingQuery,
    ListingQueryError,
    datetime_bound,
    listing,
    page_links,
    parse_listing_query,
)
from opencustodian.protocols.cds.metadata import (
    CDS_METADATA_PATH,
    CLIENTS_PATH,
    COVERAGE_PATH,
    GRANTS_PATH,
    INTROSPECTION_PATH,
    LEGACY_METADATA_PATH,
    OAUTH_METADATA_PATH,
    Site,
    authorization_server_fields,
    consent_scope_ids,
    coverage_entry,
    server_metadata,
)
from opencustodian.services import cds_admin
from opencustodian.services.access import AccessDeniedError
from opencustodian.storage.cds_admin import SqlCdsAdminStore
from opencustodian.web.api.cds import (
    JSON,
    PROBLEM,
    authenticated,
    denied,
    problem,
    with_cds_components,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import FastAPI
    from sqlalchemy.orm import Session
    from starlette.types import Receive, Scope, Send

    from opencustodian.domain.consent import AccessRecord
    from opencustodian.oauth.endpoints import OAuthEdge
    from opencustodian.protocols.cds.admin_objects import GrantView
    from opencustodian.web.app import AppContext

#: How long caches may keep a discovery document before revalidating it.
METADATA_MAX_AGE: Final = 3600
#: The largest PATCH body read (a Grant object is far smaller).
MAX_PATCH_BYTES: Final = 16 * 1024
COVERAGE_FILTERS: Final = ("ids",)
FORM = "application/x-www-form-urlencoded"


def install(app: FastAPI) -> None:
    """Register discovery, coverage, the Grants and Clients APIs and introspection."""
    for path, name, summary in (
        (CDS_METADATA_PATH, "cds_server_metadata", "CDS server metadata (CDS-WG1-01 §3)"),
        (LEGACY_METADATA_PATH, "cds_server_metadata_legacy", "The same, at its pre-2025 address"),
    ):
        app.add_api_route(
            path,
            cds_server_metadata,
            methods=["GET"],
            name=name,
            summary=summary,
            responses=_metadata_responses("ServerMetadata"),
            response_class=Response,
        )
    app.add_api_route(
        OAUTH_METADATA_PATH,
        oauth_metadata,
        methods=["GET"],
        name="oauth_authorization_server_metadata",
        summary="Authorization server metadata (RFC 8414, CDS-WG1-02 §3.2, CDS-WG3-01 §5)",
        responses=_metadata_responses("AuthorizationServerMetadata"),
        response_class=Response,
    )
    app.add_api_route(
        COVERAGE_PATH,
        coverage,
        methods=["GET"],
        name="cds_coverage",
        summary="List coverage entries (CDS-WG1-01 §4)",
        responses=_responses("CoverageListing", 400),
        response_class=Response,
    )
    _install_admin(app)
    app.add_api_route(
        INTROSPECTION_PATH,
        introspection,
        methods=["POST"],
        name="oauth_introspection",
        summary="Token introspection (RFC 7662)",
        responses=_INTROSPECTION_RESPONSES,
        openapi_extra={"requestBody": _INTROSPECTION_REQUEST},
        response_class=Response,
    )
    with_cds_components(app)


def _install_admin(app: FastAPI) -> None:
    routes: Sequence[tuple[str, Any, str, str, str, tuple[int, ...]]] = (
        (GRANTS_PATH, list_grants, "GET", "GrantListing", "List grants (CDS-WG1-02 §8.4)", (400,)),
        (
            f"{GRANTS_PATH}/{{grant_id}}",
            read_grant,
            "GET",
            "Grant",
            "Read a grant (CDS-WG1-02 §8.5)",
            (404,),
        ),
        (
            f"{GRANTS_PATH}/{{grant_id}}",
            change_grant,
            "PATCH",
            "Grant",
            'Close a grant with {"status": "closed"} (CDS-WG1-02 §8.6)',
            (400, 404, 409),
        ),
        (
            CLIENTS_PATH,
            list_clients,
            "GET",
            "ClientListing",
            "List clients (CDS-WG1-02 §5.3)",
            (400,),
        ),
        (
            f"{CLIENTS_PATH}/{{client_id}}",
            read_client,
            "GET",
            "Client",
            "Read a client (CDS-WG1-02 §5.4)",
            (404,),
        ),
    )
    for path, endpoint, method, schema, summary, errors in routes:
        extra = {"requestBody": _PATCH_REQUEST} if method == "PATCH" else None
        shared = sorted({other for where, _, other, *_ in routes if where == path})
        app.router.add_api_route(
            path,
            endpoint,
            methods=[method],
            summary=summary,
            responses=_responses(schema, *errors, 401, 403),
            response_class=Response,
            openapi_extra=extra,
            route_class_override=_route_class(", ".join(shared)),
        )


def _route_class(allow: str) -> type[APIRoute]:
    """An ``APIRoute`` whose 405 names every method of its path (RFC 9110 §15.5.6).

    Starlette answers a method no route takes from the first route of the path, so a GET
    route would claim the path allows only GET although a PATCH route serves it too.
    """

    class SharedPathRoute(APIRoute):
        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["method"] not in (self.methods or ()):
                raise HTTPException(status_code=405, headers={"Allow": allow})
            await super().handle(scope, receive, send)

    return SharedPathRoute


# -- OpenAPI ----------------------------------------------------------------------------------

_ERRORS: Final = {
    400: "malformed query or body",
    401: "missing, unknown, expired or revoked token",
    403: "the token is not a client token with cds_client_admin",
    404: "no such object for this client",
    409: "the grant already ended in another way",
}


def _problem_body() -> dict[str, Any]:
    return {"content": {PROBLEM: {"schema": schema_catalog.openapi_ref("Problem")}}}


def _responses(schema: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    answers: dict[int | str, dict[str, Any]] = {
        200: {"content": {JSON: {"schema": schema_catalog.openapi_ref(schema)}}}
    }
    for status in sorted(set(errors)):
        answers[status] = {"description": _ERRORS[status], **_problem_body()}
    return answers


def _metadata_responses(schema: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {JSON: {"schema": schema_catalog.openapi_ref(schema)}}},
        304: {"description": "unchanged since the ETag given in If-None-Match"},
    }


_PATCH_REQUEST: Final = {
    "required": True,
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"type": "string", "enum": ["closed"]}},
            }
        }
    },
}
_INTROSPECTION_REQUEST: Final = {
    "required": True,
    "content": {
        FORM: {
            "schema": {
                "type": "object",
                "required": ["token"],
                "properties": {
                    "token": {"type": "string"},
                    "token_type_hint": {
                        "type": "string",
                        "enum": ["access_token", "refresh_token"],
                    },
                },
            }
        }
    },
}
_INTROSPECTION_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "RFC 7662 §2.2: the token's facts, or only active false",
        "content": {
            JSON: {
                "schema": {
                    "type": "object",
                    "required": ["active"],
                    "properties": {
                        "active": {"type": "boolean"},
                        "scope": {"type": "string"},
                        "client_id": {"type": "string"},
                        "token_type": {"type": "string"},
                        "exp": {"type": "integer"},
                        "iat": {"type": "integer"},
                        "sub": {"type": "string"},
                        "iss": {"type": "string"},
                        "cds_grant_ids": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    },
    400: {"description": "RFC 6749 §5.2 invalid_request"},
    401: {"description": "RFC 6749 §5.2 invalid_client"},
}


# -- discovery --------------------------------------------------------------------------------


def site_of(context: AppContext) -> Site:
    """What the discovery documents say about this custodian."""
    profile = context.profile
    return Site(
        base_url=context.base_url,
        name=profile.name,
        short_name=profile.short_name,
        time_zone=profile.time_zone.key,
        state=profile.state,
        max_authorization_days=profile.limits.max_authorization_days,
        history_years=profile.limits.history_years,
        support_url=profile.support_url,
        registration_url=profile.registration_url,
        policy_url=profile.policy_url,
        terms_url=profile.terms_url,
    )


def oauth_metadata_document(context: AppContext) -> dict[str, object]:
    """The RFC 8414 document: the OAuth members with the CDS members merged in."""
    return {**metadata(context.base_url), **authorization_server_fields(site_of(context))}


async def cds_server_metadata(request: Request) -> Response:
    """``GET /.well-known/cds-server-metadata.json`` (and the legacy address)."""
    return cached_json(request, server_metadata(site_of(request.app.state.context)))


async def oauth_metadata(request: Request) -> Response:
    """``GET /.well-known/oauth-authorization-server``."""
    return cached_json(request, oauth_metadata_document(request.app.state.context))


def cached_json(request: Request, document: object) -> Response:
    """``document`` with a strong ETag; 304 when ``If-None-Match`` names it (RFC 9110 §13.1.2)."""
    body = exact_json.encode(document)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={METADATA_MAX_AGE}"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSON, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as ``If-None-Match`` uses (RFC 9110 §13.1.2); ``*`` matches."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


async def coverage(request: Request) -> Response:
    """``GET /cds/v1/coverage``: the utility's coverage entry (filter ``ids``)."""
    return await run_in_threadpool(_answer_coverage, request)


def _answer_coverage(request: Request) -> Response:
    context: AppContext = request.app.state.context
    pairs = request.query_params.multi_items()
    try:
        query = parse_listing_query(pairs, COVERAGE_FILTERS)
    except ListingQueryError as error:
        return problem(400, "Bad Request", str(error))
    with context.sessions() as session:
        commodities = SqlCdsAdminStore(session).served_commodities()
    entries = [coverage_entry(site_of(context), commodities)]
    chosen = [entry for entry in entries if query.wants("ids", str(entry["id"]))]
    return _listing_response(request, "coverage_entries", chosen, query)


def _listing_response(
    request: Request, key: str, objects: Sequence[object], query: ListingQuery
) -> Response:
    page = objects[query.offset : query.offset + query.limit]
    pairs = request.query_params.multi_items()
    links = page_links(str(request.url).split("?")[0], pairs, query, len(objects))
    return Response(exact_json.encode(listing(key, page, links)), media_type=JSON)


# -- Grants and Clients APIs ------------------------------------------------------------------


def _admin(request: Request, session: Session) -> AccessRecord:
    """The caller's record: a live client token with ``cds_client_admin``."""
    record = authenticated(request, session)
    cds_admin.require_client_admin(record)
    return record


def _not_found(what: str) -> Response:
    return problem(404, "Not Found", f"this client has no {what} with that id")


async def list_grants(request: Request) -> Response:
    """``GET /cds/v1/grants``: the caller's grants, newest change first."""
    return await run_in_threadpool(_answer_grants, request)


def _answer_grants(request: Request) -> Response:
    context: AppContext = request.app.state.context
    try:
        query = parse_listing_query(request.query_params.multi_items(), cds_admin.GRANT_FILTERS)
        period = (datetime_bound("after", query), datetime_bound("before", query))
    except ListingQueryError as error:
        return problem(400, "Bad Request", str(error))
    with context.sessions() as session:
        try:
            record = _admin(request, session)
        except AccessDeniedError as error:
            return denied(error)
        views = cds_admin.grant_views(
            SqlCdsAdminStore(session), record, now=utc_now(), zone=context.profile.time_zone
        )
    chosen = cds_admin.select_grants(views, query, period)
    objects = [grant_object(view, context.base_url) for view in chosen]
    return _listing_response(request, "grants", objects, query)


async def read_grant(request: Request, grant_id: str) -> Response:
    """``GET /cds/v1/grants/{grant_id}``."""
    return await run_in_threadpool(_answer_grant, request, grant_id)


def _answer_grant(request: Request, grant_id: str) -> Response:
    context: AppContext = request.app.state.context
    with context.sessions() as session:
        try:
            record = _admin(request, session)
        except AccessDeniedError as error:
            return denied(error)
        view = cds_admin.find_grant(
            SqlCdsAdminStore(session),
            record,
            grant_id,
            now=utc_now(),
            zone=context.profile.time_zone,
        )
    return _grant_response(view, context)


def _grant_response(view: GrantView | None, context: AppContext) -> Response:
    if view is None:
        return _not_found("grant")
    return Response(exact_json.encode(grant_object(view, context.base_url)), media_type=JSON)


async def change_grant(request: Request, grant_id: str) -> Response:
    """``PATCH /cds/v1/grants/{grant_id}``: ``{"status": "closed"}`` closes the grant."""
    try:
        raw = await read_body(request)
    except MalformedRequestError:
        return problem(413, "Content Too Large", f"the body is larger than {MAX_PATCH_BYTES} bytes")
    if len(raw) > MAX_PATCH_BYTES:
        return problem(413, "Content Too Large", f"the body is larger than {MAX_PATCH_BYTES} bytes")
    response, ended = await run_in_threadpool(_close, request, grant_id, raw)
    if ended:
        request.app.state.context.jobs.notifications_queued()
    return response


def _close(request: Request, grant_id: str, raw: bytes) -> tuple[Response, bool]:
    context: AppContext = request.app.state.context
    with context.sessions() as session:
        try:
            record = _admin(request, session)
        except AccessDeniedError as error:
            return denied(error), False
        try:
            cds_admin.check_change(_json(raw))
        except cds_admin.GrantChangeError as error:
            return problem(400, "Bad Request", str(error)), False
        lifecycle = context.lifecycle(session)
        try:
            view = cds_admin.close_grant(
                SqlCdsAdminStore(session),
                lifecycle,
                record,
                grant_id,
                now=utc_now(),
                zone=context.profile.time_zone,
            )
        except cds_admin.GrantConflictError as error:
            session.rollback()
            return problem(409, "Conflict", str(error)), False
        session.commit()
        return _grant_response(view, context), lifecycle.ended_any


def _json(raw: bytes) -> object:
    """The body as JSON; what cannot be read becomes a refused change."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        msg = "the body is not JSON"
        raise cds_admin.GrantChangeError(msg) from error


async def list_clients(request: Request) -> Response:
    """``GET /cds/v1/clients``: the caller's own client (filter ``client_ids``)."""
    return await run_in_threadpool(_answer_clients, request, None)


async def read_client(request: Request, client_id: str) -> Response:
    """``GET /cds/v1/clients/{client_id}``: the caller's client, or 404."""
    return await run_in_threadpool(_answer_clients, request, client_id)


def _answer_clients(request: Request, client_id: str | None) -> Response:
    context: AppContext = request.app.state.context
    try:
        query = parse_listing_query(
            request.query_params.multi_items() if client_id is None else [],
            cds_admin.CLIENT_FILTERS,
        )
    except ListingQueryError as error:
        return problem(400, "Bad Request", str(error))
    with context.sessions() as session:
        try:
            record = _admin(request, session)
        except AccessDeniedError as error:
            return denied(error)
        view = cds_admin.own_client(SqlCdsAdminStore(session), record)
    metadata_url = f"{context.base_url}{CDS_METADATA_PATH}"
    if client_id is not None:
        if view is None or view.client_id != client_id:
            return _not_found("client")
        body = client_object(view, context.base_url, consent_scope_ids(), metadata_url)
        return Response(exact_json.encode(body), media_type=JSON)
    clients = (
        [client_object(view, context.base_url, consent_scope_ids(), metadata_url)]
        if view is not None and query.wants("client_ids", view.client_id)
        else []
    )
    return _listing_response(request, "clients", clients, query)


# -- introspection ----------------------------------------------------------------------------


async def introspection(request: Request) -> Response:
    """``POST /oauth/introspect`` (RFC 7662), form body, client authentication as for tokens."""
    edge: OAuthEdge = request.app.state.oauth
    context: AppContext = request.app.state.context
    if request.url.scheme != "https" and not edge.insecure_transport_allowed:
        return error_response("invalid_request", "the introspection endpoint requires https")
    try:
        oauth_request = await adapt(request)
    except MalformedRequestError as error:
        return error_response("invalid_request", str(error))
    repeated = repeated_parameter(oauth_request)
    if repeated:
        return error_response("invalid_request", f"the parameter {repeated!r} is repeated")
    zone = context.profile.time_zone
    return await run_in_threadpool(
        run_server, edge, lambda server: introspect(server, oauth_request, zone), oauth_request
    )
