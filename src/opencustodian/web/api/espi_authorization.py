"""ESPI Authorization resources and ReadServiceStatus (research/espi.md §2.2, §5.4).

- ``GET /espi/1_1/resource/Authorization``: the calling third party's grants, with its client
  access token (client_credentials); never another party's.
- ``GET /espi/1_1/resource/Authorization/{id}``: one of them with the client access token,
  or the grant's own customer access token (its ``authorizationURI``).
- ``GET /espi/1_1/resource/ReadServiceStatus``: 1 (normal) for any valid token.

Every request passes the access choke point (``services.access.check_bearer``) first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.consent import GrantKind, GrantStatus
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import utc_now
from opencustodian.protocols.espi.entries import (
    AtomHead,
    AuthorizationEntry,
    AuthorizationStatus,
    FeedHead,
    Period,
    authorization_entry,
    entry_feed,
)
from opencustodian.protocols.espi.uris import (
    authorization_uri,
    resource_root,
    retail_customer_uri,
    subscription_uri,
)
from opencustodian.services.access import AccessDeniedError, bearer_token, check_bearer
from opencustodian.storage.consent import SqlConsentStore

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session
    from starlette.requests import Request

    from opencustodian.domain.consent import AccessRecord
    from opencustodian.storage.models import Grant
    from opencustodian.web.app import AppContext

ATOM = "application/atom+xml"


def install(app: FastAPI) -> None:
    """Register the Authorization resources."""
    root = "/espi/1_1/resource"
    app.add_route(f"{root}/Authorization", authorization_feed, methods=["GET"])
    app.add_route(f"{root}/Authorization/{{authorization_id}}", authorization_member, ["GET"])
    app.add_route(f"{root}/ReadServiceStatus", read_service_status, methods=["GET"])


def denied(error: AccessDeniedError) -> Response:
    """RFC 6750 §3: 401 with ``WWW-Authenticate``, or 403 for insufficient scope."""
    challenge = f'Bearer error="{error.error}", error_description="{error.description}"'
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
        headers={"WWW-Authenticate": challenge},
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """A request that passed the choke point."""

    context: AppContext
    record: AccessRecord


def authenticate(request: Request, session: Session) -> Caller:
    """The caller's access record; raises ``AccessDeniedError``."""
    context: AppContext = request.app.state.context
    token = bearer_token(request.headers.get("authorization"))
    record = check_bearer(
        SqlConsentStore(session),
        token,
        key=context.key,
        now=utc_now(),
        zone=context.profile.time_zone,
    )
    return Caller(context, record)


async def read_service_status(request: Request) -> Response:
    """``GET …/ReadServiceStatus``: ESPI ServiceStatus 1 (normal)."""

    def run() -> Response:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                authenticate(request, session)
            except AccessDeniedError as error:
                return denied(error)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ServiceStatus xmlns="http://naesb.org/espi"><currentStatus>1</currentStatus>'
            "</ServiceStatus>"
        )
        return Response(body, media_type="application/xml")

    return await run_in_threadpool(run)


async def authorization_member(request: Request) -> Response:
    """``GET …/Authorization/{id}``."""
    raw_id = request.path_params["authorization_id"]

    def run() -> Response:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                caller = authenticate(request, session)
            except AccessDeniedError as error:
                return denied(error)
            grant = _visible_grant(SqlConsentStore(session), caller.record, raw_id)
            if grant is None:
                return JSONResponse({"error": "not_found"}, status_code=404)
            head, entry = _entry(context, grant)
            return Response(authorization_entry(entry, head), media_type=ATOM)

    return await run_in_threadpool(run)


async def authorization_feed(request: Request) -> Response:
    """``GET …/Authorization``: the client's grants (client access token only)."""

    def run() -> Response:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                caller = authenticate(request, session)
            except AccessDeniedError as error:
                return denied(error)
            if caller.record.grant_kind is not GrantKind.CLIENT:
                return denied(
                    AccessDeniedError(
                        "insufficient_scope", "a client access token is required", 403
                    )
                )
            grants = SqlConsentStore(session).grants_of_application(caller.record.application_id)
            head = FeedHead(
                feed_id=stable_uuid("authorization-feed", caller.record.application_uuid),
                title="Authorizations",
                self_href=f"{resource_root(context.base_url)}/Authorization",
                updated=utc_now(),
            )
            body = entry_feed(head, [_entry(context, grant) for grant in grants])
            return Response(body, media_type=ATOM)

    return await run_in_threadpool(run)


def _visible_grant(store: SqlConsentStore, record: AccessRecord, raw_id: str) -> Grant | None:
    """The grant if this caller may see it: its own (customer token) or its app's (client)."""
    try:
        grant_id = uuid.UUID(raw_id)
    except ValueError:
        return None
    grant = store.grant_by_uuid(grant_id)
    if grant is None or grant.application_id != record.application_id:
        return None
    if record.grant_kind is GrantKind.CUSTOMER and str(grant.uuid) != record.grant_uuid:
        return None
    return grant


def espi_status(grant: Grant) -> AuthorizationStatus:
    """ESPI Authorization status: 1 active, 0 revoked (every ended state)."""
    live = grant.status in {GrantStatus.ACTIVE.value, GrantStatus.PENDING.value}
    return AuthorizationStatus.ACTIVE if live else AuthorizationStatus.REVOKED


def _entry(context: AppContext, grant: Grant) -> tuple[AtomHead, AuthorizationEntry]:
    """The Atom head and ESPI Authorization of one grant."""
    base = context.base_url
    start = grant.authorized_start or grant.created_at
    end = grant.ended_at or grant.authorized_end
    duration = int((end - start).total_seconds()) if end else 0
    period = Period(start, max(duration, 0))
    customer = grant.kind == GrantKind.CUSTOMER.value
    entry = AuthorizationEntry(
        status=espi_status(grant),
        expires_at=grant.authorized_end or start,
        scope=grant.scope,
        resource_uri=subscription_uri(base, str(grant.subscription_uuid)),
        authorization_uri=authorization_uri(base, str(grant.uuid)),
        authorized_period=period,
        published_period=period,
        grant_type="authorization_code" if customer else "client_credentials",
        customer_resource_uri=(
            retail_customer_uri(base, str(grant.subscription_uuid)) if customer else None
        ),
    )
    head = AtomHead(
        entry_id=grant.uuid,
        self_href=authorization_uri(base, str(grant.uuid)),
        up_href=f"{resource_root(base)}/Authorization",
        published=grant.created_at,
        updated=grant.updated_at,
        title="Authorization",
    )
    return head, entry
