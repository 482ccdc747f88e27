"""Helpers shared by the CDS functional tests: third parties, listing calls, exact bodies."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.functional.oauth.flows import unique_name

if TYPE_CHECKING:
    import httpx

    from tests.custodian import LiveCustodian, ThirdParty

#: Every CDS consent scope (authorization code flow).
EVERYTHING = "cds_accounts cds_service_contracts cds_meters cds_bill_statements cds_usage"
#: Every CDS direct-access query scope (client credentials).
EVERY_QUERY = (
    "cds_query_accounts cds_query_service_contracts cds_query_meter_devices "
    "cds_query_bill_statements cds_query_usage cds_query_aggregations"
)
#: Listing path → (envelope key, JSON Schema of the listing).
LISTINGS = {
    "accounts": ("accounts", "AccountListing"),
    "service-contracts": ("service_contracts", "ServiceContractListing"),
    "service-points": ("service_points", "ServicePointListing"),
    "meter-devices": ("meter_devices", "MeterDeviceListing"),
    "bill-statements": ("bill_statements", "BillStatementListing"),
    "bill-sections": ("bill_sections", "BillSectionListing"),
    "eacs": ("eacs", "EnergyAttributeCertificateListing"),
    "aggregations": ("aggregations", "AggregationListing"),
    "usage-segments": ("usage_segments", "UsageSegmentListing"),
}


def cds_party(server: LiveCustodian, scopes: str = EVERYTHING) -> ThirdParty:
    """A new third party registered for ``scopes`` (space-separated CDS scope ids)."""
    return server.register(unique_name(), scopes=(scopes,))


def get(
    http: httpx.Client, server: LiveCustodian, path: str, token: str, **params: str
) -> httpx.Response:
    """``GET /cds/v1/{path}`` with a Bearer token (none when ``token`` is empty)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.get(f"{server.base_url}/cds/v1/{path}", params=params, headers=headers)


def body_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a 200 answer, decimals exact."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = json.loads(response.text, parse_float=Decimal)
    return body
