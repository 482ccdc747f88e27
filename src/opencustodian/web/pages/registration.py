"""Registering for the portal: residential and business pages (seed 003 FR 6, FR 15).

``/register`` asks which kind of account; ``/register/residential`` and ``/register/business``
carry the seed's "Create a … Customer Account" fields (first name, middle initial, last name,
suffix, phone, email twice, language preference on the residential page only, user ID,
password twice, ESIID, meter number) plus the account's **billing ZIP code**, which is what
proves the registrant holds the account (see ``storage.registration_portal``).

After a customer answered an invitation link, the form opens prefilled with what the agreement
request carried (FR 15): names, phone, email, language, ESIID and meter number. The agreement's
number was kept in the session by the invitation page, so nothing personal is in a URL; it is
used only while that agreement's customer is still unregistered.

A valid registration sets the user ID, password hash, email, phone and language on that
customer of record, signs them in and continues to their 3rd Party Agreements. A refused one
shows the form again with what was typed (never the passwords) and writes nothing: 400 for
details that are wrong, 409 for a taken user ID or an already registered customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.agreements import (
    AgreementRuleError,
    CustomerClass,
    Language,
    check_email,
)
from opencustodian.kit.passwords import hash_password
from opencustodian.kit.time import utc_now
from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.storage.registration_portal import (
    USERNAME_TAKEN,
    NewLogin,
    RegistrationRefusedError,
    agreement_customer_registered,
    register_login,
)
from opencustodian.web import sessions
from opencustodian.web.pages.agreement_invitations import answered_agreement
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.datastructures import FormData
    from starlette.requests import Request

    from opencustodian.domain.agreements import AgreementView
    from opencustodian.web.app import AppContext

AFTER_REGISTRATION = "/portal/agreements"
MIN_PASSWORD = 8
#: Argon2 hashes any length, but nobody types more; a bound keeps hashing cheap to ask for.
MAX_PASSWORD = 200
MAX_FIELD = 100
USERNAME = re.compile(r"[A-Za-z0-9._@-]{3,60}")
IDENTIFIER = re.compile(r"[A-Za-z0-9-]{1,40}")
ZIP = re.compile(r"\d{5}(-\d{4})?")
PHONE = re.compile(r"[0-9 ()+.x-]{0,40}")
#: The form's text fields, in page order (passwords are handled apart: never echoed).
TEXT_FIELDS = (
    "first_name",
    "middle_initial",
    "last_name",
    "suffix",
    "phone",
    "email",
    "email_again",
    "language",
    "username",
    "esiid",
    "meter_number",
    "billing_zip",
)
REQUIRED = {
    "first_name": "First Name",
    "last_name": "Last Name",
    "email": "Account email address",
    "username": "User ID",
    "esiid": "ESI ID",
    "meter_number": "Meter Number",
    "billing_zip": "Billing ZIP code",
}


class FormError(ValueError):
    """A field the registrant must correct; the message names it (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Page:
    """Which registration page: its customer class and its title."""

    customer_class: CustomerClass

    @property
    def residential(self) -> bool:
        """FR 1: only the residential page asks for a language preference."""
        return self.customer_class is CustomerClass.RESIDENTIAL

    @property
    def title(self) -> str:
        """The seed's page title."""
        kind = "Residential" if self.residential else "Business"
        return f"Create a {kind} Customer Account"


def install(app: FastAPI) -> None:
    """Register the registration pages."""
    app.add_route("/register", choose_page, methods=["GET"], include_in_schema=False)
    app.add_route("/register/{kind}", form_page, methods=["GET"], include_in_schema=False)
    app.add_route("/register/{kind}", register, methods=["POST"], include_in_schema=False)


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def _page(request: Request) -> Page | None:
    try:
        return Page(CustomerClass(str(request.path_params.get("kind", ""))))
    except ValueError:
        return None


async def choose_page(request: Request) -> Response:
    """``GET /register``: residential or business (FR 6's two registration pages)."""
    return render(request, "registration/choose.html", {})


def _not_found(request: Request) -> Response:
    return render(request, "registration/choose.html", {"unknown": True}, status_code=404)


def _form(
    request: Request,
    page: Page,
    values: dict[str, str],
    *,
    prefilled_from: str | None = None,
    refusal: tuple[str, int] | None = None,
) -> Response:
    """The form with ``values``; ``refusal`` is the message and status of a refused submit."""
    error, status_code = refusal or (None, 200)
    return render(
        request,
        "registration/form.html",
        {
            "page": page,
            "values": values,
            "languages": list(Language),
            "prefilled_from": prefilled_from,
            "error": error,
            "min_password": MIN_PASSWORD,
        },
        status_code=status_code,
    )


async def form_page(request: Request) -> Response:
    """``GET /register/{residential|business}``: the form, prefilled after an answer (FR 15)."""
    page = _page(request)
    if page is None:
        return _not_found(request)
    answered = answered_agreement(request)
    prefill: tuple[dict[str, str], str] | None = None
    if answered is not None:
        prefill = await run_in_threadpool(_prefill, _context(request), answered[0], page)
    if prefill is None:
        return _form(request, page, dict.fromkeys(TEXT_FIELDS, ""))
    values, company = prefill
    return _form(request, page, values, prefilled_from=company)


def _prefill(context: AppContext, number: str, page: Page) -> tuple[dict[str, str], str] | None:
    """FR 15: what the agreement request carried, while its customer is still unregistered."""
    with context.sessions() as session:
        store = SqlAgreementStore(session)
        state = store.state_by_number(number)
        if state is None or agreement_customer_registered(session, number) is not False:
            return None
        view = store.view(state.agreement_id)
        return prefilled_values(view, page), view.company_name


def prefilled_values(view: AgreementView, page: Page) -> dict[str, str]:
    """The form's fields from the agreement request (FR 15); the ZIP is left to the customer."""
    details = view.customer
    language = details.language.value if details.language and page.residential else ""
    values = dict.fromkeys(TEXT_FIELDS, "")
    values.update(
        first_name=details.first_name,
        middle_initial=details.middle_initial,
        last_name=details.last_name,
        phone=details.phone,
        email=details.email,
        email_again=details.email,
        language=language,
        esiid=view.esiid,
        meter_number=view.meter_number,
    )
    return values


async def register(request: Request) -> Response:
    """``POST /register/{residential|business}``: validate, attach the login, sign in."""
    page = _page(request)
    if page is None:
        return _not_found(request)
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    values = _typed(form, page)
    try:
        # Off the event loop: the last step hashes the password (Argon2 is deliberately slow).
        login = await run_in_threadpool(validated_login, values, form, page)
    except FormError as wrong:
        return _form(request, page, values, refusal=(str(wrong), 400))
    try:
        customer = await run_in_threadpool(_register, _context(request), login)
    except RegistrationRefusedError as refused:
        status = 409 if refused.conflict else 400
        return _form(request, page, values, refusal=(refused.message, status))
    sessions.sign_in_customer(request, customer)
    return RedirectResponse(AFTER_REGISTRATION, status_code=303)


def _typed(form: FormData, page: Page) -> dict[str, str]:
    """The text fields as typed (trimmed, bounded): what a refused form shows again."""
    values = {name: str(form.get(name, ""))[: MAX_FIELD * 3].strip() for name in TEXT_FIELDS}
    if not page.residential:
        values["language"] = ""  # FR 1: the business page has no such field
    return values


def validated_login(values: dict[str, str], form: FormData, page: Page) -> NewLogin:
    """Every rule a registration must pass before the records are consulted (400s)."""
    for name, label in REQUIRED.items():
        if not values[name]:
            msg = f"{label} is required."
            raise FormError(msg)
    _check_lengths(values)
    email = _email(values)
    password = _password(form)
    if not USERNAME.fullmatch(values["username"]):
        msg = "User ID: 3 to 60 letters, digits, dots, dashes, underscores or @."
        raise FormError(msg)
    if not IDENTIFIER.fullmatch(values["esiid"]) or not IDENTIFIER.fullmatch(
        values["meter_number"]
    ):
        msg = "ESI ID and Meter Number are letters and digits only, as on your bill."
        raise FormError(msg)
    if not ZIP.fullmatch(values["billing_zip"]):
        msg = "Billing ZIP code: five digits (or ZIP+4), as on your bill."
        raise FormError(msg)
    if not PHONE.fullmatch(values["phone"]):
        msg = "Phone: digits, spaces and ( ) + - . only."
        raise FormError(msg)
    return NewLogin(
        esiid=values["esiid"],
        meter_number=values["meter_number"],
        billing_zip=values["billing_zip"],
        username=values["username"],
        password_hash=hash_password(password),
        email=email,
        phone=values["phone"],
        language=_language(values, page),
    )


def _check_lengths(values: dict[str, str]) -> None:
    for name, value in values.items():
        if len(value) > MAX_FIELD:
            msg = f"{name.replace('_', ' ').capitalize()}: at most {MAX_FIELD} characters."
            raise FormError(msg)
    if len(values["middle_initial"]) > 1:
        msg = "Middle Initial: one letter."
        raise FormError(msg)


def _email(values: dict[str, str]) -> str:
    """The account email, typed twice alike (seed: "Re-enter email address")."""
    try:
        email = check_email(values["email"], "Account email address")
    except AgreementRuleError as wrong:
        raise FormError(wrong.message) from None
    if values["email_again"].strip().lower() != email:
        msg = "The two email addresses differ: type the same address twice."
        raise FormError(msg)
    return email


def _password(form: FormData) -> str:
    password = str(form.get("password", ""))
    again = str(form.get("password_again", ""))
    if len(password) < MIN_PASSWORD:
        msg = f"Password: at least {MIN_PASSWORD} characters."
        raise FormError(msg)
    if len(password) > MAX_PASSWORD:
        msg = f"Password: at most {MAX_PASSWORD} characters."
        raise FormError(msg)
    if again != password:
        msg = "The two passwords differ: type the same password twice."
        raise FormError(msg)
    return password


def _language(values: dict[str, str], page: Page) -> str | None:
    """FR 1: the residential page's preference (None on the business page: left as stored)."""
    if not page.residential or not values["language"]:
        return None
    try:
        return Language(values["language"]).value
    except ValueError:
        msg = "Language Preference: choose one of the listed languages."
        raise FormError(msg) from None


def _register(context: AppContext, login: NewLogin) -> int:
    """One transaction; a user ID taken by a concurrent registration is refused, not a 500."""
    today = utc_now().astimezone(context.profile.time_zone).date()
    with context.sessions() as session:
        customer = register_login(session, login, today)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise RegistrationRefusedError(USERNAME_TAKEN, conflict=True) from None
        return customer
