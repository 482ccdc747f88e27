"""The utility operators' pages: third-party applications, their standing and their secrets.

Every page but the sign-in form needs an operator session (``web.sessions``); every form
carries the session's CSRF token. New credentials are shown once, on the page that issued
them, and never again: the database keeps only their hashes.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import HTTPException
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.events import EventTag
from opencustodian.domain.parties import (
    ApplicationRegistration,
    ApplicationStatus,
    RegistrationEnvironment,
    RegistrationError,
)
from opencustodian.jobs.work import render_batch_list
from opencustodian.kit.time import utc_now
from opencustodian.protocols.espi.uris import application_information_uri
from opencustodian.services.applications import (
    Announcer,
    ApplicationStatusError,
    SecretDelivery,
    StatusAction,
    change_status,
    rotate_secret,
)
from opencustodian.services.registration import register_application
from opencustodian.storage.admins import authenticate_admin
from opencustodian.storage.applications import SqlApplicationStore
from opencustodian.storage.notifications import SqlNotificationStore
from opencustodian.web import sessions
from opencustodian.web.api import espi_registration
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.datastructures import FormData
    from starlette.requests import Request

    from opencustodian.services.registration import IssuedCredentials
    from opencustodian.web.app import AppContext

MAX_FIELD = 200
#: A whole text area (redirect URIs, scopes, contacts); the domain limits each value.
MAX_AREA = 20_000
FORM_FIELDS = (
    "name",
    "description",
    "contacts",
    "website",
    "logo_uri",
    "redirect_uris",
    "scope_selection_uri",
    "notification_uri",
    "scopes",
    "environment",
)


def install(app: FastAPI) -> None:
    """Register the administration pages and the third party's side of registration."""
    espi_registration.install(app)
    routes: list[tuple[str, Any, str]] = [
        ("/admin/login", login_page, "GET"),
        ("/admin/login", login, "POST"),
        ("/admin/logout", logout, "POST"),
        ("/admin", applications_page, "GET"),
        ("/admin/apps/new", new_application_page, "GET"),
        ("/admin/apps/new", create_application, "POST"),
        ("/admin/apps/{application_id}", application_page, "GET"),
        ("/admin/apps/{application_id}/rotate-secret", rotate_application_secret, "POST"),
        ("/admin/apps/{application_id}/suspend", suspend, "POST"),
        ("/admin/apps/{application_id}/reinstate", reinstate, "POST"),
        ("/admin/apps/{application_id}/revoke", revoke, "POST"),
    ]
    for path, endpoint, method in routes:
        app.add_route(path, endpoint, methods=[method], include_in_schema=False)


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def _require_admin(request: Request) -> int:
    admin = sessions.admin_id(request)
    if admin is None:
        target = urlencode({"next": request.url.path})
        raise HTTPException(status_code=303, headers={"Location": f"/admin/login?{target}"})
    return admin


def _application_uuid(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["application_id"])
    except ValueError as error:
        raise HTTPException(status_code=404, detail="no such application") from error


async def _checked_form(request: Request) -> tuple[int, FormData]:
    """The signed-in operator and the submitted form, once its CSRF token checks out."""
    admin = _require_admin(request)
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    return admin, form


# -- signing in --------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    """``GET /admin/login``."""
    target = sessions.safe_next(request.query_params.get("next"), "/admin")
    return render(request, "admin/login.html", {"next": target, "error": None})


async def login(request: Request) -> Response:
    """``POST /admin/login``: username and password of an operator."""
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    username = str(form.get("username", ""))[:MAX_FIELD].strip()
    password = str(form.get("password", ""))[:MAX_FIELD]
    target = sessions.safe_next(str(form.get("next", ""))[:MAX_FIELD], "/admin")
    context = _context(request)

    def verify() -> int | None:
        with context.sessions() as session:
            return authenticate_admin(session, username, password)

    admin = await run_in_threadpool(verify)
    if admin is None:
        values = {"next": target, "error": "That username and password do not match."}
        return render(request, "admin/login.html", values, status_code=401)
    sessions.sign_in_admin(request, admin)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    """``POST /admin/logout``."""
    await _checked_form(request)
    request.session.clear()
    return RedirectResponse("/admin/login", status_code=303)


# -- the list and the registration form ---------------------------------------------------------


async def applications_page(request: Request) -> Response:
    """``GET /admin``: every third-party application at a glance."""
    _require_admin(request)
    context = _context(request)

    def load() -> list[Any]:
        with context.sessions() as session:
            return SqlApplicationStore(session).summaries()

    return render(request, "admin/index.html", {"summaries": await run_in_threadpool(load)})


def _blank_form() -> dict[str, str]:
    values = dict.fromkeys(FORM_FIELDS, "")
    values["environment"] = RegistrationEnvironment.TEST.value
    return values


async def new_application_page(request: Request) -> Response:
    """``GET /admin/apps/new``: the registration form."""
    _require_admin(request)
    return render(request, "admin/new.html", {"values": _blank_form(), "error": None})


def registration_from(values: dict[str, str]) -> ApplicationRegistration:
    """The registration a submitted form describes; raises ``RegistrationError``."""

    def lines(name: str) -> tuple[str, ...]:
        return tuple(line.strip() for line in values[name].splitlines() if line.strip())

    def optional(name: str) -> str | None:
        return values[name].strip() or None

    try:
        environment = RegistrationEnvironment(values["environment"])
    except ValueError as error:
        msg = "environment: choose test or production"
        raise RegistrationError(msg) from error
    return ApplicationRegistration(
        name=values["name"].strip(),
        redirect_uris=lines("redirect_uris"),
        scopes=lines("scopes"),
        description=values["description"].strip(),
        contacts=lines("contacts"),
        website=optional("website"),
        logo_uri=optional("logo_uri"),
        scope_selection_uri=optional("scope_selection_uri"),
        notification_uri=optional("notification_uri"),
        environment=environment,
    )


async def create_application(request: Request) -> Response:
    """``POST /admin/apps/new``: register, then show the credentials once."""
    admin, form = await _checked_form(request)
    values = {name: str(form.get(name, ""))[:MAX_AREA] for name in FORM_FIELDS}
    context = _context(request)

    def register() -> IssuedCredentials:
        registration = registration_from(values)
        with context.sessions() as session:
            store = SqlApplicationStore(session)
            issued = register_application(registration, store, context.key)
            store.record_event(
                EventTag.APPLICATION_REGISTERED,
                f"application:{issued.application_id}",
                {"name": registration.name, "environment": registration.environment.value},
                f"admin:{admin}",
            )
            session.commit()
            return issued

    try:
        issued = await run_in_threadpool(register)
    except RegistrationError as error:
        return render(
            request, "admin/new.html", {"values": values, "error": str(error)}, status_code=400
        )
    return render(
        request,
        "admin/issued.html",
        {
            "issued": issued,
            "name": values["name"].strip(),
            "information_uri": application_information_uri(
                context.base_url, str(issued.application_id)
            ),
        },
        status_code=201,
    )


# -- one application ---------------------------------------------------------------------------


async def application_page(request: Request) -> Response:
    """``GET /admin/apps/{id}``: details, grants, notifications and actions."""
    _require_admin(request)
    return await _show_application(request, _application_uuid(request))


async def _show_application(
    request: Request,
    application_uuid: uuid.UUID,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = _context(request)

    def load() -> dict[str, Any] | None:
        with context.sessions() as session:
            store = SqlApplicationStore(session)
            application = store.application_by_uuid(application_uuid)
            if application is None:
                return None
            return {
                "application": application,
                "status": ApplicationStatus(application.status),
                "grant_counts": store.grant_counts(application.id),
                "notifications": store.recent_notifications(application.id),
                "information_uri": application_information_uri(
                    context.base_url, str(application.uuid)
                ),
            }

    values = await run_in_threadpool(load)
    if values is None:
        raise HTTPException(status_code=404, detail="no such application")
    values["error"] = error
    return render(request, "admin/detail.html", values, status_code=status_code)


async def rotate_application_secret(request: Request) -> Response:
    """``POST /admin/apps/{id}/rotate-secret``: show the new secret now, or deliver it by API."""
    admin, form = await _checked_form(request)
    application_uuid = _application_uuid(request)
    try:
        delivery = SecretDelivery(str(form.get("delivery", "")))
    except ValueError:
        return await _show_application(
            request, application_uuid, error="Choose how to deliver the secret.", status_code=400
        )
    context = _context(request)

    def rotate() -> tuple[str, bool, str | None] | None:
        """The application's name, whether it may get a secret, and the secret to show."""
        with context.sessions() as session:
            store = SqlApplicationStore(session)
            application = store.application_by_uuid(application_uuid)
            if application is None:
                return None
            if application.status == ApplicationStatus.REVOKED.value:
                return application.name, False, None
            secret = rotate_secret(
                store,
                application.id,
                application.uuid,
                delivery=delivery,
                key=context.key,
                now=utc_now(),
                actor=f"admin:{admin}",
            )
            session.commit()
            return application.name, True, secret

    outcome = await run_in_threadpool(rotate)
    if outcome is None:
        raise HTTPException(status_code=404, detail="no such application")
    name, rotated, secret = outcome
    if not rotated:
        return await _show_application(
            request,
            application_uuid,
            error="A revoked application gets no new secret.",
            status_code=409,
        )
    return render(
        request,
        "admin/secret.html",
        {
            "name": name,
            "application_uuid": application_uuid,
            "secret": secret,
            "information_uri": application_information_uri(context.base_url, str(application_uuid)),
        },
    )


async def _change_status(request: Request, action: StatusAction) -> Response:
    admin, _ = await _checked_form(request)
    application_uuid = _application_uuid(request)
    context = _context(request)

    def change() -> str | None:
        with context.sessions() as session:
            try:
                change_status(
                    SqlApplicationStore(session),
                    context.lifecycle(session),
                    Announcer(SqlNotificationStore(session), context.base_url, render_batch_list),
                    application_uuid=application_uuid,
                    action=action,
                    now=utc_now(),
                    actor=f"admin:{admin}",
                )
            except ApplicationStatusError as error:
                session.rollback()
                return str(error)
            session.commit()
            return None

    error = await run_in_threadpool(change)
    if error is not None:
        return await _show_application(request, application_uuid, error=error, status_code=409)
    context.jobs.notifications_queued()
    return RedirectResponse(f"/admin/apps/{application_uuid}", status_code=303)


async def suspend(request: Request) -> Response:
    """``POST /admin/apps/{id}/suspend``: blacklist; every token stops at once."""
    return await _change_status(request, StatusAction.SUSPEND)


async def reinstate(request: Request) -> Response:
    """``POST /admin/apps/{id}/reinstate``: back to the environment it was suspended from."""
    return await _change_status(request, StatusAction.REINSTATE)


async def revoke(request: Request) -> Response:
    """``POST /admin/apps/{id}/revoke``: final; every grant ends."""
    return await _change_status(request, StatusAction.REVOKE)
