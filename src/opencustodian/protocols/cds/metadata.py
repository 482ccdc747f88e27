"""CDS discovery: server metadata, coverage and the CDS members of the OAuth metadata.

- CDS-WG1-01 §3 server metadata (``/.well-known/cds-server-metadata.json``) names this
  custodian, its ``coverage`` listing and (CDS-WG1-02 §3.1) its ``oauth_metadata`` URL;
- CDS-WG1-01 §4 coverage: one entry, the utility's own service territory, ``logical`` because
  this server holds no map of it (a ``geographic`` entry needs a map or GeoJSON);
- CDS-WG1-02 §3.2 and CDS-WG3-01 §5: the ``cds_*`` members merged into the RFC 8414 document,
  with one Scope Description (§3.4) per offered scope and the authorization details fields
  (§3.8, WG3-01 §7) the consent page honours.

Deliberate deviations, also written in ``AuthorizationServerMetadata.schema.json``: no Messages,
Credentials or Server-Provided Files API and no PAR endpoint are advertised because this server
has none, nor an RFC 7591 ``registration_endpoint`` (third parties are registered by the
operator; ESPI's ApplicationInformation resource is a per-client configuration endpoint), nor
``cds_test_accounts``, ``op_policy_uri`` or ``op_tos_uri`` unless the profile names the page.
Nothing here answers HTTP: the web layer serves these dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from opencustodian.domain.consent import default_duration
from opencustodian.domain.metering import Commodity
from opencustodian.kit.ids import stable_uuid
from opencustodian.protocols.cds import authorization_details
from opencustodian.protocols.cds.objects import instant
from opencustodian.protocols.cds.scopes import CDS_SCOPES, CLIENT_ADMIN

if TYPE_CHECKING:
    from collections.abc import Iterable

    from opencustodian.protocols.cds.scopes import CdsScope

JsonObject = dict[str, object]

CDS_METADATA_PATH: Final = "/.well-known/cds-server-metadata.json"
#: The pre-2025 well-known name existing clients still fetch (research/cds.md §1).
LEGACY_METADATA_PATH: Final = "/.well-known/carbon-data-spec.json"
OAUTH_METADATA_PATH: Final = "/.well-known/oauth-authorization-server"
CDS_ROOT: Final = "/cds/v1"
COVERAGE_PATH: Final = f"{CDS_ROOT}/coverage"
GRANTS_PATH: Final = f"{CDS_ROOT}/grants"
CLIENTS_PATH: Final = f"{CDS_ROOT}/clients"
INTROSPECTION_PATH: Final = "/oauth/introspect"
DOCS_PATH: Final = "/docs"

#: When this server's discovery documents last changed shape: their ``created``/``updated``.
#: A constant, so every process of one deployment serves byte-identical documents (one ETag).
METADATA_REVISED: Final = datetime(2026, 11, 22, tzinfo=UTC)

#: CDS-WG3-01 §5 metadata member → the Customer Data listing under ``CDS_ROOT``.
CUSTOMER_DATA_APIS: Final[dict[str, str]] = {
    "cds_accounts_api": "accounts",
    "cds_servicecontracts_api": "service-contracts",
    "cds_servicepoints_api": "service-points",
    "cds_meterdevices_api": "meter-devices",
    "cds_billstatement_api": "bill-statements",
    "cds_billsection_api": "bill-sections",
    "cds_usagesegments_api": "usage-segments",
    "cds_eacs_api": "eacs",
    "cds_aggregations_api": "aggregations",
}

#: WG1-01 §4.7 commodity type of each commodity this data model meters.
COMMODITY_TYPES: Final = {
    Commodity.ELECTRICITY: "electricity",
    Commodity.GAS: "natural_gas",
    Commodity.WATER: "water",
}

CONFIDENTIAL_AUTH: Final = ("client_secret_basic", "client_secret_post")
PUBLIC_AUTH: Final = "none"
CODE_RESPONSE: Final = "code"
PKCE_METHODS: Final = ("S256",)


@dataclass(frozen=True, slots=True)
class Site:
    """What the discovery documents say about this custodian (its profile, its base URL)."""

    base_url: str
    name: str
    short_name: str
    time_zone: str
    state: str
    max_authorization_days: int
    history_years: int
    country: str = "US"
    support_url: str | None = None
    registration_url: str | None = None
    policy_url: str | None = None
    terms_url: str | None = None

    def url(self, path: str) -> str:
        """An absolute URL on this server."""
        return f"{self.base_url}{path}"

    @property
    def documentation(self) -> str:
        """The developer documentation (the OpenAPI pages)."""
        return self.url(DOCS_PATH)

    @property
    def coverage_id(self) -> str:
        """The one coverage entry's id (stable for a base URL)."""
        return str(stable_uuid("cds-coverage", self.base_url))


# -- authorization details fields (CDS-WG1-02 §3.8, CDS-WG3-01 §7) ---------------------------

_NO_DEFAULT: Final = object()


@dataclass(frozen=True, slots=True)
class DetailsField:
    """One authorization details field: how the Scope Descriptions describe it.

    ``scope_types`` limits it to scopes of those types (None: every consent scope);
    ``default``/``minimum``/``maximum`` are the wire values (durations as ISO 8601).
    """

    id: str
    name: str
    description: str
    format: str
    scope_types: frozenset[str] | None = None
    default: object = _NO_DEFAULT
    minimum: str | None = None
    maximum: str | None = None

    def applies_to(self, scope: CdsScope) -> bool:
        """Whether ``scope`` accepts this field."""
        return scope.is_consent_scope and (
            self.scope_types is None or scope.type in self.scope_types
        )

    def as_json(self, scope_id: str, documentation: str) -> JsonObject:
        """The Authorization Details Field object for the scope ``scope_id``."""
        body: JsonObject = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "documentation": documentation,
            "for_types": [scope_id],
            "format": self.format,
            "is_required": False,
        }
        if self.default is not _NO_DEFAULT:
            body["default"] = self.default
        if self.minimum is not None and self.maximum is not None:
            body["minimum"] = self.minimum
            body["maximum"] = self.maximum
        return body


def details_fields(max_authorization_days: int, history_years: int) -> tuple[DetailsField, ...]:
    """Every authorization details field this custodian describes, under its policy limits.

    ``expires`` runs from an hour to the longest authorization the utility allows (the
    consent page's default is preselected); ``segment_start`` reaches back at most the
    history the utility keeps. Preselections accept ``"_all"``; ``null`` leaves the choice
    to the customer.
    """
    every = authorization_details.ALL
    return (
        DetailsField(
            "account_numbers",
            "Accounts",
            f'Account numbers to preselect on the consent page; "{every}" selects every account.',
            "string_list_or_null",
            default=None,
        ),
        DetailsField(
            "servicepoint_numbers",
            "Service points",
            f'Service point numbers to preselect; "{every}" selects every service point.',
            "string_list_or_null",
            default=None,
        ),
        DetailsField(
            "expires",
            "Expires",
            "When the grant ends: a duration from approval, a datetime, or "
            f'"{authorization_details.INFINITE}" for the longest the utility allows.',
            "relative_or_absolute_datetime",
            default=f"P{default_duration(max_authorization_days).days}D",
            minimum="PT1H",
            maximum=f"P{max_authorization_days}D",
        ),
        DetailsField(
            "segment_start",
            "Usage history",
            "The earliest usage shared: a duration back from approval, or a datetime.",
            "relative_or_absolute_datetime",
            scope_types=frozenset({"cds_usage"}),
            default=f"P{history_years}Y",
            minimum="PT0S",
            maximum=f"P{history_years}Y",
        ),
    )


def advertised_fields(site: Site) -> tuple[DetailsField, ...]:
    """The described fields the consent page's parser accepts (only those are advertised)."""
    accepted = set(authorization_details.SUPPORTED_FIELDS)
    return tuple(
        field
        for field in details_fields(site.max_authorization_days, site.history_years)
        if field.id in accepted
    )


# -- scope descriptions (CDS-WG1-02 §3.4) -----------------------------------------------------


def scope_description(scope: CdsScope, site: Site) -> JsonObject:
    """The Scope Description of one offered scope."""
    consent = scope.is_consent_scope
    methods = [*CONFIDENTIAL_AUTH, PUBLIC_AUTH] if consent else list(CONFIDENTIAL_AUTH)
    fields = [
        field.as_json(scope.id, site.documentation)
        for field in advertised_fields(site)
        if field.applies_to(scope)
    ]
    return {
        "id": scope.id,
        "type": scope.type,
        "name": scope.name,
        "description": scope.description,
        "documentation": site.documentation,
        "registration_requirements": [],
        "registration_optional": [],
        "response_types_supported": [CODE_RESPONSE] if consent else [],
        "grant_types_supported": list(scope.grant_types),
        "token_endpoint_auth_methods_supported": methods,
        "code_challenge_methods_supported": list(PKCE_METHODS) if consent else [],
        # §3.3.1: client administration covers no territory; everything else covers ours.
        "coverages_supported": [] if scope.id == CLIENT_ADMIN else [site.coverage_id],
        "grant_admin_scope": None,
        "authorization_details_types_supported": [scope.id] if consent else [],
        "authorization_details_fields_supported": fields,
    }


def consent_scope_ids() -> list[str]:
    """The scope ids a customer grants (the RAR types this server accepts)."""
    return [scope.id for scope in CDS_SCOPES if scope.is_consent_scope]


def authorization_server_fields(site: Site) -> JsonObject:
    """The CDS members of the RFC 8414 document (CDS-WG1-02 §3.2, CDS-WG3-01 §5).

    ``authorization_details_types_supported`` lists the consent scopes only: RAR is accepted
    on the consent page, not on client-credentials token requests.
    """
    fields: JsonObject = {
        "scopes_supported": [scope.id for scope in CDS_SCOPES],
        "authorization_details_types_supported": consent_scope_ids(),
        "cds_oauth_version": "v1",
        "cds_human_registration": site.registration_url or site.documentation,
        "cds_timezone": site.time_zone,
        "cds_clients_api": site.url(CLIENTS_PATH),
        "cds_grants_api": site.url(GRANTS_PATH),
        "cds_scope_descriptions": {
            scope.id: scope_description(scope, site) for scope in CDS_SCOPES
        },
        "cds_registration_fields": {},
        "cds_customerdata_version": "v1",
        **{member: site.url(f"{CDS_ROOT}/{path}") for member, path in CUSTOMER_DATA_APIS.items()},
        "cds_usagesegments_additional_value_types": {},
        "cds_eac_formats": {},
    }
    if site.policy_url:
        fields["op_policy_uri"] = site.policy_url
    if site.terms_url:
        fields["op_tos_uri"] = site.terms_url
    return fields


# -- server metadata and coverage (CDS-WG1-01 §3, §4) -----------------------------------------


def server_metadata(site: Site) -> JsonObject:
    """The CDS Server Metadata object."""
    revised = instant(METADATA_REVISED)
    return {
        "cds_metadata_version": "v1",
        "cds_metadata_url": site.url(CDS_METADATA_PATH),
        "created": revised,
        "updated": revised,
        "name": site.name,
        "description": (
            f"{site.name} ({site.short_name}): customer energy data shared with the customer's "
            "consent, over CDS Customer Data and Green Button Connect My Data."
        ),
        "website": site.url("/"),
        "documentation": site.documentation,
        "support": site.support_url or site.documentation,
        "capabilities": ["coverage", "oauth"],
        "coverage": site.url(COVERAGE_PATH),
        "oauth_metadata": site.url(OAUTH_METADATA_PATH),
    }


def coverage_entry(site: Site, commodities: Iterable[Commodity]) -> JsonObject:
    """The utility's one coverage entry: what it serves, where, in which roles."""
    revised = instant(METADATA_REVISED)
    served = sorted({COMMODITY_TYPES[commodity] for commodity in commodities})
    return {
        "id": site.coverage_id,
        "created": revised,
        "updated": revised,
        "entity_name": site.name,
        "entity_abbreviation": site.short_name,
        "entity_number": site.short_name,
        "country": site.country,
        "name": f"{site.name} service territory",
        "description": f"Customers served by {site.name} in {site.state}.",
        "type": "logical",
        "role": "authoritative",
        "infrastructure_types": ["distribution_utility", "metering_provider", "supplier"],
        "commodity_types": served,
        "capabilities": ["oauth"],
    }
