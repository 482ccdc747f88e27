"""The customer's "3rd Party Agreements" pages (seed 003, "Customer views and manages").

``/portal/agreements`` lists every Energy Data Agreement naming the signed-in customer, newest
first; ``/portal/agreements/{number}`` is the seed's "View & Edit 3rd Party Agreement" page
(3rd party information, customer information, meter data, the agreement) whose buttons follow
its status: Accept and Reject while Pending or Extension Pending, Terminate while the agreement
gives the third party access (Active; also while an extension awaits the customer). Every
action is a CSRF-protected POST decided by ``AgreementService``; what its rules refuse is
shown as a message with 409, another customer's agreement is a 404 (numbers are not probed).

A customer who signed in with an account number and billing ZIP instead of a password sees
only that account's agreements, as everywhere else in the portal.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.agreements import (
    AgreementNotFoundError,
    AgreementRuleError,
    AgreementStatus,
)
from opencustodian.services.agreement_mail import local_moment, web_link
from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.storage.registration_portal import agreement_account
from opencustodian.web import sessions
from opencustodian.web.agreement_support import agreement_service, start_follow_up
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session
    from starlette.requests import Request

    from opencustodian.domain.agreements import AgreementView
    from opencustodian.services.agreements import AgreementService
    from opencustodian.web.app import AppContext

LIST_PATH = "/portal/agreements"
#: Agreement numbers are 12 digits; anything else cannot name one (and never reaches SQL).
NUMBER = re.compile(r"\d{1,20}")
ACTIONS = frozenset({"accept", "reject", "terminate"})
#: What the page says after an action went through (``?done=…``).
DONE_MESSAGES = {
    "accept": "You accepted the agreement.",
    "reject": "You rejected the agreement.",
    "terminate": "You terminated the agreement: the third party's access has ended.",
}
CONFIRM_TERMINATION = "Tick “Yes, end this agreement now” to terminate it."


def install(app: FastAPI) -> None:
    """Register the 3rd Party Agreements pages."""
    app.add_route(LIST_PATH, agreements_page, methods=["GET"], include_in_schema=False)
    app.add_route(
        f"{LIST_PATH}/{{number}}", agreement_page, methods=["GET"], include_in_schema=False
    )
    app.add_route(
        f"{LIST_PATH}/{{number}}/{{action}}",
        agreement_action,
        methods=["POST"],
        include_in_schema=False,
    )


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def _visible(session: Session, account: int | None, number: str) -> bool:
    """Whether a session verified for one ``account`` (or for every account) may see it."""
    return account is None or agreement_account(session, number) == account


def _own_view(
    session: Session, customer: int, account: int | None, number: str
) -> AgreementView | None:
    """The customer's agreement ``number``, or None when it is not theirs (or not visible)."""
    store = SqlAgreementStore(session)
    state = store.state_by_number(number)
    if state is None or state.customer_id != customer or not _visible(session, account, number):
        return None
    return store.view(state.agreement_id)


async def agreements_page(request: Request) -> Response:
    """``GET /portal/agreements``: every agreement naming the customer, newest first."""
    customer = sessions.require_customer(request)
    account = sessions.verified_account_id(request)
    context = _context(request)

    def load() -> list[AgreementView]:
        with context.sessions() as session:
            views = SqlAgreementStore(session).views(customer_id=customer)
            return [view for view in views if _visible(session, account, view.number)]

    agreements = await run_in_threadpool(load)
    values = {"agreements": agreements, "zone": context.profile.time_zone}
    return render(request, "agreements/list.html", values)


def _number(request: Request) -> str | None:
    number = str(request.path_params.get("number", ""))
    return number if NUMBER.fullmatch(number) else None


def _not_found(request: Request) -> Response:
    return render(
        request,
        "agreements/not_found.html",
        {"agreements_page": LIST_PATH},
        status_code=404,
    )


async def _detail(
    request: Request,
    customer: int,
    number: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The View & Edit page of the customer's agreement ``number`` (404 when not theirs)."""
    account = sessions.verified_account_id(request)
    context = _context(request)

    def load() -> AgreementView | None:
        with context.sessions() as session:
            return _own_view(session, customer, account, number)

    view = await run_in_threadpool(load)
    if view is None:
        return _not_found(request)
    zone = context.profile.time_zone
    values: dict[str, Any] = {
        "agreement": view,
        "can_answer": view.status.awaits_customer,
        "can_terminate": view.status.opens_data,
        "extension": view.status is AgreementStatus.EXTENSION_PENDING,
        "expires": local_moment(view.invitation_expires_at, zone),
        "created": local_moment(view.created_at, zone),
        "privacy_link": web_link(view.privacy_policy_uri),
        "error": error,
        "done": DONE_MESSAGES.get(request.query_params.get("done", "")) if not error else None,
        "list_path": LIST_PATH,
    }
    return render(request, "agreements/detail.html", values, status_code=status_code)


async def agreement_page(request: Request) -> Response:
    """``GET /portal/agreements/{number}``: View & Edit 3rd Party Agreement."""
    customer = sessions.require_customer(request)
    number = _number(request)
    if number is None:
        return _not_found(request)
    return await _detail(request, customer, number)


async def agreement_action(request: Request) -> Response:
    """``POST /portal/agreements/{number}/accept|reject|terminate``."""
    customer = sessions.require_customer(request)
    number = _number(request)
    action = str(request.path_params.get("action", ""))
    if number is None or action not in ACTIONS:
        return _not_found(request)
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    if action == "terminate" and form.get("confirm") != "yes":
        # Terminating ends the third party's access at once and cannot be undone (BR 7's
        # spirit): the form asks for an explicit confirmation rather than a second page.
        return await _detail(request, customer, number, error=CONFIRM_TERMINATION, status_code=400)
    account = sessions.verified_account_id(request)
    context = _context(request)
    try:
        service = await run_in_threadpool(_act, context, customer, account, number, action)
    except AgreementNotFoundError:
        return _not_found(request)
    except AgreementRuleError as refused:
        return await _detail(request, customer, number, error=refused.message, status_code=409)
    await run_in_threadpool(start_follow_up, context, service)
    return RedirectResponse(f"{LIST_PATH}/{number}?done={action}", status_code=303)


def _act(
    context: AppContext, customer: int, account: int | None, number: str, action: str
) -> AgreementService:
    """One transaction: the action through the service's rules, committed when they allow it."""
    with context.sessions() as session:
        if not _visible(session, account, number):
            raise AgreementNotFoundError(number)
        service = agreement_service(context, session)
        if action == "terminate":
            service.terminate_for_customer(customer, number)
        else:
            service.answer_as_customer(customer, number, accept=action == "accept")
        session.commit()
        return service
