"""Who is signed in, and forms that cannot be forged from another site.

Sessions are Starlette's signed cookies (itsdangerous, keyed with the server's secret). Every
state-changing form carries the session's CSRF token (OWASP synchronizer-token pattern); the
cookie is ``SameSite=Lax`` so a cross-site POST does not even carry it.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import HTTPException

if TYPE_CHECKING:
    from starlette.requests import Request

CUSTOMER_KEY = "customer_id"
VERIFIED_ACCOUNT_KEY = "verified_account_id"
ADMIN_KEY = "admin_id"
PARTNER_KEY = "partner_user_id"
CSRF_KEY = "csrf"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


def check_csrf(request: Request, presented: object) -> None:
    """Refuse a form whose CSRF token is not the session's (403)."""
    expected = request.session.get(CSRF_KEY)
    if not isinstance(presented, str) or not isinstance(expected, str):
        raise HTTPException(status_code=403, detail="the form expired; reload the page")
    if not hmac.compare_digest(presented, expected):
        raise HTTPException(status_code=403, detail="the form expired; reload the page")


def customer_id(request: Request) -> int | None:
    """The signed-in customer, if any."""
    value = request.session.get(CUSTOMER_KEY)
    return value if isinstance(value, int) else None


def require_customer(request: Request) -> int:
    """The signed-in customer; anyone else is sent to sign in (303) and brought back after."""
    customer = customer_id(request)
    if customer is None:
        target = urlencode({"next": request.url.path})
        raise HTTPException(status_code=303, headers={"Location": f"/login?{target}"})
    return customer


def verified_account_id(request: Request) -> int | None:
    """The one account a customer verified by number and ZIP (instead of a password)."""
    value = request.session.get(VERIFIED_ACCOUNT_KEY)
    return value if isinstance(value, int) else None


def admin_id(request: Request) -> int | None:
    """The signed-in utility operator, if any."""
    value = request.session.get(ADMIN_KEY)
    return value if isinstance(value, int) else None


def partner_user_id(request: Request) -> int | None:
    """The signed-in third-party portal user, if any."""
    value = request.session.get(PARTNER_KEY)
    return value if isinstance(value, int) else None


def sign_in_partner(request: Request, user: int) -> None:
    """Start a third-party portal session (a fresh one)."""
    request.session.clear()
    request.session[PARTNER_KEY] = user


def sign_in_customer(request: Request, customer: int, account: int | None = None) -> None:
    """Start a customer session (a fresh one: no fixation across sign-ins)."""
    request.session.clear()
    request.session[CUSTOMER_KEY] = customer
    if account is not None:
        request.session[VERIFIED_ACCOUNT_KEY] = account


def sign_in_admin(request: Request, admin: int) -> None:
    """Start an operator session."""
    request.session.clear()
    request.session[ADMIN_KEY] = admin


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to continue to; anything else (``//evil``, ``https://…``) → default."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
