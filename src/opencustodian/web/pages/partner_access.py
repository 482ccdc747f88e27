"""What every third-party portal page shares: who is signed in, what they may do, rendering.

A page needs a signed-in third-party user whose company (the registered application) is not
suspended or revoked; ``storage.partner_users.partner_user`` answers None for such a company,
so a suspension takes effect on the user's very next request. The role's permissions decide
which actions are active (seed 003 FR 10); a refused action is a 403, never a silent no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from opencustodian.storage.partner_users import partner_user
from opencustodian.web import sessions
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from fastapi.responses import HTMLResponse
    from starlette.datastructures import FormData
    from starlette.requests import Request

    from opencustodian.domain.agreements import Permission
    from opencustodian.storage.partner_users import PartnerUser
    from opencustodian.web.app import AppContext

LOGIN_PATH = "/partner/login"
HOME_PATH = "/partner/agreements"
#: The longest single form value read; the domain's own limits are far lower and say so.
MAX_INPUT = 4000


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a page says about the last action: an error or a notice, and its HTTP status."""

    error: str | None = None
    notice: str | None = None
    status: int = 200


def context_of(request: Request) -> AppContext:
    """The application context of the running app."""
    context: AppContext = request.app.state.context
    return context


def _to_login(request: Request) -> HTTPException:
    """A 303 to the sign-in page that comes back here afterwards."""
    target = urlencode({"next": request.url.path})
    return HTTPException(status_code=303, headers={"Location": f"{LOGIN_PATH}?{target}"})


async def require_partner(request: Request) -> PartnerUser:
    """The signed-in user of a company in good standing, or a redirect to the sign-in page."""
    user_id = sessions.partner_user_id(request)
    if user_id is None:
        raise _to_login(request)
    context = context_of(request)

    def load() -> PartnerUser | None:
        with context.sessions() as session:
            return partner_user(session, user_id)

    user = await run_in_threadpool(load)
    if user is None:
        # The user is gone, or the utility suspended or revoked the company: sign out.
        request.session.pop(sessions.PARTNER_KEY, None)
        raise _to_login(request)
    return user


async def checked_form(request: Request) -> tuple[PartnerUser, FormData]:
    """The signed-in user and the submitted form, once its CSRF token checks out."""
    user = await require_partner(request)
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    return user, form


def field(form: FormData, name: str) -> str:
    """One submitted text value, bounded (a missing field is empty)."""
    value = form.get(name, "")
    return value[:MAX_INPUT] if isinstance(value, str) else ""


def local_day(context: AppContext, moment: datetime | date | None) -> str:
    """A date as the seed's pages print it (MM/DD/YYYY), in the utility's time zone."""
    if moment is None:
        return "N/A"
    if isinstance(moment, datetime):
        moment = moment.astimezone(context.profile.time_zone).date()
    return f"{moment:%m/%d/%Y}"


def local_moment(context: AppContext, moment: datetime) -> str:
    """A date and time in the utility's time zone, with the zone's abbreviation."""
    return f"{moment.astimezone(context.profile.time_zone):%m/%d/%Y %H:%M %Z}"


def render_partner(
    request: Request,
    user: PartnerUser,
    template: str,
    values: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` with the user, their permissions and the utility's date formats."""
    context = context_of(request)
    page = {
        "partner": user,
        "may": {permission.value for permission in user.permissions},
        "day": lambda moment: local_day(context, moment),
        "moment": lambda moment: local_moment(context, moment),
        **values,
    }
    return render(request, template, page, status_code=status_code)


def refuse(request: Request, user: PartnerUser, permission: Permission) -> HTMLResponse:
    """FR 10: the page saying the user's role does not allow ``permission`` (403)."""
    message = (
        f"Your role ({user.role.label}) does not allow this action "
        f"({permission.value.replace('_', ' ')}). Ask an administrator of {user.company_name}."
    )
    return render_partner(request, user, "partner/denied.html", {"message": message}, 403)
