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
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.consent import (
    authorization_end,
    checked_duration,
    default_duration,
    duration_choices,
    requested_authorization_end,
)
from opencustodian.domain.events import EventTag
from opencustodian.domain.scopes import describe
from opencustodian.kit.time import utc_now
from opencustodian.oauth.clients import parse_scope_text
from opencustodian.oauth.endpoints import build_server
from opencustodian.oauth.grants import GrantUser
from opencustodian.oauth.requests import CustodianRequest, normalized
from opencustodian.protocols.cds import authorization_details as rar
from opencustodian.protocols.scopes import ScopeLanguage
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.web import sessions
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from datetime import date, datetime

    from starlette.requests import Request

    from opencustodian.oauth.clients import OAuthClient
    from opencustodian.oauth.grants import CodeGrant
    from opencustodian.oauth.server import CustodianAuthorizationServer
    from opencustodian.protocols.cds.authorization_details import RequestedDetail
    from opencustodian.protocols.scopes import ScopeText
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
    given = {name for name, _ in pairs}
    if "clientId" in names and "response_type" not in given:
        pairs.append(("response_type", "code"))
    if "scope" not in given:
        # RFC 9396 §3.1: authorization_details may replace scope; in CDS each type is a
        # scope id (CDS-WG3-01 §7), so the types are the scope Authlib validates.
        details = dict(pairs).get("authorization_details")
        types = rar.requested_types(details)
        if types:
            pairs.append(("scope", " ".join(dict.fromkeys(types))))
    return pairs


#: The duration option that stands for the end the third party asked for.
REQUESTED_DURATION = "requested"


def requested_details(
    oauth_request: CustodianRequest, grant: CodeGrant
) -> tuple[RequestedDetail, ...]:
    """The request's ``authorization_details`` (RFC 9396), checked against its scope.

    An unusable value is ``invalid_authorization_details``, sent to the (already validated)
    redirect URI (RFC 9396 §5); types must be CDS consent scopes the request names.
    """
    text = oauth_request.payload.data.get("authorization_details")
    if not text:
        return ()
    offered = parse_scope_text(oauth_request.scope)
    allowed = offered.items if offered and offered.language is ScopeLanguage.CDS else ()
    try:
        return rar.parse(text, allowed, utc_now())
    except rar.AuthorizationDetailsError as error:
        raise OAuth2Error(
            str(error),
            error=rar.ERROR,
            redirect_uri=grant.redirect_uri,
            state=oauth_request.payload.state,
        ) from error


async def authorize_page(request: Request) -> Response:
    """``GET /oauth/authorize``: validate, then sign-in or consent page."""
    query = request.query_params.multi_items()
    return await run_in_threadpool(_authorize_page, request, query)


def _validated(
    request: Request, server: CustodianAuthorizationServer, oauth_request: CustodianRequest
) -> tuple[CodeGrant, tuple[RequestedDetail, ...]] | Response:
    """The request's grant and authorization details, or the error answer (RFC 6749 §4.1.2.1)."""
    try:
        grant = server.get_consent_grant(oauth_request, end_user=None)
        return grant, requested_details(oauth_request, grant)
    except OAuth2Error as error:
        return _authorization_error(request, server, oauth_request, error)


def _authorize_page(request: Request, query: list[tuple[str, str]]) -> Response:
    context: AppContext = request.app.state.context
    oauth_request = CustodianRequest("GET", str(request.url), {}, authorization_pairs(query))
    with context.sessions() as session:
        server = build_server(request.app.state.oauth, session)
        valid = _validated(request, server, oauth_request)
        if isinstance(valid, Response):
            return valid
        grant, details = valid
        customer = sessions.customer_id(request)
        if customer is None:
            return _sign_in_page(request, query)
        store = SqlConsentStore(session)
        choices = _offered_choices(request, store, customer, details)
        application = server.application_row(grant.client.client_id)
        page = ConsentPage(oauth_request.scope, choices, details)
        return _consent_page(request, application, page, query)


def _offered_choices(
    request: Request,
    store: SqlConsentStore,
    customer: int,
    details: tuple[RequestedDetail, ...],
) -> list[ServicePointChoice]:
    """The customer's shareable service points within the request's preselection (§7.1)."""
    context: AppContext = request.app.state.context
    preselection = rar.preselection(details)
    return [
        choice
        for choice in store.shareable_service_points(
            customer, _today(context), sessions.verified_account_id(request)
        )
        if preselection.admits(choice.account_number, choice.number)
    ]


def _requested_end(
    context: AppContext, details: tuple[RequestedDetail, ...], now: datetime
) -> datetime | None:
    """The grant end the details ask for, within the utility's policy (None: not asked)."""
    expiry = rar.requested_end(details, now)
    if expiry is None:
        return None
    limit = context.profile.limits.max_authorization_days
    return requested_authorization_end(now, expiry.end(now), limit)


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


@dataclass(frozen=True, slots=True)
class ConsentPage:
    """What the consent page offers: the scope, service points and requested details."""

    scope: str
    choices: list[ServicePointChoice]
    details: tuple[RequestedDetail, ...]

    @property
    def preselected(self) -> bool:
        """Whether the third party preselected accounts or service points."""
        return rar.preselection(self.details) != rar.Preselection()


def _consent_page(
    request: Request,
    application: ThirdPartyApplication,
    page: ConsentPage,
    query: list[tuple[str, str]],
) -> Response:
    context: AppContext = request.app.state.context
    read = parse_scope_text(page.scope)
    items = zip(read.items, read.scopes, strict=True) if read else ()
    scopes = [ScopeView(item, describe(data)) for item, data in items]
    limits = context.profile.limits
    requested_end = _requested_end(context, page.details, utc_now())
    return render(
        request,
        "consent/consent.html",
        {
            "app": application,
            "scopes": scopes,
            "choices": page.choices,
            "preselected": page.preselected,
            "durations": duration_choices(limits.max_authorization_days),
            "default_duration": default_duration(limits.max_authorization_days),
            "requested_end": requested_end.astimezone(context.profile.time_zone).date()
            if requested_end
            else None,
            "requested_value": REQUESTED_DURATION,
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

    scope: ScopeText
    choices: list[ServicePointChoice]
    end: datetime

    @property
    def authorization_details(self) -> list[dict[str, object]] | None:
        """RFC 9396 details as granted, for CDS scopes (CDS-WG3-01 §7; None for ESPI)."""
        if self.scope.language is not ScopeLanguage.CDS:
            return None
        return rar.granted(
            self.scope.items,
            (choice.account_number for choice in self.choices),
            (choice.number for choice in self.choices if choice.number),
            self.end,
        )


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
        valid = _validated(request, server, oauth_request)
        if isinstance(valid, Response):
            return valid
        grant, details = valid
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
            approval = _approved(
                request,
                server.store,
                customer,
                ConsentPage(oauth_request.scope, [], details),
                decision,
            )
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
        scope=approval.scope.text,
        choices=approval.choices,
        authorized_end=approval.end,
        now=now,
        authorization_details=approval.authorization_details,
    )
    store.record_event(
        EventTag.GRANT_APPROVED,
        f"grant:{row.uuid}",
        {
            "scope": approval.scope.text,
            "service_points": [choice.service_point_id for choice in approval.choices],
            "days": (approval.end - now).days,
            "authorized_end": approval.end.isoformat(),
        },
        f"customer:{customer}",
    )
    return row


def _approved(
    request: Request,
    store: SqlConsentStore,
    customer: int,
    page: ConsentPage,
    decision: Decision,
) -> Approval:
    """The customer's choices, checked against what was offered; raises ``ChoiceError``."""
    context: AppContext = request.app.state.context
    offered = parse_scope_text(page.scope)
    if offered is None or not decision.scopes or not set(decision.scopes) <= set(offered.items):
        msg = "Choose at least one of the requested kinds of data (nothing can be added)."
        raise ChoiceError(msg)
    available = {
        str(choice.service_point_id): choice
        for choice in _offered_choices(request, store, customer, page.details)
    }
    if not decision.service_points or not set(decision.service_points) <= available.keys():
        msg = "Choose at least one of your service points to share."
        raise ChoiceError(msg)
    chosen = offered.subset(tuple(decision.scopes))
    choices = [available[value] for value in dict.fromkeys(decision.service_points)]
    return Approval(chosen, choices, _chosen_end(context, page.details, decision.duration))


def _chosen_end(
    context: AppContext, details: tuple[RequestedDetail, ...], duration: str
) -> datetime:
    """When the grant ends: an offered number of days, or the end the third party asked for."""
    now = utc_now()
    if duration == REQUESTED_DURATION:
        requested = _requested_end(context, details, now)
        if requested is None:
            msg = "Choose one of the offered durations."
            raise ChoiceError(msg)
        return requested
    try:
        days = checked_duration(int(duration), context.profile.limits.max_authorization_days)
    except ValueError as error:
        msg = "Choose one of the offered durations."
        raise ChoiceError(msg) from error
    return authorization_end(now, days)
