"""The emailed invitation links: accept or reject an Energy Data Agreement (seed 003).

``GET /agreements/invitation/{token}/accept`` (or ``…/reject``) is what the EM201 email links
to. A GET never changes anything — mail scanners and link previewers fetch links before the
customer clicks — so it shows the agreement and one button that POSTs to the same URL. No
sign-in is needed: the single-use token is the authority; the POST also carries the session's
CSRF token so another site cannot make a visitor's browser answer for them.

After a successful answer the browser is sent (POST → 303 → GET) to a confirmation page: for a
registered customer "Congratulations" with an optional sign-in, for an unregistered one the
same with a prompt to register on the residential or business page the agreement's customer
class names (FR 6). The agreement's number is kept in the session, never in a URL, for the
registration form to prefill from (FR 15). A link that can no longer be answered shows why
(BR 8 / FR 13 expired, FR 14 status changed or already used, or unknown) and changes nothing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.agreements import AgreementRuleError, InvitationOutcome
from opencustodian.services.agreement_mail import local_moment, web_link
from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.storage.registration_portal import agreement_customer_registered
from opencustodian.web import sessions
from opencustodian.web.agreement_support import agreement_service, start_follow_up
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request

    from opencustodian.domain.agreements import AgreementView
    from opencustodian.services.agreements import AgreementService
    from opencustodian.web.app import AppContext

#: Tokens are ``secrets.token_urlsafe`` strings (43 characters): anything longer, or with a
#: character outside base64url, is not one of ours and is refused before any lookup.
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,100}")
DECISIONS = {"accept": True, "reject": False}
#: The session key holding the agreement just answered: ``{"number": …, "accepted": …}``.
ANSWERED_KEY = "answered_agreement"
AGREEMENTS_PAGE = "/portal/agreements"
CONFIRMATION_PATH = "/agreements/invitation/answered"
#: Expired and changed invitations are gone for good (410); an unknown token was never ours.
OUTCOME_STATUS = {
    InvitationOutcome.EXPIRED: 410,
    InvitationOutcome.STATUS_CHANGED: 410,
    InvitationOutcome.UNKNOWN: 404,
}


def install(app: FastAPI) -> None:
    """Register the invitation pages (the confirmation route first: it is not a token)."""
    app.add_route(CONFIRMATION_PATH, confirmation, methods=["GET"], include_in_schema=False)
    path = "/agreements/invitation/{token}/{decision}"
    app.add_route(path, invitation_page, methods=["GET"], include_in_schema=False)
    app.add_route(path, answer, methods=["POST"], include_in_schema=False)


def answered_agreement(request: Request) -> tuple[str, bool] | None:
    """The agreement this browser just answered by its link, and whether it was accepted."""
    value = request.session.get(ANSWERED_KEY)
    if not isinstance(value, dict):
        return None
    number, accepted = value.get("number"), value.get("accepted")
    if not isinstance(number, str) or not isinstance(accepted, bool):
        return None
    return number, accepted


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def _link(request: Request) -> tuple[str, bool] | None:
    """The token and the decision of the link, or None when it cannot be one of ours."""
    token = str(request.path_params.get("token", ""))
    decision = DECISIONS.get(str(request.path_params.get("decision", "")))
    if decision is None or not TOKEN.fullmatch(token):
        return None
    return token, decision


def _closed(request: Request, outcome: InvitationOutcome) -> Response:
    """The page of a link that cannot be answered: its message and the agreements page."""
    return render(
        request,
        "agreements/invitation_closed.html",
        {"outcome": outcome, "message": outcome.message, "agreements_page": AGREEMENTS_PAGE},
        status_code=OUTCOME_STATUS.get(outcome, 404),
    )


async def invitation_page(request: Request) -> Response:
    """``GET …/{token}/accept|reject``: the agreement and one button; changes nothing."""
    link = _link(request)
    if link is None:
        return _closed(request, InvitationOutcome.UNKNOWN)
    token, accept = link
    context = _context(request)

    def load() -> tuple[InvitationOutcome, AgreementView | None]:
        with context.sessions() as session:
            return agreement_service(context, session).open_invitation(token)

    outcome, view = await run_in_threadpool(load)
    if outcome is not InvitationOutcome.OPEN or view is None:
        return _closed(request, outcome)
    return render(
        request,
        "agreements/invitation.html",
        {
            "agreement": view,
            "accept": accept,
            # The same wording of the expiry and the same link rule as the email (EM201).
            "expires": local_moment(view.invitation_expires_at, context.profile.time_zone),
            "privacy_link": web_link(view.privacy_policy_uri),
            "action": request.url.path,
        },
    )


async def answer(request: Request) -> Response:
    """``POST …/{token}/accept|reject``: answer once, then the confirmation (POST → GET)."""
    link = _link(request)
    if link is None:
        return _closed(request, InvitationOutcome.UNKNOWN)
    token, accept = link
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    context = _context(request)
    try:
        outcome, view, service = await run_in_threadpool(_answer, context, token, accept=accept)
    except AgreementRuleError as refused:
        return render(
            request,
            "agreements/invitation_closed.html",
            {"outcome": None, "message": refused.message, "agreements_page": AGREEMENTS_PAGE},
            status_code=409,
        )
    if outcome is not InvitationOutcome.OPEN or view is None:
        return _closed(request, outcome)
    await run_in_threadpool(start_follow_up, context, service)
    request.session[ANSWERED_KEY] = {"number": view.number, "accepted": accept}
    return RedirectResponse(CONFIRMATION_PATH, status_code=303)


def _answer(
    context: AppContext, token: str, *, accept: bool
) -> tuple[InvitationOutcome, AgreementView | None, AgreementService]:
    """One transaction: committed only when the answer was taken.

    Any other outcome rolls back, so a refused answer leaves no trace (an ongoing agreement's
    acceptance opens its grant before the status moves; a lost race must undo that grant).
    """
    with context.sessions() as session:
        service = agreement_service(context, session)
        outcome, view = service.answer_invitation(token, accept=accept)
        if outcome is InvitationOutcome.OPEN:
            session.commit()
        else:
            session.rollback()
        return outcome, view, service


async def confirmation(request: Request) -> Response:
    """``GET /agreements/invitation/answered``: the seed's accepted or rejected confirmation."""
    answered = answered_agreement(request)
    if answered is None:
        return RedirectResponse(AGREEMENTS_PAGE, status_code=303)
    number, accepted = answered
    context = _context(request)

    def load() -> tuple[AgreementView, bool] | None:
        with context.sessions() as session:
            store = SqlAgreementStore(session)
            state = store.state_by_number(number)
            registered = agreement_customer_registered(session, number)
            if state is None or registered is None:
                return None
            return store.view(state.agreement_id), registered

    found = await run_in_threadpool(load)
    if found is None:
        return RedirectResponse(AGREEMENTS_PAGE, status_code=303)
    view, registered = found
    values: dict[str, Any] = {
        "agreement": view,
        "accepted": accepted,
        "registered": registered,
        "sign_in_url": f"/login?next={AGREEMENTS_PAGE}",
        "register_url": f"/register/{view.customer_class.value}",
    }
    return render(request, "agreements/answered.html", values)
