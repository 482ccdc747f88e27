"""The third party's "Customer Agreements" pages (seed 003): list or search, View & Edit.

- ``GET /partner/agreements``: at most 25 agreements → the list; more → the search view
  ("Page will display a search view if User has more than 25 customer agreements"), whose
  criteria and items (up to 100, comma-separated, a trailing ``*`` for a prefix) are parsed by
  ``domain.agreements.parse_search``; a refused search is shown with 400.
- ``GET /partner/agreements/{number}``: View & Edit. Its buttons are those of the agreement's
  kind; the ones ``allowed_actions`` does not allow now are rendered inactive with the reason
  (FR 10: the user's role; FR 16: Resend Email only while Pending).
- ``POST …/resend`` (EM202), ``POST …/terminate``, ``POST …/extend``, ``GET …/report.csv``: the
  same rule is checked again on the server (403), the service's own refusals are a 409.

Another company's agreement number is a 404 (``web.partner_lookup``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from fastapi import HTTPException
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.agreements import (
    LIST_VIEW_LIMIT,
    MAX_SEARCH_ITEMS,
    AgreementKind,
    AgreementNotFoundError,
    AgreementRuleError,
    AgreementSearch,
    AgreementStatus,
    OngoingTerm,
    Permission,
    SearchCriterion,
    allowed_actions,
    parse_search,
)
from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.web.agreement_support import agreement_service, start_follow_up
from opencustodian.web.pages.partner_access import (
    Feedback,
    checked_form,
    context_of,
    field,
    render_partner,
    require_partner,
)
from opencustodian.web.partner_lookup import csv_download, owned_agreement, report_file

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI
    from starlette.requests import Request

    from opencustodian.domain.agreements import AgreementView
    from opencustodian.services.agreements import AgreementService
    from opencustodian.storage.partner_users import PartnerUser
    from opencustodian.web.partner_lookup import ReportFile

#: The most search results one page shows (a search of 100 prefixes can match far more).
RESULT_LIMIT = 200
#: The longest search box read: 100 items of up to 100 characters and their commas.
MAX_SEARCH_TEXT = MAX_SEARCH_ITEMS * 101
NOTICES = {
    "resent": "The invitation email was sent to the customer again.",
    "terminated": "The agreement is terminated: access to the meter's data has ended.",
    "extension": "The customer was asked by email to extend the agreement.",
}


def install(app: FastAPI) -> None:
    """Register the list, the View & Edit page and its actions."""
    routes: list[tuple[str, Callable[..., Any], str]] = [
        ("/partner/agreements", agreements_page, "GET"),
        ("/partner/agreements/{number}", agreement_page, "GET"),
        ("/partner/agreements/{number}/resend", resend, "POST"),
        ("/partner/agreements/{number}/terminate", terminate, "POST"),
        ("/partner/agreements/{number}/extend", extend, "POST"),
        ("/partner/agreements/{number}/report.csv", download_report, "GET"),
    ]
    for path, endpoint, method in routes:
        app.add_route(path, endpoint, methods=[method], include_in_schema=False)


# -- Customer Agreements: the list, or the search view -------------------------------------


@dataclass(frozen=True, slots=True)
class SearchForm:
    """The search box as typed, and its parsed search (None until something was submitted)."""

    criterion: str
    items: str
    search: AgreementSearch | None = None
    error: str | None = None


def read_search(query: dict[str, str]) -> SearchForm:
    """The search the query string asks for; an empty form when it asks for none."""
    criterion = query.get("criterion", "")[:100]
    items = query.get("items", "")
    if "criterion" not in query and "items" not in query:
        return SearchForm(SearchCriterion.AGREEMENT_NUMBER.value, "")
    if len(items) > MAX_SEARCH_TEXT:
        message = f"Type at most {MAX_SEARCH_ITEMS} search items, separated by commas."
        return SearchForm(criterion, items[:MAX_SEARCH_TEXT], error=message)
    try:
        return SearchForm(criterion, items, parse_search(criterion, items))
    except AgreementRuleError as error:
        return SearchForm(criterion, items, error=error.message)


async def agreements_page(request: Request) -> Response:
    """``GET /partner/agreements``: the list (at most 25), else the search view."""
    user = await require_partner(request)
    context = context_of(request)
    form = read_search(dict(request.query_params))

    def load() -> tuple[int, list[AgreementView] | None]:
        with context.sessions() as session:
            store = SqlAgreementStore(session)
            total = store.count(user.application_id)
            if total <= LIST_VIEW_LIMIT:
                return total, store.views(application_id=user.application_id)
            if form.search is None:
                return total, None
            found = store.views(
                application_id=user.application_id, search=form.search, limit=RESULT_LIMIT + 1
            )
            return total, found

    total, agreements = await run_in_threadpool(load)
    list_view = total <= LIST_VIEW_LIMIT
    values = {
        "list_view": list_view,
        "total": total,
        "agreements": (agreements or [])[:RESULT_LIMIT],
        "truncated": agreements is not None and len(agreements) > RESULT_LIMIT,
        "result_limit": RESULT_LIMIT,
        "searched": form.search is not None,
        "form": form,
        "criteria": list(SearchCriterion),
        "list_limit": LIST_VIEW_LIMIT,
        "max_items": MAX_SEARCH_ITEMS,
    }
    status = 400 if form.error and not list_view else 200
    return render_partner(request, user, "partner/agreements.html", values, status)


# -- View & Edit ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    """One action of the View & Edit page; inactive ones say why (FR 10, FR 16)."""

    permission: Permission
    label: str
    path: str
    active: bool
    reason: str = ""


_STATUS_REASONS = {
    Permission.RESEND: "Resend Email is active only while the agreement is Pending (FR 16).",
    Permission.TERMINATE: "Only an Active agreement can be terminated.",
    Permission.EXTEND: "Only an Active ongoing agreement can be extended.",
    Permission.DOWNLOAD_REPORT: "The report exists once the customer has accepted (Complete).",
}
_LABELS = {
    Permission.RESEND: ("Resend Email", "resend"),
    Permission.TERMINATE: ("Terminate", "terminate"),
    Permission.EXTEND: ("Extend", "extend"),
    Permission.DOWNLOAD_REPORT: ("Download report", "report.csv"),
}


def _reason(
    permission: Permission, allowed: frozenset[Permission], user: PartnerUser
) -> str | None:
    """Why ``permission`` is inactive now, or None when it is active."""
    if permission in allowed:
        return None
    if not user.may(permission):
        return f"Your role ({user.role.label}) does not allow this (FR 10)."
    return _STATUS_REASONS[permission]


def buttons(view: AgreementView, user: PartnerUser, report: ReportFile | None) -> list[Button]:
    """The page's actions for this agreement's kind, each active or not (and why not)."""
    allowed = allowed_actions(view.status, view.kind, user.permissions)
    if view.kind is AgreementKind.ONE_TIME:
        kinds: tuple[Permission, ...] = (Permission.RESEND, Permission.DOWNLOAD_REPORT)
    else:
        kinds = (Permission.RESEND, Permission.TERMINATE, Permission.EXTEND)
    made = []
    for permission in kinds:
        label, action = _LABELS[permission]
        reason = _reason(permission, allowed, user)
        if reason is None and permission is Permission.DOWNLOAD_REPORT:
            reason = _report_reason(report)
        path = f"/partner/agreements/{view.number}/{action}"
        made.append(Button(permission, label, path, reason is None, reason or ""))
    return made


def _report_reason(report: ReportFile | None) -> str | None:
    """Why an allowed download is not possible yet (None when the CSV is ready)."""
    if report is not None and report.ready:
        return None
    if report is not None and not report.status.being_prepared:
        return "The report could not be built. Please contact the utility."
    return "The report is being prepared; it will be ready shortly."


async def agreement_page(request: Request) -> Response:
    """``GET /partner/agreements/{number}``: View & Edit Customer Agreement."""
    user = await require_partner(request)
    notice = NOTICES.get(request.query_params.get("done", ""))
    number = request.path_params["number"]
    return await show_agreement(request, user, number, Feedback(notice=notice))


async def show_agreement(
    request: Request,
    user: PartnerUser,
    number: str,
    feedback: Feedback | None = None,
) -> Response:
    """The View & Edit page of the company's agreement ``number`` (404 for any other)."""
    context = context_of(request)
    feedback = feedback or Feedback()

    def load() -> tuple[AgreementView, ReportFile | None] | None:
        with context.sessions() as session:
            found = owned_agreement(session, user.application_id, number)
            if found is None:
                return None
            state, view = found
            return view, report_file(session, state.agreement_id)

    loaded = await run_in_threadpool(load)
    if loaded is None:
        raise HTTPException(status_code=404, detail="no such agreement")
    view, report = loaded
    values = {
        "view": view,
        "report": report,
        "buttons": buttons(view, user, report),
        "terms": list(OngoingTerm),
        "error": feedback.error,
        "notice": feedback.notice,
        "awaiting": view.status.awaits_customer,
    }
    return render_partner(request, user, "partner/agreement.html", values, feedback.status)


# -- the actions ----------------------------------------------------------------------------

Work: TypeAlias = "Callable[[AgreementService, int, str], None]"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an action went: its HTTP status and message, and the service to follow up."""

    status: int
    message: str = ""
    service: AgreementService | None = None


def _act(request: Request, user: PartnerUser, permission: Permission, work: Work) -> Outcome:
    """Run one action in one transaction, refusing what the page shows inactive (FR 10, 16)."""
    context = context_of(request)
    number = request.path_params["number"]
    with context.sessions() as session:
        found = owned_agreement(session, user.application_id, number)
        if found is None:
            return Outcome(404)
        state, _view = found
        reason = _reason(
            permission, allowed_actions(state.status, state.kind, user.permissions), user
        )
        if reason is not None:
            return Outcome(403, reason)
        service = agreement_service(context, session)
        try:
            work(service, user.application_id, number)
        except AgreementNotFoundError:
            session.rollback()
            return Outcome(404)
        except AgreementRuleError as refusal:
            session.rollback()
            return Outcome(409, refusal.message)
        session.commit()
        return Outcome(200, service=service)


async def _run_action(
    request: Request, user: PartnerUser, permission: Permission, work: Work, done: str
) -> Response:
    outcome = await run_in_threadpool(_act, request, user, permission, work)
    number = request.path_params["number"]
    if outcome.status == 404:  # noqa: PLR2004 - HTTP status
        raise HTTPException(status_code=404, detail="no such agreement")
    if outcome.service is None:
        feedback = Feedback(error=outcome.message, status=outcome.status)
        return await show_agreement(request, user, number, feedback)
    # Mail and notifications only after the commit: nothing is sent for a rolled-back change.
    start_follow_up(context_of(request), outcome.service)
    return RedirectResponse(f"/partner/agreements/{number}?done={done}", status_code=303)


async def resend(request: Request) -> Response:
    """``POST …/resend``: the invitation again (EM202); only while Pending (FR 16)."""
    user, _form = await checked_form(request)

    def work(service: AgreementService, application_id: int, number: str) -> None:
        service.resend(application_id, number)

    return await _run_action(request, user, Permission.RESEND, work, "resent")


async def terminate(request: Request) -> Response:
    """``POST …/terminate``: end an Active agreement; the data access stops at once."""
    user, _form = await checked_form(request)

    def work(service: AgreementService, application_id: int, number: str) -> None:
        service.terminate_for_party(application_id, number)

    return await _run_action(request, user, Permission.TERMINATE, work, "terminated")


async def extend(request: Request) -> Response:
    """``POST …/extend``: ask the customer to extend an Active ongoing agreement by a term."""
    user, form = await checked_form(request)
    try:
        term = OngoingTerm(field(form, "term"))
    except ValueError:
        feedback = Feedback(error="Choose how long to extend the agreement by.", status=400)
        return await show_agreement(request, user, request.path_params["number"], feedback)

    def work(service: AgreementService, application_id: int, number: str) -> None:
        service.request_extension(application_id, number, term)

    return await _run_action(request, user, Permission.EXTEND, work, "extension")


async def download_report(request: Request) -> Response:
    """``GET …/report.csv``: the one-time agreement's report, once built (EM204)."""
    user = await require_partner(request)
    number = request.path_params["number"]
    context = context_of(request)

    def load() -> tuple[AgreementStatus, AgreementKind, ReportFile | None] | None:
        with context.sessions() as session:
            found = owned_agreement(session, user.application_id, number)
            if found is None:
                return None
            state, _view = found
            return state.status, state.kind, report_file(session, state.agreement_id)

    loaded = await run_in_threadpool(load)
    if loaded is None:
        raise HTTPException(status_code=404, detail="no such agreement")
    status, kind, report = loaded
    permission = Permission.DOWNLOAD_REPORT
    reason = _reason(permission, allowed_actions(status, kind, user.permissions), user)
    if reason is not None:
        return await show_agreement(request, user, number, Feedback(error=reason, status=403))
    if report is None or not report.ready or report.content is None:
        waiting = _report_reason(report) or ""
        return await show_agreement(request, user, number, Feedback(error=waiting, status=409))
    return csv_download(report.content, report.file_name, number)
