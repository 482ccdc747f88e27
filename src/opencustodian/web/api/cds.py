"""The CDS Customer Data API (CDS-WG3-01 §10) under ``/cds/v1``.

Every listing takes a Bearer access token (RFC 6750), goes through the access choke point
(``services.access.check_bearer``) and ``services.cds_records.read_grants`` (aggregations,
no customer's records, through ``cds_records.check_aggregation_reader``), and answers the
listing envelope with exact decimals (``kit.exact_json``). Errors are RFC 9457 problem
details; an unknown or malformed parameter is a 400, never a silently ignored filter. Every
answered read is audited per grant, so the customer's access log shows it. The OpenAPI
document declares each listing's query parameters and its 200/400/401/403 answers.

Usage segments stream: the listing is planned as month units first (paging and the period
filters never read what they will not serve), then each unit's readings are read as the
response is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request  # noqa: TC002 - FastAPI reads route annotations

from opencustodian.domain.events import EventTag
from opencustodian.domain.record_rights import RecordKind
from opencustodian.kit import exact_json
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import utc_now
from opencustodian.protocols.cds import schema_catalog
from opencustodian.protocols.cds.listing import (
    MAX_FILTER_VALUES,
    MAX_OFFSET,
    MAX_PAGE,
    MAX_PARAMETER_LENGTH,
    ListingQuery,
    ListingQueryError,
    date_bound,
    datetime_bound,
    listing,
    page_links,
    parse_listing_query,
)
from opencustodian.protocols.cds.objects import Utility
from opencustodian.services import cds_records
from opencustodian.services.access import AccessDeniedError, bearer_token, check_bearer
from opencustodian.services.cds_records import CdsSettings, Listed, ReadGrant, read_grants
from opencustodian.services.cds_usage import plan_units, unit_segments
from opencustodian.storage.batches import SqlBatchStore
from opencustodian.storage.cds_catalog import SqlCdsCatalog
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.customers import SqlCustomerStore
from opencustodian.storage.statements import SqlStatementStore
from opencustodian.storage.usage import SqlUsageStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import date, datetime

    from fastapi import FastAPI
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from opencustodian.domain.batches import SharedGrant
    from opencustodian.domain.consent import AccessRecord
    from opencustodian.domain.customer_facts import CustomerRecord
    from opencustodian.domain.statements import BillRecord
    from opencustodian.web.app import AppContext

ROOT = "/cds/v1"
JSON = "application/json"
PROBLEM = "application/problem+json"


class CdsReader:
    """The storage reads of one request, behind the services' ports."""

    def __init__(self, session: Session, engine: Engine) -> None:
        """Read records through ``session`` and readings through ``engine`` (paged)."""
        self._customers = SqlCustomerStore(session)
        self._bills = SqlStatementStore(session)
        self._batches = SqlBatchStore(session)
        self._usage = SqlUsageStore(engine)
        self.catalog = SqlCdsCatalog(session)

    def customer_record(
        self, grant_id: int, customer_id: int, held_since: Sequence[tuple[int, date]]
    ) -> CustomerRecord:
        """See ``storage.customers``."""
        return self._customers.customer_record(grant_id, customer_id, held_since)

    def bills_for_grant(
        self, grant_id: int, held_since: Sequence[tuple[int, date]]
    ) -> list[BillRecord]:
        """See ``storage.statements``."""
        return self._bills.bills_for_grant(grant_id, held_since)

    def shared_grants(self, application_id: int, today: date) -> list[SharedGrant]:
        """See ``storage.batches``."""
        return self._batches.shared_grants(application_id, today)

    def service_points(self, ids: Sequence[int]) -> Any:  # noqa: ANN401 - storage's own type
        """See ``storage.usage``."""
        return self._usage.service_points(ids)

    def channels(self, service_point_ids: Sequence[int]) -> Any:  # noqa: ANN401
        """See ``storage.usage``."""
        return self._usage.channels(service_point_ids)

    def readings(self, channel_id: int, first: int, end: int) -> Any:  # noqa: ANN401
        """See ``storage.usage``."""
        return self._usage.readings(channel_id, first, end)


def cds_settings(context: AppContext) -> CdsSettings:
    """The custodian's CDS settings from its profile."""
    profile = context.profile
    utility = Utility(
        str(stable_uuid("cds-entity", context.base_url)),
        profile.short_name,
        profile.name,
        profile.short_name,
    )
    return CdsSettings(
        context.base_url, profile.time_zone, profile.limits.max_history_seconds, utility
    )


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """An RFC 9457 problem details response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(exact_json.encode(body), status, headers=headers, media_type=PROBLEM)


def denied(error: AccessDeniedError) -> Response:
    """RFC 6750 §3 refusal as a problem, with its ``WWW-Authenticate`` challenge."""
    challenge = f'Bearer error="{error.error}", error_description="{error.description}"'
    title = "Unauthorized" if error.status == 401 else "Forbidden"  # noqa: PLR2004
    response = problem(error.status, title, error.description, {"WWW-Authenticate": challenge})
    response.headers["X-Error"] = error.error
    return response


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One listing: its path, record kind, envelope key, filters and builder."""

    path: str
    kind: RecordKind | None
    key: str
    schema: str
    filters: tuple[str, ...]
    build: Callable[[CdsReader, Sequence[ReadGrant], CdsSettings, datetime], list[Listed]]


def _catalog_certificates(
    reader: CdsReader, grants: Sequence[ReadGrant], settings: CdsSettings, now: datetime
) -> list[Listed]:
    del settings
    return cds_records.certificates(reader, reader.catalog, grants, now)


def _catalog_aggregations(
    reader: CdsReader, grants: Sequence[ReadGrant], settings: CdsSettings, now: datetime
) -> list[Listed]:
    del grants, settings
    return cds_records.aggregations(reader.catalog, now)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "accounts",
        RecordKind.ACCOUNTS,
        "accounts",
        "AccountListing",
        ("cds_account_ids", "customer_numbers", "account_numbers", "account_statuses", "q"),
        cds_records.accounts,
    ),
    Endpoint(
        "service-contracts",
        RecordKind.SERVICE_CONTRACTS,
        "service_contracts",
        "ServiceContractListing",
        (
            "cds_servicecontract_ids",
            "account_numbers",
            "contract_numbers",
            "contract_statuses",
            "contract_types",
            "service_types",
            "q",
        ),
        cds_records.service_contracts,
    ),
    Endpoint(
        "service-points",
        RecordKind.SERVICE_POINTS,
        "service_points",
        "ServicePointListing",
        (
            "cds_servicepoint_ids",
            "servicepoint_numbers",
            "current_servicecontracts",
            "previous_servicecontracts",
            "q",
        ),
        cds_records.service_points,
    ),
    Endpoint(
        "meter-devices",
        RecordKind.METERS,
        "meter_devices",
        "MeterDeviceListing",
        (
            "cds_meterdevice_ids",
            "meter_number",
            "current_servicepoints",
            "previous_servicepoints",
            "q",
        ),
        cds_records.meter_devices,
    ),
    Endpoint(
        "bill-statements",
        RecordKind.BILLS,
        "bill_statements",
        "BillStatementListing",
        ("cds_billstatement_ids", "before", "after", "cds_account_ids", "account_numbers"),
        cds_records.bill_statements,
    ),
    Endpoint(
        "bill-sections",
        RecordKind.BILL_SECTIONS,
        "bill_sections",
        "BillSectionListing",
        (
            "cds_billsection_ids",
            "before",
            "after",
            "cds_billstatement_ids",
            "cds_account_ids",
            "account_numbers",
            "cds_servicecontract_ids",
            "contract_numbers",
        ),
        cds_records.bill_sections,
    ),
    Endpoint(
        "eacs",
        RecordKind.CERTIFICATES,
        "eacs",
        "EnergyAttributeCertificateListing",
        ("cds_eac_ids", "eac_numbers", "beneficiaries", "before", "after"),
        _catalog_certificates,
    ),
    Endpoint(
        "aggregations",
        None,
        "aggregations",
        "AggregationListing",
        ("cds_aggregation_ids", "aggregation_numbers", "aggregation_types", "q"),
        _catalog_aggregations,
    ),
)
USAGE_FILTERS = (
    "cds_usagesegment_ids",
    "before",
    "after",
    "cds_account_ids",
    "account_numbers",
    "cds_servicecontract_ids",
    "contract_numbers",
    "cds_servicepoint_ids",
    "servicepoint_numbers",
    "cds_meterdevice_ids",
    "meter_numbers",
    "cds_billsection_ids",
)
#: Usage pages count month units (one service point's channels over one local month).
USAGE_PAGE_UNITS = 12


def install(app: FastAPI) -> None:
    """Register every listing, each with its schema in the OpenAPI document."""
    for endpoint in ENDPOINTS:
        app.add_api_route(
            f"{ROOT}/{endpoint.path}",
            _listing_route(endpoint),
            methods=["GET"],
            name=f"cds_{endpoint.key}",
            summary=f"List {endpoint.key.replace('_', ' ')} (CDS-WG3-01 §10)",
            responses=_responses(endpoint.schema),
            response_class=Response,
            openapi_extra={"parameters": _query_parameters(endpoint.filters, MAX_PAGE)},
        )
    app.add_api_route(
        f"{ROOT}/usage-segments",
        usage_segments,
        methods=["GET"],
        name="cds_usage_segments",
        summary="List usage segments (CDS-WG3-01 §10.8)",
        responses=_responses("UsageSegmentListing"),
        response_class=Response,
        openapi_extra={"parameters": _query_parameters(USAGE_FILTERS, USAGE_PAGE_UNITS)},
    )
    with_cds_components(app)


def _query_parameters(filters: Sequence[str], default_limit: int) -> list[dict[str, Any]]:
    """The listing's query parameters for the OpenAPI document (``protocols.cds.listing``).

    The routes read the raw query (an unknown parameter is a 400, not ignored), so FastAPI
    cannot infer them: declared here, clients and API testers see the filters and paging
    the listing accepts.
    """
    text = {"type": "string", "maxLength": MAX_PARAMETER_LENGTH}
    when = {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
    }
    described = {
        "before": ("objects starting on or before this date (ISO 8601 date or date-time)", when),
        "after": ("objects ending on or after this date (ISO 8601 date or date-time)", when),
        "q": ("words the object's numbers, names or address contain", text),
    }
    listed = (
        f"space-separated values (at most {MAX_FILTER_VALUES}); an object passes when it has"
        " one of them"
    )
    parameters = [
        {"name": name, "in": "query", "required": False, "description": text_of, "schema": schema}
        for name in filters
        for text_of, schema in [described.get(name, (listed, text))]
    ]
    parameters += [
        {
            "name": "offset",
            "in": "query",
            "required": False,
            "description": "objects to skip (the next and previous links carry it)",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "objects per page",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE,
                "default": default_limit,
            },
        },
    ]
    return parameters


def with_cds_components(app: FastAPI) -> None:
    """Make the OpenAPI document carry the CDS schemas its responses refer to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(schema_catalog.openapi_components())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _responses(schema: str) -> dict[int | str, dict[str, Any]]:
    problem_body = {"content": {PROBLEM: {"schema": schema_catalog.openapi_ref("Problem")}}}
    return {
        200: {"content": {JSON: {"schema": schema_catalog.openapi_ref(schema)}}},
        400: {"description": "malformed query", **problem_body},
        401: {"description": "missing, unknown, expired or revoked token", **problem_body},
        403: {"description": "the token's scope does not open these records", **problem_body},
    }


def authenticated(request: Request, session: Session) -> AccessRecord:
    """The bearer token's access record, through the access choke point (raises if refused)."""
    context: AppContext = request.app.state.context
    return check_bearer(
        SqlConsentStore(session),
        bearer_token(request.headers.get("authorization")),
        key=context.key,
        now=utc_now(),
        zone=context.profile.time_zone,
    )


def _shared(reader: CdsReader, context: AppContext) -> Callable[[int], list[SharedGrant]]:
    today = utc_now().astimezone(context.profile.time_zone).date()
    return lambda application_id: reader.shared_grants(application_id, today)


def _listing_route(endpoint: Endpoint) -> Callable[[Request], Any]:
    async def route(request: Request) -> Response:
        return await run_in_threadpool(_answer_listing, request, endpoint)

    route.__doc__ = f"``GET {ROOT}/{endpoint.path}``: the {endpoint.key} listing."
    return route


def _answer_listing(request: Request, endpoint: Endpoint) -> Response:
    context: AppContext = request.app.state.context
    pairs = request.query_params.multi_items()
    try:
        query = parse_listing_query(pairs, endpoint.filters)
        bounds = (date_bound("before", query), date_bound("after", query))
    except ListingQueryError as error:
        return problem(400, "Bad Request", str(error))
    with context.sessions() as session:
        now = utc_now()
        try:
            record = authenticated(request, session)
            reader = CdsReader(session, context.engine)
            if endpoint.kind is None:
                # Aggregations are no customer's records: no grant is read for them.
                cds_records.check_aggregation_reader(record)
                grants: list[ReadGrant] = []
            else:
                grants = read_grants(record, endpoint.kind, _shared(reader, context), now)
        except AccessDeniedError as error:
            return denied(error)
        chosen = cds_records.select(
            endpoint.build(reader, grants, cds_settings(context), now), query, bounds
        )
        page = chosen[query.offset : query.offset + query.limit]
        _audit(session, record, grants, request.url.path, [item.id for item in page])
        session.commit()
    links = page_links(str(request.url).split("?")[0], pairs, query, len(chosen))
    body = listing(endpoint.key, [item.body for item in page], links)
    return Response(exact_json.encode(body), media_type=JSON)


def _audit(
    session: Session,
    record: AccessRecord,
    grants: Sequence[ReadGrant],
    path: str,
    ids: Sequence[str],
) -> None:
    """One data-read event per grant read (the customer's access log shows each)."""
    store = SqlConsentStore(session)
    for grant in grants:
        store.record_event(
            EventTag.CDS_DATA_READ,
            f"grant:{grant.grant_uuid}",
            {"api": "cds", "path": path, "objects": len(ids)},
            f"client:{record.client_id}",
        )


async def usage_segments(request: Request) -> Response:
    """``GET /cds/v1/usage-segments``: the usage listing, streamed."""
    planned = await run_in_threadpool(_plan_usage, request)
    if isinstance(planned, Response):
        return planned
    return StreamingResponse(iterate_in_threadpool(planned), media_type=JSON)


def _plan_usage(request: Request) -> Response | Iterator[bytes]:
    context: AppContext = request.app.state.context
    pairs = request.query_params.multi_items()
    try:
        query = parse_listing_query(pairs, USAGE_FILTERS, default_limit=USAGE_PAGE_UNITS)
        period = (datetime_bound("after", query), datetime_bound("before", query))
    except ListingQueryError as error:
        return problem(400, "Bad Request", str(error))
    settings = cds_settings(context)
    with context.sessions() as session:
        now = utc_now()
        try:
            record = authenticated(request, session)
            reader = CdsReader(session, context.engine)
            grants = read_grants(record, RecordKind.USAGE, _shared(reader, context), now)
        except AccessDeniedError as error:
            return denied(error)
        units = [
            unit
            for unit in plan_units(reader, grants, settings, now=now, period=period)
            if _unit_wanted(unit, query)
        ]
        _audit(session, record, grants, request.url.path, [])
        session.commit()
    page = units[query.offset : query.offset + query.limit]
    links = page_links(str(request.url).split("?")[0], pairs, query, len(units))
    return _usage_body(context, page, query, links, settings, now)


def _unit_wanted(unit: Any, query: ListingQuery) -> bool:  # noqa: ANN401 - a UsageUnit
    related = unit.related
    return all(
        (
            query.wants("cds_account_ids", *related.accounts),
            query.wants("cds_servicecontract_ids", *related.contracts),
            query.wants("cds_servicepoint_ids", *related.points),
            *(query.wants(name, *values) for name, values in unit.numbers.items()),
            query.wants("cds_meterdevice_ids", *related.meters),
            query.wants("contract_numbers", None),
            query.wants("cds_billsection_ids", None),
        )
    )


def _usage_body(  # noqa: PLR0913, PLR0917 - one streamed body has this many inputs
    context: AppContext,
    units: Sequence[Any],
    query: ListingQuery,
    links: tuple[str | None, str | None],
    settings: CdsSettings,
    now: datetime,
) -> Iterator[bytes]:
    wanted_ids = query.filters.get("cds_usagesegment_ids")
    yield b'{"usage_segments":['
    first = True
    with context.sessions() as session:
        reader = CdsReader(session, context.engine)
        for unit in units:
            for segment in unit_segments(reader, unit, settings, now):
                if wanted_ids is not None and segment["cds_usagesegment_id"] not in wanted_ids:
                    continue
                yield (b"" if first else b",") + exact_json.encode(segment)
                first = False
    tail = {"next": links[0], "previous": links[1]}
    yield b"]," + exact_json.encode(tail)[1:]
