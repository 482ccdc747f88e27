"""Connect My Data retail-customer resources (customer.xsd; research/espi.md §2.4, §5.4).

- ``GET …/Batch/RetailCustomer/{subscriptionId}`` (the token response's
  ``customerResourceURI``): every Customer, CustomerAccount, CustomerAgreement,
  ServiceLocation, Meter and ServiceSupplier entry the grant's scope releases;
- the member and collection forms the feed's ``self`` and ``up`` hrefs name, under
  ``…/RetailCustomer/{subscriptionId}/Customer…`` and ``…/ServiceSupplier…``: one entry as
  an Atom ``entry`` document, or a collection as a feed (404 when the grant shows nothing
  there).

Only a customer access token of that very subscription may read them (403 otherwise, and 403
``insufficient_scope`` without FB 53); every read is audited with the resource kinds it
returned. Query parameters are checked strictly (400 when malformed) but do not filter: the
feed is a handful of entries and is always served whole. Gzip on request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.events import EventTag
from opencustodian.kit.time import utc_now
from opencustodian.protocols.espi.customer_feed import (
    collection_at,
    customer_feed,
    entry_at,
    entry_document,
)
from opencustodian.protocols.espi.query import FeedQueryError, parse_feed_query
from opencustodian.protocols.espi.uris import RESOURCE_ROOT
from opencustodian.services.access import AccessDeniedError, require_own_subscription
from opencustodian.services.customer_feeds import (
    CustomerFeedPlan,
    CustomerFeedSettings,
    plan_customer_feed,
)
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.customers import SqlCustomerStore
from opencustodian.web.api.espi_authorization import ATOM, authenticate, denied
from opencustodian.web.api.espi_usage import gzipped, problem

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request

    from opencustodian.protocols.espi.customer_feed import CustomerEntry
    from opencustodian.web.app import AppContext


def install(app: FastAPI) -> None:
    """Register the retail-customer endpoints."""
    app.add_route(
        f"{RESOURCE_ROOT}/Batch/RetailCustomer/{{subscription_id}}", customer_batch, ["GET"]
    )
    member = f"{RESOURCE_ROOT}/RetailCustomer/{{subscription_id}}"
    for kind in ("Customer", "ServiceSupplier"):
        app.add_route(f"{member}/{kind}", customer_member, ["GET"])
        app.add_route(f"{member}/{kind}/{{rest:path}}", customer_member, ["GET"])


async def customer_batch(request: Request) -> Response:
    """``…/Batch/RetailCustomer/{id}``: the whole feed."""
    return await _serve(request, whole=True)


async def customer_member(request: Request) -> Response:
    """``…/RetailCustomer/{id}/Customer/…``: the entry or collection at that path."""
    return await _serve(request, whole=False)


async def _serve(request: Request, *, whole: bool) -> Response:
    try:
        parse_feed_query(request.query_params.multi_items())
    except FeedQueryError as error:
        return problem(400, "invalid_request", str(error))

    def run() -> Response:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                record = authenticate(request, session).record
                require_own_subscription(
                    record, request.path_params["subscription_id"], "retail customer data"
                )
                plan = plan_customer_feed(
                    SqlCustomerStore(session),
                    record,
                    feed_settings(context),
                    now=utc_now(),
                    self_href=str(request.url),
                )
            except AccessDeniedError as error:
                return denied(error)
            answer = _answer(plan, request.url.path, whole=whole)
            if answer is None:
                return problem(404, "not_found", "this authorization shows nothing at that path")
            body, entries = answer
            SqlConsentStore(session).record_event(
                EventTag.DATA_READ,
                f"grant:{record.grant_uuid}",
                {
                    "path": request.url.path,
                    "customer_resources": sorted({entry.resource for entry in entries}),
                },
                f"client:{record.client_id}",
            )
            session.commit()
        return _response(body, gzip="gzip" in request.headers.get("accept-encoding", ""))

    return await run_in_threadpool(run)


def feed_settings(context: AppContext) -> CustomerFeedSettings:
    """The custodian's retail-customer feed settings from its profile."""
    profile = context.profile
    return CustomerFeedSettings(
        base_url=context.base_url,
        zone=profile.time_zone,
        supplier_name=profile.name,
        currency=profile.currency,
        certification_href=profile.certification_url,
    )


def _answer(
    plan: CustomerFeedPlan, path: str, *, whole: bool
) -> tuple[bytes, list[CustomerEntry]] | None:
    """The document for ``path`` and the entries it holds; None when there is nothing."""
    if whole:
        return customer_feed(plan.meta, plan.entries), plan.entries
    relative = path.partition(f"{RESOURCE_ROOT}/")[2]
    entry = entry_at(plan.entries, relative)
    if entry is not None:
        return entry_document(entry), [entry]
    members = collection_at(plan.entries, relative)
    if not members:
        return None
    return customer_feed(plan.meta, members), members


def _response(body: bytes, *, gzip: bool) -> Response:
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if gzip:
        headers["Content-Encoding"] = "gzip"
        body = b"".join(gzipped(iter([body])))
    return Response(body, media_type=ATOM, headers=headers)
