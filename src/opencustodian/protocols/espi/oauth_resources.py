"""ESPI's OAuth exchange resources, ApplicationInformation and Authorization, as values.

espi.xsd 4.0 "ESPI OAuth Exchange Class Resource Types": both extend ``IdentifiedObject`` and
are sequences of simple elements, written here in schema order from the `WireField` tables
below. Optional elements whose value is ``None`` (or an empty tuple) are omitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from lxml import etree

from opencustodian.protocols.espi.names import espi
from opencustodian.protocols.espi.oauth_codes import (
    ALL_GRANT_TYPES,
    GRANT_TYPES,
    OAUTH_ERRORS,
    AuthorizationStatus,
    DataCustodianApplicationStatus,
    ThirdPartyApplicationStatus,
    ThirdPartyApplicationType,
    ThirdPartyApplicationUse,
)
from opencustodian.protocols.espi.wire_fields import Kind, WireField, element_texts
from opencustodian.protocols.limits import UINT32_MAX

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(frozen=True, slots=True)
class Period:
    """espi.xsd ``DateTimeInterval``: an aware start and a length in seconds (0 = open-ended)."""

    start: datetime
    duration: int


@dataclass(frozen=True, slots=True)
class ApplicationInformationEntry:
    """Every element of espi.xsd ``ApplicationInformation`` (snake_case of the wire names).

    ``client_secret`` and ``registration_access_token`` are given only when issued; espi.xsd
    requires both elements, so otherwise they are written empty. ``client_secret_expires_at``
    ``None`` is written ``0`` ("never expires").
    """

    data_custodian_id: str
    data_custodian_application_status: DataCustodianApplicationStatus
    third_party_notify_uri: str
    authorization_server_authorization_endpoint: str
    authorization_server_token_endpoint: str
    data_custodian_bulk_request_uri: str
    data_custodian_resource_endpoint: str
    client_name: str
    redirect_uris: tuple[str, ...]
    client_id: str
    software_id: str
    software_version: str
    client_id_issued_at: datetime
    scopes: tuple[str, ...]
    registration_client_uri: str
    third_party_application_description: str | None = None
    third_party_application_status: ThirdPartyApplicationStatus | None = None
    third_party_application_type: ThirdPartyApplicationType | None = None
    third_party_application_use: ThirdPartyApplicationUse | None = None
    third_party_phone: str | None = None
    authorization_server_uri: str | None = None
    authorization_server_registration_endpoint: str | None = None
    third_party_scope_selection_screen_uri: str | None = None
    third_party_user_portal_screen_uri: str | None = None
    client_secret: str | None = None
    logo_uri: str | None = None
    client_uri: str | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    client_secret_expires_at: datetime | None = None
    contacts: tuple[str, ...] = ()
    token_endpoint_auth_method: str = "client_secret_basic"  # noqa: S105 - a method name
    grant_types: tuple[str, ...] = ALL_GRANT_TYPES
    response_types: str = "code"
    registration_access_token: str | None = None
    data_custodian_scope_selection_screen_uri: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationEntry:
    """Every element of espi.xsd ``Authorization`` (no token is ever carried in 4.0)."""

    status: AuthorizationStatus
    expires_at: datetime
    scope: str
    resource_uri: str
    authorization_uri: str
    authorized_period: Period | None = None
    published_period: Period | None = None
    grant_type: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a token
    error: str | None = None
    error_description: str | None = None
    error_uri: str | None = None
    customer_resource_uri: str | None = None


def _optional(
    wire: str, attr: str, kind: Kind = Kind.TEXT, max_length: int | None = None
) -> WireField:
    return WireField(wire, attr, kind, max_length, min_occurs=0)


_URI: Final = Kind.URI
# espi.xsd ApplicationInformation, in sequence order.
APPLICATION_INFORMATION_FIELDS: Final = (
    WireField("dataCustodianId", "data_custodian_id", max_length=64),
    WireField("dataCustodianApplicationStatus", "data_custodian_application_status", Kind.CODE),
    _optional(
        "thirdPartyApplicationDescription", "third_party_application_description", max_length=256
    ),
    _optional("thirdPartyApplicationStatus", "third_party_application_status", Kind.CODE),
    _optional("thirdPartyApplicationType", "third_party_application_type", Kind.CODE),
    _optional("thirdPartyApplicationUse", "third_party_application_use", Kind.CODE),
    _optional("thirdPartyPhone", "third_party_phone", max_length=32),
    _optional("authorizationServerUri", "authorization_server_uri", _URI),
    WireField("thirdPartyNotifyUri", "third_party_notify_uri", _URI),
    WireField(
        "authorizationServerAuthorizationEndpoint",
        "authorization_server_authorization_endpoint",
        _URI,
    ),
    _optional(
        "authorizationServerRegistrationEndpoint",
        "authorization_server_registration_endpoint",
        _URI,
    ),
    WireField("authorizationServerTokenEndpoint", "authorization_server_token_endpoint", _URI),
    WireField("dataCustodianBulkRequestURI", "data_custodian_bulk_request_uri", _URI),
    WireField("dataCustodianResourceEndpoint", "data_custodian_resource_endpoint", _URI),
    _optional("thirdPartyScopeSelectionScreenURI", "third_party_scope_selection_screen_uri", _URI),
    _optional("thirdPartyUserPortalScreenURI", "third_party_user_portal_screen_uri", _URI),
    WireField("client_secret", "client_secret", max_length=512, when_absent=""),
    _optional("logo_uri", "logo_uri", _URI),
    WireField("client_name", "client_name", max_length=256),
    _optional("client_uri", "client_uri", _URI),
    WireField("redirect_uri", "redirect_uris", _URI, repeated=True),
    WireField("client_id", "client_id", max_length=64),
    _optional("tos_uri", "tos_uri", _URI),
    _optional("policy_uri", "policy_uri", _URI),
    WireField("software_id", "software_id", max_length=256),
    WireField("software_version", "software_version", max_length=32),
    WireField("client_id_issued_at", "client_id_issued_at", Kind.EPOCH),
    WireField("client_secret_expires_at", "client_secret_expires_at", Kind.EPOCH, when_absent="0"),
    WireField("contacts", "contacts", max_length=256, min_occurs=0, repeated=True),
    WireField(
        "token_endpoint_auth_method",
        "token_endpoint_auth_method",
        choices=frozenset({"client_secret_basic"}),
    ),
    WireField("scope", "scopes", max_length=256, repeated=True),
    WireField("grant_types", "grant_types", min_occurs=2, repeated=True, choices=GRANT_TYPES),
    WireField("response_types", "response_types", choices=frozenset({"code"})),
    WireField("registration_client_uri", "registration_client_uri", _URI),
    WireField("registration_access_token", "registration_access_token", when_absent=""),
    _optional(
        "dataCustodianScopeSelectionScreenURI", "data_custodian_scope_selection_screen_uri", _URI
    ),
)

# espi.xsd Authorization after its two DateTimeInterval periods, in sequence order.
AUTHORIZATION_FIELDS: Final = (
    WireField("status", "status", Kind.CODE),
    WireField("expires_at", "expires_at", Kind.EPOCH),
    WireField("grant_type", "grant_type", min_occurs=0, choices=GRANT_TYPES),
    WireField("scope", "scope", max_length=256),
    WireField("token_type", "token_type", choices=frozenset({"Bearer"})),
    WireField("error", "error", min_occurs=0, choices=OAUTH_ERRORS),
    _optional("error_description", "error_description", max_length=256),
    _optional("error_uri", "error_uri", _URI),
    WireField("resourceURI", "resource_uri", _URI),
    WireField("authorizationURI", "authorization_uri", _URI),
    _optional("customerResourceURI", "customer_resource_uri", _URI),
)


def application_information_element(info: ApplicationInformationEntry) -> etree._Element:
    """An ``espi:ApplicationInformation`` element (espi.xsd sequence order)."""
    element = etree.Element(espi("ApplicationInformation"))
    _append_fields(element, APPLICATION_INFORMATION_FIELDS, info)
    return element


def authorization_element(authorization: AuthorizationEntry) -> etree._Element:
    """An ``espi:Authorization`` element (espi.xsd sequence order)."""
    element = etree.Element(espi("Authorization"))
    for wire, period in (
        ("authorizedPeriod", authorization.authorized_period),
        ("publishedPeriod", authorization.published_period),
    ):
        if period is not None:
            _append_period(element, wire, period)
    _append_fields(element, AUTHORIZATION_FIELDS, authorization)
    return element


def _append_fields(element: etree._Element, fields: tuple[WireField, ...], values: object) -> None:
    for field in fields:
        for text in element_texts(field, getattr(values, field.attr)):
            etree.SubElement(element, espi(field.wire)).text = text


def _append_period(parent: etree._Element, wire: str, period: Period) -> None:
    """A ``DateTimeInterval``: ``duration`` (UInt32) before ``start`` (TimeType)."""
    if not 0 <= period.duration <= UINT32_MAX:
        msg = f"{wire} duration {period.duration} is outside UInt32"
        raise ValueError(msg)
    interval = etree.SubElement(parent, espi(wire))
    etree.SubElement(interval, espi("duration")).text = str(period.duration)
    (start,) = element_texts(WireField("start", "start", Kind.EPOCH), period.start)
    etree.SubElement(interval, espi("start")).text = start
