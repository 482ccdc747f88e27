"""The third party's company pages: Manage Users and Company Profile (seed 003 menu).

- ``/partner/users`` (Permission.MANAGE_USERS, FR 10): the company's users and a form adding
  one with a role (administrator, agent, viewer: ``ThirdPartyRole`` decides what each may do).
- ``/partner/profile``: the company name, read-only — it is the registered application's name,
  the one every agreement carries (FR 4) — and the privacy-policy link every invitation shows
  (EM201: "Their privacy policy can be viewed at: <link>" or "The Privacy Policy has not been
  provided."), which the company's administrators may change. The link must be an absolute
  https URI (plain http only on loopback), as for redirect URIs (``check_callback_uri``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.agreements import (
    MAX_FIELD,
    AgreementRuleError,
    Permission,
    ThirdPartyRole,
    check_email,
)
from opencustodian.domain.events import EventTag
from opencustodian.domain.parties import RegistrationError, check_callback_uri
from opencustodian.storage.applications import SqlApplicationStore
from opencustodian.storage.models import ThirdPartyApplication
from opencustodian.storage.partner_users import (
    PartnerUserError,
    add_partner_user,
    partner_users,
)
from opencustodian.web.pages.partner_access import (
    Feedback,
    checked_form,
    context_of,
    field,
    refuse,
    render_partner,
    require_partner,
)

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session
    from starlette.datastructures import FormData
    from starlette.requests import Request

    from opencustodian.storage.partner_users import PartnerUser

USERS_PATH = "/partner/users"
PROFILE_PATH = "/partner/profile"
USER_FIELDS = ("username", "name", "email", "phone", "role")
#: ``third_party_users.phone`` holds 40 characters.
MAX_PHONE = 40
#: ``third_party_applications.privacy_policy_uri`` holds 500 characters.
MAX_URI = 500
POLICY_NOT_PROVIDED = "The Privacy Policy has not been provided."


def install(app: FastAPI) -> None:
    """Register Manage Users and Company Profile."""
    app.add_route(USERS_PATH, users_page, methods=["GET"], include_in_schema=False)
    app.add_route(USERS_PATH, add_user, methods=["POST"], include_in_schema=False)
    app.add_route(PROFILE_PATH, profile_page, methods=["GET"], include_in_schema=False)
    app.add_route(PROFILE_PATH, save_profile, methods=["POST"], include_in_schema=False)


# -- Manage Users ---------------------------------------------------------------------------


async def users_page(request: Request) -> Response:
    """``GET /partner/users``: the company's users and the form adding one."""
    user = await require_partner(request)
    if not user.may(Permission.MANAGE_USERS):
        return refuse(request, user, Permission.MANAGE_USERS)
    values = dict.fromkeys(USER_FIELDS, "")
    values["role"] = ThirdPartyRole.AGENT.value
    added = request.query_params.get("added", "")[:120]
    notice = f"User {added} was added." if added else None
    return await _users(request, user, values, Feedback(notice=notice))


async def _users(
    request: Request,
    user: PartnerUser,
    values: dict[str, str],
    feedback: Feedback,
) -> Response:
    context = context_of(request)

    def load() -> list[PartnerUser]:
        with context.sessions() as session:
            return partner_users(session, user.application_id)

    page: dict[str, Any] = {
        "users": await run_in_threadpool(load),
        "roles": list(ThirdPartyRole),
        "values": values,
        "error": feedback.error,
        "notice": feedback.notice,
    }
    return render_partner(request, user, "partner/users.html", page, feedback.status)


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user to add, checked."""

    username: str
    password: str
    name: str
    email: str
    phone: str
    role: ThirdPartyRole


def new_user(values: dict[str, str], password: str, again: str) -> NewUser:
    """The add-user form checked; raises ``PartnerUserError`` saying what to fix."""
    name = values["name"].strip()
    if not name or len(name) > MAX_FIELD:
        msg = f"name: 1 to {MAX_FIELD} characters"
        raise PartnerUserError(msg)
    if len(values["phone"].strip()) > MAX_PHONE:
        msg = f"phone: at most {MAX_PHONE} characters"
        raise PartnerUserError(msg)
    try:
        email = check_email(values["email"], "email")
        role = ThirdPartyRole(values["role"])
    except AgreementRuleError as error:
        raise PartnerUserError(error.message) from None
    except ValueError:
        msg = "role: choose administrator, agent or viewer"
        raise PartnerUserError(msg) from None
    if password != again:
        msg = "password: the two passwords differ"
        raise PartnerUserError(msg)
    return NewUser(values["username"], password, name, email, values["phone"], role)


async def add_user(request: Request) -> Response:
    """``POST /partner/users``: add a user to the company (administrators only)."""
    user, form = await checked_form(request)
    if not user.may(Permission.MANAGE_USERS):
        return refuse(request, user, Permission.MANAGE_USERS)
    values = {name: field(form, name) for name in USER_FIELDS}
    context = context_of(request)

    def create(form: FormData) -> str | None:
        try:
            wanted = new_user(values, field(form, "password"), field(form, "password_again"))
        except PartnerUserError as error:
            return str(error)
        with context.sessions() as session:
            try:
                add_partner_user(
                    session,
                    application_id=user.application_id,
                    username=wanted.username,
                    password=wanted.password,
                    name=wanted.name,
                    email=wanted.email,
                    role=wanted.role,
                    phone=wanted.phone,
                )
            except PartnerUserError as error:
                session.rollback()
                return str(error)
            session.commit()
        return None

    error = await run_in_threadpool(create, form)
    if error is not None:
        return await _users(request, user, values, Feedback(error=error, status=400))
    target = f"{USERS_PATH}?{urlencode({'added': values['username'].strip()})}"
    return RedirectResponse(target, status_code=303)


# -- Company Profile --------------------------------------------------------------------------


def _may_edit_profile(user: PartnerUser) -> bool:
    """Only the company's administrators change what customers are shown about it."""
    return user.role is ThirdPartyRole.ADMINISTRATOR


def _policy_of(session: Session, application_id: int) -> str | None:
    application = session.get(ThirdPartyApplication, application_id)
    return application.privacy_policy_uri if application else None


async def profile_page(request: Request) -> Response:
    """``GET /partner/profile``: the company name (read-only) and its privacy policy."""
    user = await require_partner(request)
    notice = "The privacy policy link was saved." if request.query_params.get("saved") else None
    return await _profile(request, user, None, Feedback(notice=notice))


async def _profile(
    request: Request,
    user: PartnerUser,
    typed: str | None,
    feedback: Feedback,
) -> Response:
    context = context_of(request)

    def load() -> str | None:
        with context.sessions() as session:
            return _policy_of(session, user.application_id)

    stored = await run_in_threadpool(load)
    page = {
        "policy": stored,
        "typed": typed if typed is not None else (stored or ""),
        "editable": _may_edit_profile(user),
        "not_provided": POLICY_NOT_PROVIDED,
        "error": feedback.error,
        "notice": feedback.notice,
    }
    return render_partner(request, user, "partner/profile.html", page, feedback.status)


def checked_policy_uri(text: str) -> str | None:
    """The privacy-policy link to keep (None: not provided); raises ``RegistrationError``."""
    uri = text.strip()
    if not uri:
        return None
    if len(uri) > MAX_URI:
        msg = f"Privacy policy URL: at most {MAX_URI} characters"
        raise RegistrationError(msg)
    check_callback_uri("Privacy policy URL", uri)
    return uri


async def save_profile(request: Request) -> Response:
    """``POST /partner/profile``: a new privacy-policy link (administrators only, 403 else)."""
    user, form = await checked_form(request)
    typed = field(form, "privacy_policy_uri")
    if not _may_edit_profile(user):
        message = (
            f"Your role ({user.role.label}) does not allow changing the company profile; "
            f"ask an administrator of {user.company_name}."
        )
        return await _profile(request, user, typed, Feedback(error=message, status=403))
    try:
        uri = checked_policy_uri(typed)
    except RegistrationError as error:
        return await _profile(request, user, typed, Feedback(error=str(error), status=400))
    context = context_of(request)

    def save() -> None:
        with context.sessions() as session:
            application = session.get(ThirdPartyApplication, user.application_id)
            if application is None:
                return
            application.privacy_policy_uri = uri
            SqlApplicationStore(session).record_event(
                EventTag.APPLICATION_UPDATED,
                f"application:{user.application_id}",
                {"privacy_policy_uri": uri},
                f"third-party-user:{user.user_id}",
            )
            session.commit()

    await run_in_threadpool(save)
    return RedirectResponse(f"{PROFILE_PATH}?saved=1", status_code=303)
