"""The third-party portal (seed 003): sign-in, and every page a third party's users work in.

Routes (all HTML, all under ``/partner``):

- ``/partner/login`` (GET, POST), ``/partner/logout`` (POST): sign-in of a third-party user;
- ``/partner/agreements``: "Customer Agreements", a list or a search view (``partner_agreements``);
- ``/partner/agreements/new``: initiate One-Time or Ongoing agreements (``partner_initiate``);
- ``/partner/agreements/{number}``: View & Edit with its actions (``partner_agreements``);
- ``/partner/users``, ``/partner/profile``: the company's users and profile (``partner_company``).

Every form carries the session's CSRF token; every page but the sign-in form needs a user of a
company the utility has not suspended or revoked (``partner_access.require_partner``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.storage.partner_users import authenticate_partner
from opencustodian.web import sessions
from opencustodian.web.pages import partner_agreements, partner_company, partner_initiate
from opencustodian.web.pages.partner_access import (
    HOME_PATH,
    LOGIN_PATH,
    checked_form,
    context_of,
    field,
)
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request

    from opencustodian.storage.partner_users import PartnerUser

MAX_CREDENTIAL = 200
BAD_CREDENTIALS = (
    "That username and password do not match, or your company's access to this portal is "
    "suspended by the utility."
)


def install(app: FastAPI) -> None:
    """Register the third-party portal's pages."""
    app.add_route(LOGIN_PATH, login_page, methods=["GET"], include_in_schema=False)
    app.add_route(LOGIN_PATH, login, methods=["POST"], include_in_schema=False)
    app.add_route("/partner/logout", logout, methods=["POST"], include_in_schema=False)
    app.add_route("/partner", portal_root, methods=["GET"], include_in_schema=False)
    # The form's fixed path first, so "new" is never read as an agreement number.
    partner_initiate.install(app)
    partner_agreements.install(app)
    partner_company.install(app)


async def portal_root(_request: Request) -> Response:
    """``GET /partner``: the Customer Agreements page is the portal's home."""
    return RedirectResponse(HOME_PATH, status_code=303)


async def login_page(request: Request) -> Response:
    """``GET /partner/login``."""
    target = sessions.safe_next(request.query_params.get("next"), HOME_PATH)
    return render(request, "partner/login.html", {"next": target, "error": None, "username": ""})


async def login(request: Request) -> Response:
    """``POST /partner/login``: a third-party user's username and password (401 if wrong)."""
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    username = field(form, "username")[:MAX_CREDENTIAL].strip()
    password = field(form, "password")[:MAX_CREDENTIAL]
    target = sessions.safe_next(field(form, "next"), HOME_PATH)
    context = context_of(request)

    def verify() -> PartnerUser | None:
        with context.sessions() as session:
            return authenticate_partner(session, username, password)

    user = await run_in_threadpool(verify)
    if user is None:
        values = {"next": target, "error": BAD_CREDENTIALS, "username": username}
        return render(request, "partner/login.html", values, status_code=401)
    sessions.sign_in_partner(request, user.user_id)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    """``POST /partner/logout``."""
    await checked_form(request)
    request.session.clear()
    return RedirectResponse(LOGIN_PATH, status_code=303)
