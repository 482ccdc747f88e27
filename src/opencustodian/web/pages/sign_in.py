"""Customer sign-in: username and password, or account number and billing ZIP (seed 001).

Verifying by account number and ZIP signs the customer in for that one account only, which is
what the consent page then offers to share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from opencustodian.kit.passwords import verify_password
from opencustodian.storage.models import Account, RetailCustomer
from opencustodian.web import sessions
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from starlette.requests import Request

    from opencustodian.web.app import AppContext

MAX_FIELD = 200
#: An authorize URL with several ESPI scopes is long; anything longer is not ours.
MAX_NEXT = 4000


async def sign_in_page(request: Request) -> Response:
    """``GET /login``."""
    target = sessions.safe_next(request.query_params.get("next"), "/portal")
    return render(request, "consent/sign_in.html", {"next": target, "error": None})


async def sign_in(request: Request) -> Response:
    """``POST /login``: either credential pair; a failure says which form to fix."""
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    fields = {
        name: str(form.get(name, ""))[:MAX_FIELD].strip()
        for name in ("username", "password", "account_number", "zip")
    }
    target = sessions.safe_next(str(form.get("next", ""))[:MAX_NEXT], "/portal")
    found = await run_in_threadpool(_verify, request.app.state.context, fields)
    if found is None:
        message = (
            "That account number and ZIP code do not match our records."
            if fields["account_number"]
            else "That username and password do not match our records."
        )
        values = {"next": target, "error": message}
        return render(request, "consent/sign_in.html", values, status_code=401)
    customer, account = found
    sessions.sign_in_customer(request, customer, account)
    return RedirectResponse(target, status_code=303)


def _verify(context: AppContext, fields: dict[str, str]) -> tuple[int, int | None] | None:
    with context.sessions() as session:
        if fields["account_number"]:
            account = session.scalar(
                select(Account).where(
                    Account.account_number == fields["account_number"],
                    Account.status == "active",
                )
            )
            if account is None or account.billing_zip[:5] != fields["zip"][:5]:
                return None
            return account.customer_id, account.id
        customer = session.scalar(
            select(RetailCustomer).where(RetailCustomer.username == fields["username"])
        )
        stored = customer.password_hash if customer else None
        if customer is None or not verify_password(fields["password"], stored):
            return None
        return customer.id, None


async def sign_out(request: Request) -> Response:
    """``POST /logout``."""
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    request.session.clear()
    return RedirectResponse("/", status_code=303)
