"""The customer portal's own-data pages: Download My Data, the usage chart, the access log.

Seed 001 ("The customer navigates to the data … selects what they want … downloads") and
seed 000 §2.1 (XML or CSV). Every page shows only the signed-in customer's service points
held today, from their move-in on; what that means is decided in ``services.self_service``,
and these handlers only parse the request, call it and render. Bad input (dates, ranges,
another customer's service point id) answers the page again with a message and a 400.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from opencustodian.kit.time import utc_now
from opencustodian.services.downloads import DateRangeError, DownloadFormat, parse_day
from opencustodian.services.self_service import (
    ChoiceError,
    access_log,
    chosen_points,
    customer_download,
    default_range,
    held_points,
)
from opencustodian.services.usage_chart import ChartView, usage_chart
from opencustodian.storage.audit import SqlAuditLog
from opencustodian.storage.self_service import SqlSelfServiceDirectory
from opencustodian.storage.usage import SqlUsageStore
from opencustodian.web import sessions
from opencustodian.web.api.espi_usage import feed_settings
from opencustodian.web.pages.rendering import render
from opencustodian.web.pages.usage_svg import svg_chart

if TYPE_CHECKING:
    from datetime import date

    from fastapi import FastAPI
    from fastapi.responses import Response
    from starlette.datastructures import FormData
    from starlette.requests import Request

    from opencustodian.domain.self_service import HeldServicePoint
    from opencustodian.web.app import AppContext

#: The range the download form proposes: the last year (within the customer's tenure).
DEFAULT_DOWNLOAD_DAYS = 365
#: Far beyond any customer's log; keeps the SQL offset within every database's integers.
MAX_PAGE = 1_000_000
FORMAT_NAMES = {DownloadFormat.XML: "Green Button XML (ESPI)", DownloadFormat.CSV: "CSV"}


def install(app: FastAPI) -> None:
    """Register the own-data pages."""
    app.add_route("/portal/download", download_page, methods=["GET"], include_in_schema=False)
    app.add_route("/portal/download", download_file, methods=["POST"], include_in_schema=False)
    app.add_route("/portal/usage", usage_index, methods=["GET"], include_in_schema=False)
    app.add_route(
        "/portal/usage/{service_point_id}", usage_page, methods=["GET"], include_in_schema=False
    )
    app.add_route("/portal/access-log", access_log_page, methods=["GET"], include_in_schema=False)


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def _today(context: AppContext) -> date:
    return utc_now().astimezone(context.profile.time_zone).date()


async def _held(request: Request, customer: int) -> list[HeldServicePoint]:
    """The service points this session may see (one account when verified by number)."""
    context = _context(request)
    return await run_in_threadpool(
        held_points,
        SqlSelfServiceDirectory(context.engine),
        customer,
        today=_today(context),
        account_id=sessions.verified_account_id(request),
    )


# -- Download My Data ---------------------------------------------------------------------------


def _download_form(
    request: Request,
    held: list[HeldServicePoint],
    values: dict[str, Any],
    *,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "portal/download.html",
        {"points": held, "formats": FORMAT_NAMES, "error": error, **values},
        status_code=400 if error else 200,
    )


async def download_page(request: Request) -> Response:
    """``GET /portal/download``: choose services, dates and a format."""
    customer = sessions.require_customer(request)
    held = await _held(request, customer)
    first, last = default_range(held, _today(_context(request)), DEFAULT_DOWNLOAD_DAYS)
    values = {
        "chosen": {str(point.uuid) for point in held},
        "first": first.isoformat(),
        "last": last.isoformat(),
        "format": DownloadFormat.XML.value,
    }
    return _download_form(request, held, values)


async def download_file(request: Request) -> Response:
    """``POST /portal/download``: the file as an attachment, or the form with what is wrong."""
    customer = sessions.require_customer(request)
    form = await request.form()
    sessions.check_csrf(request, form.get("csrf"))
    context = _context(request)
    held = await _held(request, customer)
    wanted = [str(value) for value in form.getlist("service_point")]
    first_text, last_text = _field(form, "from"), _field(form, "to")
    format_text = _field(form, "format")
    values = {
        # Echo only the customer's own ids: a foreign id is never written back into the page.
        "chosen": {value for value in wanted if value in {str(point.uuid) for point in held}},
        "first": first_text,
        "last": last_text,
        "format": format_text,
    }
    try:
        fmt = _format(format_text)
        points = chosen_points(held, wanted)
        days = (parse_day(first_text, "'from'"), parse_day(last_text, "'to'"))
        download = await run_in_threadpool(
            customer_download,
            SqlUsageStore(context.engine),
            SqlSelfServiceDirectory(context.engine),
            customer,
            points,
            days,
            settings=feed_settings(context),
            now=utc_now(),
            fmt=fmt,
            audit=SqlAuditLog(context.engine),
        )
    except (ChoiceError, DateRangeError) as error:
        return _download_form(request, held, values, error=str(error))
    headers = {
        "Content-Disposition": f'attachment; filename="{download.filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(download.chunks, media_type=fmt.media_type, headers=headers)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _format(text: str) -> DownloadFormat:
    try:
        return DownloadFormat(text)
    except ValueError:
        msg = "Choose a format: Green Button XML or CSV."
        raise ChoiceError(msg) from None


# -- the usage chart ----------------------------------------------------------------------------


async def usage_index(request: Request) -> Response:
    """``GET /portal/usage``: the chart of the customer's first service."""
    customer = sessions.require_customer(request)
    held = await _held(request, customer)
    if not held:
        return render(request, "portal/usage.html", {"points": [], "point": None, "chart": None})
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/portal/usage/{held[0].uuid}{query}", status_code=303)


async def usage_page(request: Request) -> Response:
    """``GET /portal/usage/{id}?view=day|month&day=YYYY-MM-DD``: one service's chart."""
    customer = sessions.require_customer(request)
    context = _context(request)
    held = await _held(request, customer)
    point = _held_point(held, request.path_params["service_point_id"])
    values: dict[str, Any] = {"points": held, "point": point, "chart": None, "error": None}
    if point is None:
        # Another customer's id looks exactly like an unknown one: ids cannot be probed.
        values["error"] = "No such service on your account."
        return render(request, "portal/usage.html", values, status_code=404)
    try:
        view = _view(request.query_params.get("view", ChartView.DAY.value))
        raw_day = request.query_params.get("day")
        day = parse_day(raw_day, "chart") if raw_day else None
        chart = await run_in_threadpool(
            usage_chart,
            SqlUsageStore(context.engine),
            SqlSelfServiceDirectory(context.engine),
            point,
            view=view,
            day=day,
            zone=context.profile.time_zone,
            now=utc_now(),
        )
    except DateRangeError as error:
        values["error"] = str(error)
        return render(request, "portal/usage.html", values, status_code=400)
    values["chart"] = chart
    values["svg"] = svg_chart(chart, context.profile.time_zone)
    return render(request, "portal/usage.html", values)


def _held_point(held: list[HeldServicePoint], text: str) -> HeldServicePoint | None:
    try:
        wanted = uuid.UUID(text)
    except ValueError:
        return None
    return next((point for point in held if point.uuid == wanted), None)


def _view(text: str) -> ChartView:
    try:
        return ChartView(text)
    except ValueError:
        msg = f"The chart view {text!r} is not one of: day, month."
        raise DateRangeError(msg) from None


# -- the access log -----------------------------------------------------------------------------


async def access_log_page(request: Request) -> Response:
    """``GET /portal/access-log?page=N``: which third party read what, and when."""
    customer = sessions.require_customer(request)
    context = _context(request)
    raw = request.query_params.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PAGE):
        values = {"log": None, "error": f"The page {raw!r} is not a page number (1, 2, …)."}
        return render(request, "portal/access_log.html", values, status_code=400)
    log = await run_in_threadpool(
        access_log,
        SqlSelfServiceDirectory(context.engine),
        customer,
        page=int(raw),
        zone=context.profile.time_zone,
    )
    return render(request, "portal/access_log.html", {"log": log, "error": None})
