"""The customer portal: "Share My Data" (utility-initiated flow) and "Connected apps".

Seed 000 §3.1, customer starts at the utility: the Share My Data page lists production third
parties; choosing one sends the customer to that party's scope-selection URI with the scopes
it may ask for and this custodian's id, and the third party continues at ``/oauth/authorize``.
Connected apps lists every grant in plain words and revokes any of them at once.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import HTTPException
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.consent import EndReason, GrantStatus
from opencustodian.domain.parties import ApplicationStatus
from opencustodian.domain.scopes import describe
from opencustodian.kit.time import utc_now
from opencustodian.oauth.clients import parse_scope_list
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.models import Meter, ThirdPartyApplication
from opencustodian.web import sessions
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from datetime import date

    from fastapi import FastAPI
    from sqlalchemy.orm import Session
    from starlette.requests import Request

    from opencustodian.web.app import AppContext


def install(app: FastAPI) -> None:
    """Register the portal pages."""
    app.add_route("/portal", portal_home, methods=["GET"], include_in_schema=False)
    app.add_route("/portal/share", share_page, methods=["GET"], include_in_schema=False)
    app.add_route(
        "/portal/share/{application_id}", share_with, methods=["GET"], include_in_schema=False
    )
    app.add_route(
        "/portal/connected-apps", connected_apps, methods=["GET"], include_in_schema=False
    )
    app.add_route(
        "/portal/connected-apps/{grant_id}/revoke",
        revoke,
        methods=["POST"],
        include_in_schema=False,
    )


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


async def portal_home(request: Request) -> Response:
    """``GET /portal``: the customer's services."""
    customer = sessions.require_customer(request)
    context = _context(request)

    def load() -> dict[str, Any]:
        with context.sessions() as session:
            today = utc_now().astimezone(context.profile.time_zone).date()
            choices = SqlConsentStore(session).shareable_service_points(
                customer, today, sessions.verified_account_id(request)
            )
            return {"choices": choices, "meters": _current_meters(session, choices, today)}

    return render(request, "portal/home.html", await run_in_threadpool(load))


def _current_meters(session: Session, choices: list[Any], today: date) -> dict[int, str]:
    """Each service point's meter in service today, as a bill would show it.

    With the ESIID it is what a customer gives a third party asking for an Energy Data
    Agreement (seed 003).
    """
    points = [choice.service_point_id for choice in choices]
    if not points:
        return {}
    rows = session.execute(
        select(Meter.service_point_id, Meter.meter_number).where(
            Meter.service_point_id.in_(points),
            Meter.installed_on <= today,
            or_(Meter.removed_on.is_(None), Meter.removed_on > today),
        )
    )
    return {int(point): str(number) for point, number in rows}


async def share_page(request: Request) -> Response:
    """``GET /portal/share``: production third parties a customer may start sharing with."""
    sessions.require_customer(request)
    context = _context(request)

    def load() -> list[ThirdPartyApplication]:
        with context.sessions() as session:
            return list(
                session.scalars(
                    select(ThirdPartyApplication)
                    .where(
                        ThirdPartyApplication.status == ApplicationStatus.PRODUCTION.value,
                        ThirdPartyApplication.scope_selection_uri.is_not(None),
                    )
                    .order_by(ThirdPartyApplication.name)
                )
            )

    return render(request, "portal/share.html", {"applications": await run_in_threadpool(load)})


async def share_with(request: Request) -> Response:
    """``GET /portal/share/{id}``: off to the third party's scope-selection screen."""
    sessions.require_customer(request)
    context = _context(request)
    application_id = _uuid(request.path_params["application_id"])

    def load() -> ThirdPartyApplication | None:
        with context.sessions() as session:
            return SqlConsentStore(session).application_by_uuid(application_id)

    application = await run_in_threadpool(load)
    usable = application and application.status == ApplicationStatus.PRODUCTION.value
    if not usable or application is None or not application.scope_selection_uri:
        raise HTTPException(status_code=404, detail="no such third party")
    return RedirectResponse(
        scope_selection_url(
            application.scope_selection_uri, application.scopes, context.profile.short_name
        ),
        status_code=303,
    )


def scope_selection_url(base: str, scopes: list[str], custodian_id: str) -> str:
    """The third party's scope-selection URI with ``scope=…`` repeated and ``DataCustodianID``.

    The parameter shape is the reference implementation's (research/espi.md §2.5, §8).
    """
    parts = urlsplit(base)
    extra = urlencode([*(("scope", scope) for scope in scopes), ("DataCustodianID", custodian_id)])
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


async def connected_apps(request: Request) -> Response:
    """``GET /portal/connected-apps``: every grant, what it shares, and a revoke button."""
    customer = sessions.require_customer(request)
    context = _context(request)

    def load() -> list[dict[str, Any]]:
        with context.sessions() as session:
            store = SqlConsentStore(session)
            return [
                {
                    "grant": grant,
                    "application": application,
                    "live": grant.status in {GrantStatus.ACTIVE.value, GrantStatus.PENDING.value},
                    "sentences": [
                        sentence
                        for scope in parse_scope_list(grant.scope) or []
                        for sentence in describe(scope)
                    ],
                    "end_sentence": EndReason(grant.end_reason).sentence
                    if grant.end_reason
                    else None,
                }
                for grant, application in store.grants_of_customer(customer)
            ]

    grants = await run_in_threadpool(load)
    return render(request, "portal/connected_apps.html", {"grants": grants})


async def revoke(request: Request) -> Response:
    """``POST /portal/connected-apps/{id}/revoke``: end the grant now and tell the third party."""
    customer = sessions.require_customer(request)
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    context = _context(request)
    grant_id = _uuid(request.path_params["grant_id"])

    def end() -> bool:
        with context.sessions() as session:
            grant = SqlConsentStore(session).grant_by_uuid(grant_id)
            # Another customer's grant is "not found", never "forbidden": ids are not probed.
            if grant is None or grant.retail_customer_id != customer:
                return False
            context.lifecycle(session).end(
                [grant.id], EndReason.CUSTOMER_REVOKED, utc_now(), actor=f"customer:{customer}"
            )
            session.commit()
            return True

    if not await run_in_threadpool(end):
        raise HTTPException(status_code=404, detail="no such connected app")
    context.jobs.notifications_queued()
    return RedirectResponse("/portal/connected-apps", status_code=303)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as error:
        raise HTTPException(status_code=404, detail="not found") from error
