"""ESPI resource-level forms: one kind of entry at a time (research/espi.md §2.2, §2.3).

- XPath forms, under the path's own subscription:
  ``…/Subscription/{s}/UsagePoint[/{u}]``, ``…/UsagePoint/{u}/MeterReading[/{m}]``,
  ``…/MeterReading/{m}/IntervalBlock[/{b}]`` and ``…/UsagePoint/{u}/UsageSummary[/{id}]``;
- root forms, limited to the token's subscription (never every row of the database, which
  is what the reference implementation's root collections export): ``…/UsagePoint``,
  ``…/MeterReading``, ``…/IntervalBlock``, ``…/ReadingType``, ``…/LocalTimeParameters`` and
  ``…/UsageSummary``, each with ``/{id}``. Feeds link to ReadingType and LocalTimeParameters
  members, so every href a feed holds can be fetched.

A collection answers a feed of that kind's entries only (the Batch forms carry whole trees);
a member answers its entry as the document root, or 404. The same access rules as the Batch
feeds apply (function blocks, history, tenure, authorized period), as does the audit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from opencustodian.kit.time import utc_now
from opencustodian.protocols.espi.query import FeedQuery, FeedQueryError, parse_feed_query
from opencustodian.protocols.espi.usage_feed import Selection, resource_entry, resource_feed
from opencustodian.services.usage_feeds import Focus, plan_subscription_feed
from opencustodian.storage.usage import SqlUsageStore
from opencustodian.web.api.espi_authorization import ATOM
from opencustodian.web.api.espi_usage import (
    ROOT,
    audited_plan,
    feed_settings,
    problem,
    streamed,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fastapi import FastAPI
    from starlette.requests import Request

    from opencustodian.domain.consent import AccessRecord
    from opencustodian.services.usage_feeds import FeedPlan
    from opencustodian.web.app import AppContext

_XPATH = f"{ROOT}/Subscription/{{subscription_id}}/UsagePoint"
_POINT = f"{_XPATH}/{{usage_point_id}}"
_READING = f"{_POINT}/MeterReading/{{meter_reading_id}}"
_ALL = FeedQuery()


@dataclass(frozen=True, slots=True)
class ResourceRoute:
    """One resource-level path: the kind it serves and the path parameter naming a member."""

    path: str
    kind: str
    member: str | None = None


ROUTES = (
    ResourceRoute(_XPATH, "UsagePoint"),
    ResourceRoute(_POINT, "UsagePoint", "usage_point_id"),
    ResourceRoute(f"{_POINT}/MeterReading", "MeterReading"),
    ResourceRoute(_READING, "MeterReading", "meter_reading_id"),
    ResourceRoute(f"{_READING}/IntervalBlock", "IntervalBlock"),
    ResourceRoute(f"{_READING}/IntervalBlock/{{entry_id}}", "IntervalBlock", "entry_id"),
    ResourceRoute(f"{_POINT}/UsageSummary", "UsageSummary"),
    ResourceRoute(f"{_POINT}/UsageSummary/{{entry_id}}", "UsageSummary", "entry_id"),
    *(
        route
        for kind in (
            "UsagePoint",
            "MeterReading",
            "IntervalBlock",
            "ReadingType",
            "LocalTimeParameters",
            "UsageSummary",
        )
        for route in (
            ResourceRoute(f"{ROOT}/{kind}", kind),
            ResourceRoute(f"{ROOT}/{kind}/{{entry_id}}", kind, "entry_id"),
        )
    ),
)


def install(app: FastAPI) -> None:
    """Register every resource-level form."""
    for route in ROUTES:
        app.add_route(route.path, _handler(route), methods=["GET"])


def _handler(route: ResourceRoute) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving ``route`` (named after it, for logs and /docs)."""

    async def endpoint(request: Request) -> Response:
        return await resource(request, route)

    endpoint.__name__ = f"espi_{route.kind}_{'member' if route.member else 'collection'}"
    endpoint.__doc__ = f"ESPI {route.kind} {'entry' if route.member else 'feed'}."
    return endpoint


async def resource(request: Request, route: ResourceRoute) -> Response:
    """A collection feed or a member entry of ``route.kind`` (module docstring)."""
    try:
        query = parse_feed_query(request.query_params.multi_items())
    except FeedQueryError as error:
        return problem(400, "invalid_request", str(error))
    try:
        focus = _focus(request.path_params, route)
        selection = Selection(route.kind, _uuid(request.path_params.get(route.member or "")))
    except ValueError:
        return problem(404, "not_found", "no such resource in this subscription")

    def build(record: AccessRecord, context: AppContext) -> FeedPlan:
        return plan_subscription_feed(
            SqlUsageStore(context.engine),
            record,
            feed_settings(context),
            now=utc_now(),
            query=_ALL if selection.entry_id else query,
            self_href=str(request.url),
            focus=focus,
        )

    subscription_id = request.path_params.get("subscription_id")
    planned = await run_in_threadpool(audited_plan, request, subscription_id, build)
    if isinstance(planned, Response):
        return planned
    if selection.entry_id is None:
        chunks = resource_feed(planned.meta, planned.local_time, planned.usage_points, selection)
        gzip = "gzip" in request.headers.get("accept-encoding", "")
        return streamed(planned, gzip=gzip, chunks=chunks)
    return await run_in_threadpool(_member, planned, selection)


def _member(plan: FeedPlan, selection: Selection) -> Response:
    """The member entry, or 404 (written in a worker thread: it may read readings)."""
    entry = resource_entry(plan.meta, plan.local_time, plan.usage_points, selection)
    if entry is None:
        return problem(404, "not_found", "no such resource in this subscription")
    return Response(entry, media_type=ATOM, headers={"Cache-Control": "no-store"})


def _focus(params: dict[str, str], route: ResourceRoute) -> Focus:
    """What the path reaches; ``ValueError`` when an id in it is no UUID."""
    return Focus(
        usage_point=_uuid(params.get("usage_point_id")),
        meter_reading=_uuid(params.get("meter_reading_id")),
        with_blocks=route.kind == "IntervalBlock",
    )


def _uuid(raw: str | None) -> uuid.UUID | None:
    return None if not raw else uuid.UUID(raw)
