"""Initiate One-Time or Ongoing Energy Data Agreements (seed 003, "Initiate … pages 1 and 2").

``GET /partner/agreements/new?kind=one_time|ongoing`` shows the seed's form; ``POST`` submits it.

- FR 1: the language preference is offered only for a non-registered residential customer. A
  tiny inline script hides it otherwise (and disables it, so a hidden value is not sent); the
  server still refuses a business customer's language (``check_customer_details``), so the rule
  holds with scripts off.
- FR 2: for a registered customer only the email address is read; the customer block comes
  from the utility's records. FR 3 and BR 10 are the service's checks.
- FR 4: the company name is the company profile's, shown read-only and never read from the
  form. FR 5: contact name, phone and email are prefilled from the user's profile, editable.
- FR 12: up to three ESIID + meter rows; one agreement per meter.
- BR-019.012: the user attests that they hold the customer's authorization.

A refused form is shown again with what was typed, the message and (for a bad ESIID/meter
pair) the seed's reasons: 400 when the form itself is incomplete or malformed, 422 when the
service's rules refuse it. Nothing is written then. Success redirects (303) to a confirmation
listing each new agreement number with its status, Pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from fastapi import HTTPException
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.agreements import (
    MAX_METERS_PER_REQUEST,
    AgreementKind,
    AgreementRuleError,
    AgreementTerms,
    CustomerClass,
    CustomerDetails,
    Language,
    OngoingTerm,
    Permission,
    ReportDuration,
    ReportType,
    ThirdPartyContact,
)
from opencustodian.services.agreements import InitiationForm
from opencustodian.web.agreement_support import agreement_service, start_follow_up
from opencustodian.web.pages.partner_access import (
    checked_form,
    context_of,
    field,
    refuse,
    render_partner,
    require_partner,
)
from opencustodian.web.partner_lookup import owned_agreement

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request

    from opencustodian.domain.agreements import AgreementView
    from opencustodian.services.agreements import AgreementService
    from opencustodian.storage.partner_users import PartnerUser

CUSTOMER_FIELDS = (
    "first_name",
    "middle_initial",
    "last_name",
    "title",
    "language",
    "company_name",
    "street",
    "city",
    "state",
    "zip_code",
    "phone",
    "email",
)
METER_FIELDS = tuple(
    name
    for row in range(1, MAX_METERS_PER_REQUEST + 1)
    for name in (f"esiid_{row}", f"meter_{row}")
)
FIELDS = (
    "registered",
    "customer_class",
    *CUSTOMER_FIELDS,
    *METER_FIELDS,
    "report_type",
    "report_duration",
    "term",
    "comments",
    "contact_name",
    "contact_phone",
    "contact_email",
)
ATTESTATION = (
    "I attest that I have the customer's authorization (hardcopy or electronic) to access their "
    "energy data, read only."
)
NEW_PATH = "/partner/agreements/new"
E = TypeVar("E", bound=StrEnum)
CREATED_PATH = "/partner/agreements/created"


def install(app: FastAPI) -> None:
    """Register the form and its confirmation (before ``/partner/agreements/{number}``)."""
    app.add_route(NEW_PATH, new_agreement_page, methods=["GET"], include_in_schema=False)
    app.add_route(NEW_PATH, submit_agreement, methods=["POST"], include_in_schema=False)
    app.add_route(CREATED_PATH, created_page, methods=["GET"], include_in_schema=False)


class FormError(ValueError):
    """The form is incomplete or malformed (400); the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the agreements were not created: message, the seed's reasons, HTTP status."""

    message: str
    reasons: tuple[str, ...] = ()
    status: int = 422


def _kind(text: str) -> AgreementKind:
    try:
        return AgreementKind(text)
    except ValueError:
        raise HTTPException(status_code=400, detail="kind: one_time or ongoing") from None


def _choice(kind: type[E], text: str, what: str) -> E | None:
    """An enumeration's member from its value; None when blank, ``FormError`` when unknown."""
    if not text.strip():
        return None
    try:
        return kind(text.strip())
    except ValueError:
        msg = f"{what}: choose one of the options."
        raise FormError(msg) from None


def _registered(values: dict[str, str]) -> bool:
    answer = values["registered"]
    if answer not in {"yes", "no"}:
        msg = "Answer “Is customer already registered?” (Yes or No)."
        raise FormError(msg)
    return answer == "yes"


def _customer(values: dict[str, str]) -> CustomerDetails:
    """The customer block of a non-registered customer, as typed (the service validates it)."""
    return CustomerDetails(
        first_name=values["first_name"],
        middle_initial=values["middle_initial"],
        last_name=values["last_name"],
        title=values["title"],
        company_name=values["company_name"],
        street=values["street"],
        city=values["city"],
        state=values["state"],
        zip_code=values["zip_code"],
        phone=values["phone"],
        email=values["email"],
        language=_choice(Language, values["language"], "Language Preference"),
    )


def _terms(kind: AgreementKind, values: dict[str, str]) -> AgreementTerms:
    """What is asked of the customer: the report (one-time) or the term (ongoing)."""
    try:
        if kind is AgreementKind.ONE_TIME:
            return AgreementTerms(
                kind,
                report_type=_choice(ReportType, values["report_type"], "Report Type"),
                report_duration=_choice(
                    ReportDuration, values["report_duration"], "Report Duration"
                ),
                comments=values["comments"].strip(),
            )
        return AgreementTerms(
            kind,
            term=_choice(OngoingTerm, values["term"], "Agreement Term"),
            comments=values["comments"].strip(),
        )
    except AgreementRuleError as error:
        raise FormError(error.message) from None


def initiation_form(
    kind: AgreementKind, values: dict[str, str], user: PartnerUser, *, attested: bool
) -> InitiationForm:
    """The service's form from the submitted values; raises ``FormError`` (400).

    FR 2: a registered customer's block is not read at all. FR 4: the company name is the
    user's company, whatever was posted.
    """
    registered = _registered(values)
    class_text = values["customer_class"] or (CustomerClass.RESIDENTIAL.value if registered else "")
    customer_class = _choice(CustomerClass, class_text, "Residential or business")
    if customer_class is None:
        msg = "Answer “Is customer a residential or business customer?”."
        raise FormError(msg)
    customer = None if registered else _customer(values)
    terms = _terms(kind, values)
    if not attested:
        msg = f"Confirm the attestation: {ATTESTATION}"
        raise FormError(msg)
    return InitiationForm(
        registered=registered,
        customer_class=customer_class,
        customer_email=values["email"],
        rows=[
            (values[f"esiid_{row}"], values[f"meter_{row}"])
            for row in range(1, MAX_METERS_PER_REQUEST + 1)
        ],
        contact=ThirdPartyContact(
            user.company_name,
            values["contact_name"],
            values["contact_phone"],
            values["contact_email"],
        ),
        terms=terms,
        customer=customer,
    )


def _form_page(  # noqa: PLR0913 - the page shows all of these
    request: Request,
    user: PartnerUser,
    kind: AgreementKind,
    values: dict[str, str],
    *,
    attested: bool = False,
    refusal: Refusal | None = None,
) -> Response:
    page: dict[str, Any] = {
        "kind": kind,
        "values": values,
        "attested": attested,
        "attestation": ATTESTATION,
        "error": refusal.message if refusal else None,
        "reasons": refusal.reasons if refusal else (),
        "report_types": list(ReportType),
        "durations": list(ReportDuration),
        "terms": list(OngoingTerm),
        "languages": list(Language),
        "rows": range(1, MAX_METERS_PER_REQUEST + 1),
    }
    status = refusal.status if refusal else 200
    return render_partner(request, user, "partner/new.html", page, status)


async def new_agreement_page(request: Request) -> Response:
    """``GET /partner/agreements/new?kind=…``: the blank form, the contact prefilled (FR 5)."""
    user = await require_partner(request)
    if not user.may(Permission.INITIATE):
        return refuse(request, user, Permission.INITIATE)
    kind = _kind(request.query_params.get("kind", ""))
    values = dict.fromkeys(FIELDS, "")
    values.update(contact_name=user.name, contact_phone=user.phone, contact_email=user.email)
    return _form_page(request, user, kind, values)


async def submit_agreement(request: Request) -> Response:
    """``POST /partner/agreements/new``: one Pending agreement per meter, or the form again."""
    user, form = await checked_form(request)
    if not user.may(Permission.INITIATE):
        return refuse(request, user, Permission.INITIATE)
    kind = _kind(field(form, "kind"))
    values = {name: field(form, name) for name in FIELDS}
    attested = field(form, "attest") == "yes"
    try:
        initiation = initiation_form(kind, values, user, attested=attested)
    except FormError as error:
        refusal = Refusal(str(error), status=400)
        return _form_page(request, user, kind, values, attested=attested, refusal=refusal)
    outcome = await run_in_threadpool(_initiate, request, user, initiation)
    if isinstance(outcome, Refusal):
        return _form_page(request, user, kind, values, attested=attested, refusal=outcome)
    numbers, service = outcome
    # Invitations (EM201) are delivered only once the agreements are committed.
    start_follow_up(context_of(request), service)
    query = urlencode([("number", number) for number in numbers])
    return RedirectResponse(f"{CREATED_PATH}?{query}", status_code=303)


def _initiate(
    request: Request, user: PartnerUser, initiation: InitiationForm
) -> tuple[list[str], AgreementService] | Refusal:
    """Create the agreements in one transaction; a refusal rolls everything back."""
    context = context_of(request)
    with context.sessions() as session:
        service = agreement_service(context, session)
        try:
            numbers = service.initiate(user.application_id, user.user_id, initiation)
        except AgreementRuleError as error:
            session.rollback()
            return Refusal(error.message, error.reasons)
        session.commit()
        return numbers, service


async def created_page(request: Request) -> Response:
    """``GET /partner/agreements/created?number=…``: the confirmation (status Pending)."""
    user = await require_partner(request)
    numbers = request.query_params.getlist("number")[:MAX_METERS_PER_REQUEST]
    context = context_of(request)

    def load() -> list[AgreementView]:
        with context.sessions() as session:
            found = [owned_agreement(session, user.application_id, n) for n in numbers]
            return [view for item in found if item is not None for _state, view in [item]]

    views = await run_in_threadpool(load)
    if not views:
        raise HTTPException(status_code=404, detail="no such agreement")
    return render_partner(request, user, "partner/created.html", {"views": views})
