"""Rendering pages with what every page shows (the utility, who is signed in)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.templating import Jinja2Templates

from opencustodian.web import sessions

if TYPE_CHECKING:
    from fastapi.responses import HTMLResponse
    from starlette.requests import Request

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def render(
    request: Request, template: str, values: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """``template`` with ``values`` plus the profile, the signed-in party and a CSRF token."""
    context = request.app.state.context
    page = {
        "profile": context.profile,
        "signed_in_customer": sessions.customer_id(request),
        "signed_in_admin": sessions.admin_id(request),
        "csrf": sessions.csrf_token(request),
        **values,
    }
    response: HTMLResponse = TEMPLATES.TemplateResponse(
        request, template, page, status_code=status_code
    )
    # Consent and account pages must never be cached or framed (clickjacking on "Accept").
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response
