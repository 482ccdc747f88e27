"""Bulk and asynchronous batches (seed 000 §3.1; research/espi.md §2.1, §5.4, §7).

- ``GET …/Batch/Bulk/{bulkId}``: with the third party's client access token (client
  credentials, FB 35) only; answered ``202 Accepted`` with the ``Location`` of a job. The feed
  holds every active customer grant of the application whose scope carries ``BR={bulkId}``.
- A ``Batch/Subscription`` read estimated above the profile's ``sync_feed_max_readings`` is
  answered the same way (``deferred_subscription``, called by ``espi_usage``).
- ``GET …/Batch/Bulk/{bulkId}/Job/{jobId}`` and ``…/Batch/Subscription/{id}/Job/{jobId}``:
  ``202`` with ``Retry-After`` while the job runs, then the feed (``200``, gzip on request);
  ``410`` when it failed for good or its result expired. Only the application that asked
  (for a subscription job: only that subscription's token) sees a job; anyone else gets 404.
- The same request while its job is open: ``409`` naming the open job.

When the job is done the third party's notification URI gets a BatchList naming the job URI.
"""

from __future__ import annotations

import gzip
import uuid
from typing import TYPE_CHECKING, Final

from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.batches import BatchKind, BatchRequest, BatchStatus
from opencustodian.domain.consent import GrantKind
from opencustodian.jobs.batches import batch_environment, result_path
from opencustodian.kit.time import utc_now
from opencustodian.protocols.espi.query import FeedQuery, FeedQueryError, parse_feed_query
from opencustodian.services.access import AccessDeniedError, require_own_subscription
from opencustodian.services.batches import (
    Accepted,
    client_may_bulk,
    estimated_readings,
    job_uri,
    request_batch,
    request_key,
)
from opencustodian.storage.batches import SqlBatchStore
from opencustodian.storage.db import is_current, transaction
from opencustodian.storage.usage import SqlUsageStore
from opencustodian.web.api.espi_authorization import ATOM, authenticate, denied

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import BinaryIO

    from fastapi import FastAPI
    from starlette.requests import Request

    from opencustodian.domain.batches import BatchJob
    from opencustodian.domain.consent import AccessRecord
    from opencustodian.jobs.batches import BatchEnvironment
    from opencustodian.web.app import AppContext

ROOT: Final = "/espi/1_1/resource"
#: Seconds a third party is asked to wait before polling a job again (RFC 9110 §10.2.3).
RETRY_AFTER_SECONDS: Final = 60
MAX_BULK_ID_LENGTH: Final = 200
INSUFFICIENT_SCOPE: Final = "insufficient_scope"  # RFC 6750 §3.1
READ_BYTES: Final = 1 << 16


def install(app: FastAPI) -> None:
    """Register Bulk and the job resources; resume jobs a restart left waiting."""
    app.add_route(f"{ROOT}/Batch/Bulk/{{bulk_id}}", bulk_request, methods=["GET"])
    app.add_route(f"{ROOT}/Batch/Bulk/{{bulk_id}}/Job/{{job_id}}", bulk_job, methods=["GET"])
    app.add_route(
        f"{ROOT}/Batch/Subscription/{{subscription_id}}/Job/{{job_id}}",
        subscription_job,
        methods=["GET"],
    )
    app.router.on_startup.append(lambda: resume_waiting_jobs(app.state.context))


def environment(context: AppContext) -> BatchEnvironment:
    """The batch job environment of this app."""
    return batch_environment(context.settings, context.profile, context.base_url, context.engine)


def resume_waiting_jobs(context: AppContext) -> int:
    """Hand every waiting job to the job runner (state is in the database); how many.

    A database not yet migrated (to this code's head) is left alone: the app still starts,
    and ``/healthz`` tells the operator to run ``opencustodian init``.
    """
    if not is_current(context.engine):
        return 0
    with transaction(context.sessions) as session:
        waiting = SqlBatchStore(session).runnable(utc_now())
    for job_id in waiting:
        context.jobs.batch_requested(environment(context), job_id)
    return len(waiting)


def problem(status: int, error: str, description: str, **extra: str) -> JSONResponse:
    """A client error with a machine-readable code and a sentence."""
    body = {"error": error, "error_description": description, **extra}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def bulk_request(request: Request) -> Response:
    """``GET …/Batch/Bulk/{bulkId}``: always a job (202), or 409 naming an open one."""
    bulk_id = request.path_params["bulk_id"]
    if len(bulk_id) > MAX_BULK_ID_LENGTH:
        return problem(400, "invalid_request", "the bulk id is too long")
    try:
        query = parse_feed_query(request.query_params.multi_items())
    except FeedQueryError as error:
        return problem(400, "invalid_request", str(error))

    def run() -> Response:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                record = authenticate(request, session).record
                check_bulk_client(record)
            except AccessDeniedError as error:
                return denied(error)
            batch = _batch_request(
                request, record, BatchKind.BULK, subject=bulk_id, usage_point=None, query=query
            )
            accepted = request_batch(SqlBatchStore(session), batch, utc_now())
            session.commit()
        return _answer(context, accepted)

    return await run_in_threadpool(run)


async def deferred_subscription(request: Request) -> Response | None:
    """A job (202, or 409) instead of a Batch/Subscription feed estimated too large to stream.

    None lets the synchronous feed answer: a small read, and every refused or malformed
    request (the feed endpoint refuses them with the same statuses as always).
    """
    try:
        query = parse_feed_query(request.query_params.multi_items())
        raw_point = request.path_params.get("usage_point_id")
        usage_point = None if raw_point is None else uuid.UUID(raw_point)
    except (FeedQueryError, ValueError):
        return None
    subscription_id = request.path_params["subscription_id"]

    def run() -> Response | None:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                record = authenticate(request, session).record
                require_own_subscription(record, subscription_id, "usage data")
            except AccessDeniedError:
                return None
            estimate = estimated_readings(
                SqlUsageStore(context.engine),
                record,
                environment(context).feed,
                now=utc_now(),
                query=query,
                usage_point=usage_point,
            )
            if estimate <= context.profile.limits.sync_feed_max_readings:
                return None
            point = None if usage_point is None else str(usage_point)
            batch = _batch_request(
                request,
                record,
                BatchKind.SUBSCRIPTION,
                subject=subscription_id,
                usage_point=point,
                query=query,
            )
            accepted = request_batch(SqlBatchStore(session), batch, utc_now())
            session.commit()
        return _answer(context, accepted)

    return await run_in_threadpool(run)


async def bulk_job(request: Request) -> Response:
    """``GET …/Batch/Bulk/{bulkId}/Job/{jobId}``."""
    return await _job_resource(request, BatchKind.BULK, request.path_params["bulk_id"])


async def subscription_job(request: Request) -> Response:
    """``GET …/Batch/Subscription/{id}/Job/{jobId}``."""
    subscription_id = request.path_params["subscription_id"]
    return await _job_resource(request, BatchKind.SUBSCRIPTION, subscription_id)


def check_bulk_client(record: AccessRecord) -> None:
    """research/espi.md §5.4 (RBK002–RBK004): Bulk needs the client access token, FB 35."""
    if record.grant_kind is not GrantKind.CLIENT or not client_may_bulk(record.scope):
        description = "Bulk needs a client access token (client_credentials) with FB=35"
        raise AccessDeniedError(INSUFFICIENT_SCOPE, description, 403)


def _batch_request(  # noqa: PLR0913 - one deferred request has this many facts
    request: Request,
    record: AccessRecord,
    kind: BatchKind,
    *,
    subject: str,
    usage_point: str | None,
    query: FeedQuery,
) -> BatchRequest:
    grant_id = record.grant_id if kind is BatchKind.SUBSCRIPTION else None
    key = request_key(
        kind=kind,
        application_id=record.application_id,
        grant_id=grant_id,
        subject=subject,
        usage_point=usage_point,
        query=query,
    )
    return BatchRequest(
        kind=kind,
        application_id=record.application_id,
        grant_id=grant_id,
        subject=subject,
        usage_point=usage_point,
        query=request.url.query,
        self_href=str(request.url),
        key=key,
    )


def _answer(context: AppContext, accepted: Accepted) -> Response:
    """202 with the new job's ``Location`` (and start it), or 409 naming the open one."""
    uri = job_uri(context.base_url, accepted.job)
    if not accepted.created:
        return problem(
            409,
            "batch_pending",
            "the same request is already being prepared; fetch its result from the job URI "
            "(a notification names it when it is ready)",
            job=uri,
        )
    context.jobs.batch_requested(environment(context), accepted.job.id)
    return _pending(uri)


def _pending(uri: str) -> JSONResponse:
    return JSONResponse(
        {"status": "pending", "job": uri},
        status_code=202,
        headers={
            "Location": uri,
            "Retry-After": str(RETRY_AFTER_SECONDS),
            "Cache-Control": "no-store",
        },
    )


async def _job_resource(request: Request, kind: BatchKind, subject: str) -> Response:
    """A job's state, or its finished feed."""
    try:
        job_uuid = uuid.UUID(request.path_params["job_id"])
    except ValueError:
        return problem(404, "not_found", "no such job")

    def run() -> BatchJob | Response:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                record = authenticate(request, session).record
                if kind is BatchKind.BULK:
                    check_bulk_client(record)
                else:
                    require_own_subscription(record, subject, "usage data")
            except AccessDeniedError as error:
                return denied(error)
            job = SqlBatchStore(session).job(job_uuid)
        if job is None or not _visible(job, record, kind, subject):
            return problem(404, "not_found", "no such job")
        return job

    found = await run_in_threadpool(run)
    if isinstance(found, Response):
        return found
    context: AppContext = request.app.state.context
    if found.status.is_open:
        return _pending(job_uri(context.base_url, found))
    if found.status is BatchStatus.FAILED:
        return problem(
            410,
            "batch_failed",
            f"building this batch failed ({found.error}); request the resource again",
            resource=found.request.self_href,
        )
    path = result_path(environment(context), found)
    if path is None:
        return problem(
            410,
            "batch_expired",
            "this batch's result has expired; request the resource again",
            resource=found.request.self_href,
        )
    return _result(path, gzip="gzip" in request.headers.get("accept-encoding", ""))


def _visible(job: BatchJob, record: AccessRecord, kind: BatchKind, subject: str) -> bool:
    """Only the application that asked sees a job; a subscription job only its grant."""
    request = job.request
    same_resource = request.kind is kind and request.subject == subject
    if not same_resource or request.application_id != record.application_id:
        return False
    return kind is BatchKind.BULK or request.grant_id == record.grant_id


def _result(path: Path, *, gzip: bool) -> StreamingResponse:
    """The stored feed: the gzip file as it is, or decompressed while it streams."""
    # Opened now, so an expiry sweep deleting the file cannot cut a response short.
    handle = path.open("rb")
    headers = {
        "Content-Disposition": 'attachment; filename="GreenButtonDownload.xml"',
        "Cache-Control": "no-store",
        "Vary": "Accept-Encoding",
    }
    if gzip:
        headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(path.stat().st_size)
        return StreamingResponse(_read(handle), media_type=ATOM, headers=headers)
    return StreamingResponse(_decompressed(handle), media_type=ATOM, headers=headers)


def _read(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(READ_BYTES):
            yield chunk


def _decompressed(handle: BinaryIO) -> Iterator[bytes]:
    with handle, gzip.GzipFile(fileobj=handle) as feed:
        while chunk := feed.read(READ_BYTES):
            yield chunk
