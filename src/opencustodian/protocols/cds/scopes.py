"""The CDS scopes this custodian offers, and the canonical data scope each one means.

CDS-WG1-02 §3.4 lets a server choose its scope ids and publish each with a functional
``type`` (CDS-WG3-01 §6 defines the types); clients match on the type. Each scope here maps
onto one ``DataScope`` of function blocks (DESIGN "One canonical scope"), so the consent
engine, the access choke point and every interface judge a CDS grant exactly as they judge
an ESPI grant with the same blocks (``domain.record_rights``).

Consent scopes use the authorization code flow and refresh tokens; ``cds_query_*`` scopes and
``cds_client_admin`` use client credentials (CDS-WG3-01 §6: "direct access"). A query token
reads nothing a customer did not consent to: it reaches the records of the client's active
customer grants, each under that grant's own scope (``services.cds_records``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from opencustodian.domain.scopes import DataScope, FunctionBlock

_FB = FunctionBlock
CODE_FLOW: Final = ("authorization_code", "refresh_token")
CLIENT_FLOW: Final = ("client_credentials",)

_ACCOUNT_BLOCKS: Final = frozenset(
    {
        _FB.CUSTOMER_CONNECT_MY_DATA,
        _FB.CUSTOMER_BASIC_INFORMATION,
        _FB.CUSTOMER_ADDRESS,
        _FB.CUSTOMER_BILLING_INFORMATION,
    }
)
_CONTRACT_BLOCKS: Final = frozenset(
    {_FB.CUSTOMER_CONNECT_MY_DATA, _FB.CUSTOMER_AGREEMENTS, _FB.CUSTOMER_SERVICE_LOCATIONS}
)
_METER_BLOCKS: Final = frozenset(
    {_FB.CUSTOMER_CONNECT_MY_DATA, _FB.CUSTOMER_SERVICE_LOCATIONS, _FB.CUSTOMER_METERS}
)
_BILL_BLOCKS: Final = frozenset({_FB.USAGE_SUMMARY, _FB.USAGE_SUMMARY_WITH_COST})
_USAGE_BLOCKS: Final = frozenset(
    {
        _FB.COMMON,
        _FB.CONNECT_MY_DATA,
        _FB.INTERVAL_METERING,
        _FB.ELECTRICITY_INTERVAL_METERING,
        _FB.FORWARD_AND_REVERSE_METERING,
        _FB.GAS_INTERVAL_METERING,
        _FB.WATER_INTERVAL_METERING,
        _FB.INTERVAL_COST,
    }
)


@dataclass(frozen=True, slots=True)
class CdsScope:
    """One offered scope (CDS-WG1-02 §3.4 Scope Description, the fields we decide)."""

    id: str
    type: str
    name: str
    description: str
    grant_types: tuple[str, ...]
    data: DataScope

    @property
    def is_consent_scope(self) -> bool:
        """Whether a customer grants it (authorization code flow)."""
        return "authorization_code" in self.grant_types


def _consent(scope_id: str, name: str, description: str, blocks: frozenset[int]) -> CdsScope:
    return CdsScope(scope_id, scope_id, name, description, CODE_FLOW, DataScope(blocks))


def _query(scope_id: str, name: str, description: str, blocks: frozenset[int]) -> CdsScope:
    return CdsScope(scope_id, scope_id, name, description, CLIENT_FLOW, DataScope(blocks))


CDS_SCOPES: Final[tuple[CdsScope, ...]] = (
    _consent(
        "cds_accounts",
        "Account List",
        "The customer's accounts: numbers, status, name, contacts and mailing address.",
        _ACCOUNT_BLOCKS,
    ),
    _consent(
        "cds_service_contracts",
        "Service List",
        "The customer's service contracts (rate plans, dates) and service points.",
        _CONTRACT_BLOCKS,
    ),
    _consent(
        "cds_meters",
        "Meter List",
        "The customer's service points and the meters installed there.",
        _METER_BLOCKS,
    ),
    _consent(
        "cds_bill_statements",
        "Bill Statements",
        "The customer's bills: statements and their sections, usage, charges and amounts.",
        _BILL_BLOCKS,
    ),
    _consent(
        "cds_usage",
        "Meter Usage",
        "Interval usage of the shared service points, with cost and reading quality.",
        _USAGE_BLOCKS,
    ),
    CdsScope(
        "cds_client_admin",
        "cds_client_admin",
        "Client administration",
        "Read this client's registration and manage the grants it holds.",
        CLIENT_FLOW,
        DataScope(),
    ),
    _query(
        "cds_query_accounts",
        "Account Query",
        "Accounts of every customer who granted this client access to them.",
        _ACCOUNT_BLOCKS,
    ),
    _query(
        "cds_query_service_contracts",
        "Service Contract Query",
        "Service contracts and service points of every customer who granted them.",
        _CONTRACT_BLOCKS,
    ),
    _query(
        "cds_query_meter_devices",
        "Meter Device Query",
        "Service points and meters of every customer who granted them.",
        _METER_BLOCKS,
    ),
    _query(
        "cds_query_bill_statements",
        "Bill Query",
        "Bill statements and sections of every customer who granted them.",
        _BILL_BLOCKS,
    ),
    _query(
        "cds_query_usage",
        "Usage Query",
        "Usage segments of every customer who granted usage.",
        _USAGE_BLOCKS,
    ),
    _query(
        "cds_query_aggregations",
        "Aggregation Query",
        "The utility's published aggregations (no customer data).",
        frozenset(),
    ),
)
SCOPES_BY_ID: Final[dict[str, CdsScope]] = {scope.id: scope for scope in CDS_SCOPES}
CLIENT_ADMIN: Final = "cds_client_admin"
AGGREGATION_QUERY: Final = "cds_query_aggregations"


def cds_scope(scope_id: str) -> CdsScope | None:
    """The offered scope with this id, if any."""
    return SCOPES_BY_ID.get(scope_id)
