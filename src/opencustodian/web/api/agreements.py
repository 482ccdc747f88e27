"""The Energy Data Agreements API for third-party systems (seed 003), under ``/agreements/v1``.

- ``GET /agreements/v1/agreements``: the company's agreements, newest first (``status=`` one
  status; ``limit`` up to 500, ``offset``);
- ``GET /agreements/v1/agreements/{number}``: one agreement;
- ``GET /agreements/v1/agreements/{number}/report``: a one-time agreement's CSV report once it
  is built (``text/csv``); ``409`` while it is being built (``Retry-After``) or the customer has
  not answered yet; ``410`` when building it failed for good.

Authentication is the company's own client-credentials access token (RFC 6749 §4.4, any scope
the application registered), checked at the access choke point (``services.access``): a
customer's token is a ``403``, no token or a dead one a ``401``. Another company's agreement,
or an agreement number that is not one, is a ``404``. Errors are RFC 9457 problem details, as
in the CDS API; an unknown or repeated query parameter is a ``400``.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any, Final

from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request  # noqa: TC002 - FastAPI reads route annotations

from opencustodian.domain.agreements import AgreementKind, AgreementStatus
from opencustodian.domain.consent import GrantKind
from opencustodian.kit import exact_json
from opencustodian.services.access import AccessDeniedError
from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.web.api.cds import JSON, PROBLEM, authenticated, denied, problem
from opencustodian.web.partner_lookup import (
    ReportFile,
    ReportStatus,
    csv_download,
    owned_agreement,
    report_file,
    report_statuses,
)

if TYPE_CHECKING:
    from datetime import date, datetime

    from fastapi import FastAPI
    from sqlalchemy.orm import Session

    from opencustodian.domain.agreements import AgreementState, AgreementView
    from opencustodian.domain.consent import AccessRecord
    from opencustodian.web.app import AppContext

ROOT: Final = "/agreements/v1/agreements"
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 500
#: How long a client should wait before asking for a report being built again.
RETRY_AFTER_SECONDS: Final = 60
LIST_PARAMETERS: Final = frozenset({"status", "limit", "offset"})

_ERRORS: Final = {
    400: "unknown, repeated or malformed query parameter",
    401: "missing, unknown, expired or revoked access token",
    403: "the token is not the company's client_credentials token",
    404: "no such agreement for this company",
    409: "the report is not built yet (see Retry-After), or the customer has not answered",
    410: "the report could not be built",
}


def install(app: FastAPI) -> None:
    """Register the three agreement routes with their answers in the OpenAPI document."""
    routes: tuple[tuple[str, Any, str, str, tuple[int, ...]], ...] = (
        (ROOT, list_agreements, "agreements_list", "List the company's agreements", (400,)),
        (
            f"{ROOT}/{{number}}",
            read_agreement,
            "agreements_read",
            "Read one agreement",
            (400, 404),
        ),
        (
            f"{ROOT}/{{number}}/report",
            read_report,
            "agreements_report",
            "Download a one-time agreement's CSV report",
            (400, 404, 409, 410),
        ),
    )
    for path, endpoint, name, summary, errors in routes:
        parameters = _LIST_QUERY if endpoint is list_agreements else []
        app.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            name=name,
            summary=f"{summary} (seed 003 Energy Data Agreements)",
            tags=["energy data agreements"],
            responses=_responses(*errors, 401, 403, csv=endpoint is read_report),
            response_class=Response,
            openapi_extra={"parameters": parameters} if parameters else None,
        )


_LIST_QUERY: Final = [
    {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "only agreements in this status",
        "schema": {"type": "string", "enum": [status.value for status in AgreementStatus]},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "agreements per page",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT, "default": 100},
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "description": "agreements to skip (newest first)",
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
]


def _responses(*errors: int, csv: bool) -> dict[int | str, dict[str, Any]]:
    body = {"text/csv": {"schema": {"type": "string"}}} if csv else {JSON: {}}
    answers: dict[int | str, dict[str, Any]] = {200: {"content": body}}
    for status in sorted(set(errors)):
        answers[status] = {"description": _ERRORS[status], "content": {PROBLEM: {}}}
    return answers


# -- the caller ---------------------------------------------------------------------------


def _caller(request: Request, session: Session) -> AccessRecord:
    """The company's live client-credentials token; raises ``AccessDeniedError``."""
    record = authenticated(request, session)
    if record.grant_kind is not GrantKind.CLIENT:
        msg = "insufficient_scope"
        description = "this API needs the company's client_credentials access token"
        raise AccessDeniedError(msg, description, 403)
    return record


class QueryError(ValueError):
    """A query parameter the route does not take, given twice, or malformed."""


def _query(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    pairs = request.query_params.multi_items()
    names = [name for name, _ in pairs]
    for name in names:
        if name not in allowed:
            msg = f"unknown query parameter {name!r}"
            raise QueryError(msg)
        if names.count(name) > 1:
            msg = f"query parameter {name!r} given more than once"
            raise QueryError(msg)
    return dict(pairs)


def _whole(query: dict[str, str], name: str, default: int, highest: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 9 or int(text) > highest:  # noqa: PLR2004 - digits
        msg = f"{name}: a whole number from 0 to {highest}"
        raise QueryError(msg)
    return int(text)


def _status_filter(query: dict[str, str]) -> AgreementStatus | None:
    text = query.get("status")
    if text is None:
        return None
    try:
        return AgreementStatus(text)
    except ValueError:
        choices = ", ".join(status.value for status in AgreementStatus)
        msg = f"status: one of {choices}"
        raise QueryError(msg) from None


# -- the objects --------------------------------------------------------------------------


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def agreement_object(
    view: AgreementView, report: ReportStatus | None, base_url: str
) -> dict[str, object]:
    """One agreement as JSON: what the View & Edit page shows, with links."""
    href = f"{base_url}{ROOT}/{view.number}"
    customer = view.customer
    one_time = view.kind is AgreementKind.ONE_TIME
    return {
        "number": view.number,
        "href": href,
        "kind": view.kind.value,
        "kind_label": view.kind.label,
        "status": view.status.value,
        "status_label": view.status.label,
        "esiid": view.esiid,
        "meter_number": view.meter_number,
        "customer": {
            "registered": view.customer_registered,
            "customer_class": view.customer_class.value,
            "first_name": customer.first_name,
            "middle_initial": customer.middle_initial,
            "last_name": customer.last_name,
            "title": customer.title,
            "company_name": customer.company_name,
            "street": customer.street,
            "city": customer.city,
            "state": customer.state,
            "zip_code": customer.zip_code,
            "phone": customer.phone,
            "email": customer.email,
            "language": customer.language.value if customer.language else None,
        },
        "third_party": {
            "company_name": view.company_name,
            "contact_name": view.contact_name,
            "phone": view.contact_phone,
            "email": view.contact_email,
        },
        "created_at": _instant(view.created_at),
        "invitation_expires_at": (
            _instant(view.invitation_expires_at) if view.status.awaits_customer else None
        ),
        "start_date": _day(view.start_date),
        "end_date": _day(view.end_date),
        "proposed_end_date": _day(view.proposed_end_date),
        "report_type": view.report_type.value if view.report_type else None,
        "report_duration": view.report_duration.value if view.report_duration else None,
        "term_months": int(view.term.value) if view.term else None,
        "comments": view.comments,
        "report": (
            {"status": report.value, "href": f"{href}/report"}
            if one_time and report is not None
            else None
        ),
    }


def _json(body: object) -> Response:
    return Response(exact_json.encode(body), media_type=JSON)


# -- the routes ---------------------------------------------------------------------------


async def list_agreements(request: Request) -> Response:
    """``GET /agreements/v1/agreements``: the company's agreements, newest first."""
    return await run_in_threadpool(_answer_list, request)


def _answer_list(request: Request) -> Response:
    context: AppContext = request.app.state.context
    try:
        query = _query(request, LIST_PARAMETERS)
        wanted = _status_filter(query)
        limit = _whole(query, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        offset = _whole(query, "offset", 0, 10**9)
    except QueryError as error:
        return problem(400, "Bad Request", str(error))
    with context.sessions() as session:
        try:
            record = _caller(request, session)
        except AccessDeniedError as error:
            return denied(error)
        views = SqlAgreementStore(session).views(application_id=record.application_id)
        reports = report_statuses(session, record.application_id)
    chosen = [view for view in views if wanted is None or view.status is wanted]
    page = chosen[offset : offset + limit]
    body: dict[str, object] = {
        "total": len(chosen),
        "agreements": [
            agreement_object(view, reports.get(view.number), context.base_url) for view in page
        ],
    }
    if offset + limit < len(chosen):
        extra = f"&status={wanted.value}" if wanted else ""
        body["next"] = f"{context.base_url}{ROOT}?offset={offset + limit}&limit={limit}{extra}"
    return _json(body)


async def read_agreement(request: Request, number: str) -> Response:
    """``GET /agreements/v1/agreements/{number}``: one of the company's agreements."""
    return await run_in_threadpool(_answer_one, request, number)


def _answer_one(request: Request, number: str) -> Response:
    context: AppContext = request.app.state.context
    found = _owned(request, number)
    if isinstance(found, Response):
        return found
    _state, view, report = found
    status = report.status if report else None
    return _json(agreement_object(view, status, context.base_url))


def _owned(
    request: Request, number: str
) -> Response | tuple[AgreementState, AgreementView, ReportFile | None]:
    """The caller's agreement ``number`` and its report, or the problem answer refusing it."""
    context: AppContext = request.app.state.context
    try:
        _query(request, frozenset())
    except QueryError as error:
        return problem(400, "Bad Request", str(error))
    with context.sessions() as session:
        try:
            record = _caller(request, session)
        except AccessDeniedError as error:
            return denied(error)
        found = owned_agreement(session, record.application_id, number)
        if found is None:
            return _not_found()
        state, view = found
        return state, view, report_file(session, state.agreement_id)


def _not_found() -> Response:
    return problem(404, "Not Found", "this company has no agreement with that number")


async def read_report(request: Request, number: str) -> Response:
    """``GET /agreements/v1/agreements/{number}/report``: the CSV once built."""
    return await run_in_threadpool(_answer_report, request, number)


def _answer_report(request: Request, number: str) -> Response:
    found = _owned(request, number)
    if isinstance(found, Response):
        return found
    state, _view, report = found
    return _report_answer(state.kind, state.status, report, number)


def _report_answer(
    kind: AgreementKind, status: AgreementStatus, report: ReportFile | None, number: str
) -> Response:
    """The CSV, or why there is none (yet)."""
    if report is not None and report.ready and report.content is not None:
        return csv_download(report.content, report.file_name, number)
    if report is not None and report.status.being_prepared:
        detail = "the report is being built; ask again later"
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return problem(409, "Conflict", detail, headers)
    if report is not None:
        return problem(410, "Gone", "the report could not be built; contact the utility")
    if kind is AgreementKind.ONE_TIME and status is AgreementStatus.PENDING:
        detail = "the customer has not accepted the agreement yet: no report exists"
        return problem(409, "Conflict", detail)
    detail = f"this agreement has no report ({kind.label}, {status.label})"
    return problem(404, "Not Found", detail)
