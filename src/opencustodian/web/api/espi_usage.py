"""Connect My Data usage feeds (research/espi.md §2.1, §3, §5.4).

- ``GET …/Batch/Subscription/{id}`` and ``…/Batch/Subscription/{id}/UsagePoint``: every usage
  point the grant covers, with its meter readings, reading types, interval blocks and
  summaries;
- ``GET …/Batch/Subscription/{id}/UsagePoint/{usagePointId}``: one usage point's subtree.

Only a customer access token of that very subscription may read it (403 otherwise, as the
reference implementation's resource filter answers); every read is audited before the first
byte goes out. Feeds stream: the body is written while readings are read page by page, and is
gzip-compressed when the client accepts it.
"""

from __future__ import annotations

import uuid
import zlib
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.events import EventTag
from opencustodian.kit.time import utc_now
from opencustodian.protocols.espi.query import FeedQueryError, parse_feed_query
from opencustodian.protocols.espi.usage_feed import usage_feed
from opencustodian.services.access import AccessDeniedError, require_own_subscription
from opencustodian.services.usage_feeds import (
    FeedPlan,
    FeedSettings,
    Focus,
    RealTimeUnavailableError,
    ResourceNotFoundError,
    plan_subscription_feed,
)
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.usage import SqlUsageStore
from opencustodian.web.api import espi_bulk
from opencustodian.web.api.espi_authorization import ATOM, authenticate, denied

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fastapi import FastAPI
    from starlette.requests import Request

    from opencustodian.domain.consent import AccessRecord
    from opencustodian.web.app import AppContext

ROOT = "/espi/1_1/resource"
GZIP_WBITS = 31  # zlib: gzip header and trailer (RFC 1952)


def install(app: FastAPI) -> None:
    """Register the usage feed endpoints."""
    batch = f"{ROOT}/Batch/Subscription/{{subscription_id}}"
    app.add_route(batch, subscription_feed, methods=["GET"])
    app.add_route(f"{batch}/UsagePoint", subscription_feed, methods=["GET"])
    app.add_route(f"{batch}/UsagePoint/{{usage_point_id}}", subscription_feed, methods=["GET"])
    app.add_route(f"{batch}/RealTime", real_time_feed, methods=["GET"])
    app.add_route(
        f"{batch}/UsagePoint/{{usage_point_id}}/RealTime", real_time_feed, methods=["GET"]
    )


def problem(status: int, error: str, description: str) -> JSONResponse:
    """A client error with a machine-readable code and a sentence."""
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def subscription_feed(request: Request) -> Response:
    """The Batch/Subscription feed, whole or for one usage point."""
    deferred = await espi_bulk.deferred_subscription(request)  # 202 + job when too large
    if deferred is not None:
        return deferred
    return await _batch_feed(request, real_time=False)


async def real_time_feed(request: Request) -> Response:
    """``…/Batch/Subscription/{id}[/UsagePoint/{id}]/RealTime``: the last day, provisional.

    Seed 000 §3.3e–g: electricity only, the last 24 hours, readings offered 45 minutes after
    the request time (both set in the profile's ``[limits]``), not billing quality. A gas or
    water usage point gets a 400 that says so.
    """
    return await _batch_feed(request, real_time=True)


async def _batch_feed(request: Request, *, real_time: bool) -> Response:
    try:
        query = parse_feed_query(request.query_params.multi_items())
    except FeedQueryError as error:
        return problem(400, "invalid_request", str(error))
    try:
        usage_point = _usage_point_id(request.path_params.get("usage_point_id"))
    except ValueError:
        return problem(404, "not_found", "no such usage point in this subscription")

    def build(record: AccessRecord, context: AppContext) -> FeedPlan:
        return plan_subscription_feed(
            SqlUsageStore(context.engine),
            record,
            feed_settings(context),
            now=utc_now(),
            query=query,
            self_href=str(request.url),
            focus=Focus(usage_point=usage_point, real_time=real_time),
        )

    subscription_id = request.path_params["subscription_id"]
    planned = await run_in_threadpool(audited_plan, request, subscription_id, build)
    if isinstance(planned, Response):
        return planned
    return streamed(planned, gzip="gzip" in request.headers.get("accept-encoding", ""))


def audited_plan(
    request: Request,
    subscription_id: str | None,
    build: Callable[[AccessRecord, AppContext], FeedPlan],
) -> FeedPlan | Response:
    """Authenticate, check the subscription, plan the read and audit it; or the refusal.

    ``subscription_id`` is the path's (None for the root forms, which read the token's own
    subscription). The audit event is committed before the first byte of data is written.
    """
    context: AppContext = request.app.state.context
    with context.sessions() as session:
        try:
            record = authenticate(request, session).record
            require_own_subscription(
                record, subscription_id or record.subscription_uuid, "usage data"
            )
        except AccessDeniedError as error:
            return denied(error)
        try:
            feed = build(record, context)
        except ResourceNotFoundError:
            return problem(404, "not_found", "no such resource in this subscription")
        except RealTimeUnavailableError as error:
            return problem(400, "invalid_request", str(error))
        SqlConsentStore(session).record_event(
            EventTag.DATA_READ,
            f"grant:{record.grant_uuid}",
            {"path": request.url.path, "usage_points": feed.service_point_uuids},
            f"client:{record.client_id}",
        )
        session.commit()
        return feed


def feed_settings(context: AppContext) -> FeedSettings:
    """The custodian's feed settings from its profile."""
    limits = context.profile.limits
    return FeedSettings(
        base_url=context.base_url,
        zone=context.profile.time_zone,
        max_history_seconds=limits.max_history_seconds,
        certification_href=context.profile.certification_url,
        real_time_window_seconds=int(limits.real_time_window.total_seconds()),
        real_time_latency_seconds=int(limits.real_time_latency.total_seconds()),
    )


def _usage_point_id(raw: str | None) -> uuid.UUID | None:
    """The usage point id of the path (None when it names none); ValueError when malformed."""
    return None if raw is None else uuid.UUID(raw)


def streamed(
    plan: FeedPlan, *, gzip: bool, chunks: Iterator[bytes] | None = None
) -> StreamingResponse:
    """The plan's Batch feed (or ``chunks`` written from it) as a streamed Atom response."""
    if chunks is None:
        chunks = usage_feed(plan.meta, plan.local_time, plan.usage_points)
    headers = {
        "Content-Disposition": 'attachment; filename="GreenButtonDownload.xml"',
        "Cache-Control": "no-store",
        "Vary": "Accept-Encoding",
    }
    if gzip:
        headers["Content-Encoding"] = "gzip"
        return StreamingResponse(gzipped(chunks), media_type=ATOM, headers=headers)
    return StreamingResponse(chunks, media_type=ATOM, headers=headers)


def gzipped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks compressed as one gzip member, passed on as soon as zlib emits output."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS)
    for chunk in chunks:
        compressed = compressor.compress(chunk)
        if compressed:
            yield compressed
    yield compressor.flush()
