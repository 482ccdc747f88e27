"""The customer's side of ``/oauth/authorize``: sign in, review, choose, accept or deny.

Seed 000 §3.1: the customer verifies (or removes, never adds) the scopes the third party asked
for, picks accounts and a duration, and accepts. Authlib validates the request on every step
(RFC 6749 §4.1.1); an error goes back to the third party's redirect URI only when that URI is
registered for the client (§4.1.2.1), otherwise it is shown here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from authlib.oauth2.base import OAuth2Error
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.consent import (
    authorization_end,
    checked_duration,
    default_duration,
    duration_choices,
)
from opencustodian.domain.events import EventTag
from opencustodian.domain.scopes import describe
from opencustodian.kit.time import utc_now
from opencustodian.oauth.clients import parse_scope_text
from opencustodian.oauth.endpoints import build_server
from opencustodian.oauth.grants import GrantUser
from opencustodian.oauth.requests import CustodianRequest, normalized
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.web import sessions
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from datetime import date

    from fastapi.responses import Response
    from starlette.requests import Request

    from opencustodian.oauth.clients import OAuthClient
    from opencustodian.oauth.server import CustodianAuthorizationServer
    from opencustodian.storage.consent import ServicePointChoice
    from opencustodian.storage.models import Grant, ThirdPartyApplication
    from opencustodian.web.app import AppContext


@dataclass(frozen=True, slots=True)
class ScopeView:
    """One requested scope as the consent page shows it."""

    value: str
    sentences: list[str]


def authorization_pairs(query: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Normalized authorize parameters, with seed 000's defaults.

    The seed's camelCase links (``clientId=…&scope=…&state=…``) carry no ``response_type``;
    only code flow exists here, so that variant defaults it. RFC 6749 requests must send it.
    """
    names = {name for name, _ in query}
    pairs = normalized(query)
    if "clientId" in names and "response_type" not in {name for name, _ in pairs}:
        pairs.append(("response_type", "code"))
    return pairs


async def authorize_page(request: Request) -> Response:
    """``GET /oauth/authorize``: validate, then sign-in or consent page."""
    query = request.query_params.multi_items()
    return await run_in_threadpool(_authorize_page, request, query)


def _authorize_page(request: Request, query: list[tuple[str, str]]) -> Response:
    context: AppContext = request.app.state.context
    oauth_request = CustodianRequest("GET", str(request.url), {}, authorization_pairs(query))
    with context.sessions() as session:
        server = build_server(request.app.state.oauth, session)
        try:
            grant = server.get_consent_grant(oauth_request, end_user=None)
        except OAuth2Error as error:
            return _authorization_error(request, server, oauth_request, error)
        customer = sessions.customer_id(request)
        if customer is None:
            return _sign_in_page(request, query)
        store = SqlConsentStore(session)
        choices = store.shareable_service_points(
            customer, _today(context), sessions.verified_account_id(request)
        )
        application = server.application_row(grant.client.client_id)
        return _consent_page(request, application, oauth_request.scope, choices, query)


def _today(context: AppContext) -> date:
    """Today in the utility's territory (tenure is kept in local dates)."""
    return utc_now().astimezone(context.profile.time_zone).date()


def _authorization_error(
    request: Request,
    server: CustodianAuthorizationServer,
    oauth_request: CustodianRequest,
    error: OAuth2Error,
) -> Response:
    """Redirect to a trusted redirect URI with ``error=``, else show the error (400)."""
    if error.redirect_uri:
        response: Response = server.handle_error_response(oauth_request, error)
        return response
    return render(
        request,
        "consent/error.html",
        {"error": error.error, "description": error.description or ""},
        status_code=400,
    )


def _sign_in_page(request: Request, query: list[tuple[str, str]]) -> Response:
    target = f"{request.url.path}?{urlencode(query)}"
    return render(request, "consent/sign_in.html", {"next": target, "error": None})


def _consent_page(
    request: Request,
    application: ThirdPartyApplication,
    scope: str,
    choices: list[ServicePointChoice],
    query: list[tuple[str, str]],
) -> Response:
    context: AppContext = request.app.state.context
    read = parse_scope_text(scope)
    items = zip(read.items, read.scopes, strict=True) if read else ()
    scopes = [ScopeView(item, describe(data)) for item, data in items]
    limits = context.profile.limits
    return render(
        request,
        "consent/consent.html",
        {
            "app": application,
            "scopes": scopes,
            "choices": choices,
            "durations": duration_choices(limits.max_authorization_days),
            "default_duration": default_duration(limits.max_authorization_days),
            "request_query": urlencode(query),
        },
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """What the consent form sent back."""

    query: str
    accept: bool
    scopes: list[str]
    service_points: list[str]
    duration: str


@dataclass(frozen=True, slots=True)
class Approval:
    """The customer's checked choices: never more than was asked for or is theirs."""

    scope: str
    choices: list[ServicePointChoice]
    days: int


class ChoiceError(ValueError):
    """The form's choices are not among those offered; the message says what to fix."""


async def authorize_decision(request: Request) -> Response:
    """``POST /oauth/authorize``: the customer's decision on the consent page."""
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    decision = Decision(
        query=str(form.get("request_query", "")),
        accept=form.get("decision") == "accept",
        scopes=[str(value) for value in form.getlist("scope")],
        service_points=[str(value) for value in form.getlist("service_point")],
        duration=str(form.get("duration", "")),
    )
    return await run_in_threadpool(_authorize_decision, request, decision)


def _authorize_decision(request: Request, decision: Decision) -> Response:
    context: AppContext = request.app.state.context
    customer = sessions.customer_id(request)
    query = parse_qsl(decision.query, keep_blank_values=True)
    if customer is None:
        return _sign_in_page(request, query)
    oauth_request = CustodianRequest("POST", str(request.url), {}, authorization_pairs(query))
    with context.sessions() as session:
        server = build_server(request.app.state.oauth, session)
        try:
            grant = server.get_consent_grant(oauth_request, end_user=None)
        except OAuth2Error as error:
            return _authorization_error(request, server, oauth_request, error)
        client: OAuthClient = grant.client
        if not decision.accept:
            server.store.record_event(
                EventTag.GRANT_DENIED, f"client:{client.client_id}", {}, f"customer:{customer}"
            )
            response: Response = server.create_authorization_response(
                oauth_request, grant_user=None, grant=grant
            )
            session.commit()
            return response
        try:
            approval = _approved(request, server.store, customer, oauth_request.scope, decision)
        except ChoiceError as error:
            values = {"error": "invalid_choice", "description": str(error)}
            return render(request, "consent/error.html", values, status_code=400)
        row = _record_approval(server.store, client, customer, approval)
        response = server.create_authorization_response(
            oauth_request, grant_user=GrantUser.of(row, client.uuid), grant=grant
        )
        session.commit()
        return response


def _record_approval(
    store: SqlConsentStore, client: OAuthClient, customer: int, approval: Approval
) -> Grant:
    """The pending grant of an approval, audited."""
    now = utc_now()
    row = store.create_customer_grant(
        application_id=client.id,
        customer_id=customer,
        scope=approval.scope,
        choices=approval.choices,
        authorized_end=authorization_end(now, approval.days),
        now=now,
    )
    store.record_event(
        EventTag.GRANT_APPROVED,
        f"grant:{row.uuid}",
        {
            "scope": approval.scope,
            "service_points": [choice.service_point_id for choice in approval.choices],
            "days": approval.days,
        },
        f"customer:{customer}",
    )
    return row


def _approved(
    request: Request,
    store: SqlConsentStore,
    customer: int,
    requested_scope: str,
    decision: Decision,
) -> Approval:
    """The customer's choices, checked against what was offered; raises ``ChoiceError``."""
    context: AppContext = request.app.state.context
    offered = parse_scope_text(requested_scope)
    if offered is None or not decision.scopes or not set(decision.scopes) <= set(offered.items):
        msg = "Choose at least one of the requested kinds of data (nothing can be added)."
        raise ChoiceError(msg)
    available = {
        str(choice.service_point_id): choice
        for choice in store.shareable_service_points(
            customer, _today(context), sessions.verified_account_id(request)
        )
    }
    if not decision.service_points or not set(decision.service_points) <= available.keys():
        msg = "Choose at least one of your service points to share."
        raise ChoiceError(msg)
    try:
        days = checked_duration(
            int(decision.duration), context.profile.limits.max_authorization_days
        )
    except ValueError as error:
        msg = "Choose one of the offered durations."
        raise ChoiceError(msg) from error
    chosen = offered.subset(tuple(decision.scopes))
    choices = [available[value] for value in dict.fromkeys(decision.service_points)]
    return Approval(chosen.text, choices, days)
