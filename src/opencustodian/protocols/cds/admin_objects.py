"""CDS-WG1-02 administration objects: Grants (§8.1) and Clients (§5.1), as wire dictionaries.

Glossary (DESIGN "wire names stay in protocols"): a CDS Grant is our grant, a CDS Client is a
registered third-party application. ``grant_status`` maps a grant's stored status, why it
ended and its application's standing onto the §8.2 vocabulary:

========================================  ===========
ours                                      CDS
========================================  ===========
active                                    active
active, application suspended             suspended (temporary: the utility may reinstate)
active, application revoked               disabled
active, past its end                      expired (before the expiry sweep records it)
active, its service points left the       disabled
account (move-out, closure)
revoked by the third party (RFC 7009      closed
refresh-token revocation, Grants API)
revoked by the customer                   revoked
revoked by the utility, or for a          disabled
replayed code or refresh token
expired                                   expired
ended (move-out, account closure)         disabled
========================================  ===========
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from opencustodian.domain.consent import EndReason, GrantStatus
from opencustodian.domain.parties import ApplicationStatus
from opencustodian.protocols.cds.objects import instant

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

JsonObject = dict[str, object]

#: §8.2 statuses under which the grant's access is live (``enabled_*`` mirror the request).
LIVE_STATUSES: Final = frozenset({"active"})
#: §5.2: what each application status shows as.
CLIENT_STATUSES: Final = {
    ApplicationStatus.PRODUCTION: "production",
    ApplicationStatus.TEST: "sandbox",
    ApplicationStatus.SUSPENDED: "disabled",
    ApplicationStatus.REVOKED: "disabled",
}
_ENDED_STATUSES: Final = {
    EndReason.THIRD_PARTY_REVOKED: "closed",
    EndReason.CUSTOMER_REVOKED: "revoked",
    EndReason.EXPIRED: "expired",
}


def grant_status(  # noqa: PLR0911 - one answer per row of the module's table
    status: GrantStatus,
    end_reason: EndReason | None,
    *,
    application: ApplicationStatus,
    past_end: bool,
    points_held: bool,
) -> str:
    """The §8.2 status of a grant (see the module's table)."""
    if status is GrantStatus.EXPIRED:
        return "expired"
    if status.is_final:
        return _ENDED_STATUSES.get(end_reason, "disabled") if end_reason else "disabled"
    if application is ApplicationStatus.SUSPENDED:
        return "suspended"
    if not application.may_act:
        return "disabled"
    if past_end:
        return "expired"
    if not points_held:
        return "disabled"
    return "active"


@dataclass(frozen=True, slots=True)
class GrantView:
    """What a Grant object shows."""

    grant_id: str
    client_id: str
    status: str
    scope: str
    authorization_details: Sequence[JsonObject]
    created: datetime
    modified: datetime
    authorized_start: datetime | None
    authorized_end: datetime | None

    @property
    def scope_items(self) -> frozenset[str]:
        """The scope's tokens and the authorization details' types (the ``scopes`` filter)."""
        separator = "|" if "=" in self.scope else " "
        tokens = {item for item in self.scope.split(separator) if item}
        types = {str(detail.get("type", "")) for detail in self.authorization_details}
        return frozenset(tokens | (types - {""}))


def grant_uri(base_url: str, grant_id: str) -> str:
    """The Grant's own URL (§8.1 ``uri``): where it is read and patched."""
    return f"{base_url}/cds/v1/grants/{grant_id}"


def grant_object(view: GrantView, base_url: str) -> JsonObject:
    """The §8.1 Grant object.

    Grants are never replaced, split or pending here, so ``replacing``/``replaced_by``/
    ``children`` are empty, ``parent`` and ``eta`` null. Access starts at approval
    (``not_before`` null unless the period starts later); it ends at the authorized end
    (``not_after`` and ``expires``). The ``enabled_*`` members repeat the grant while it is
    live and are empty once access is gone (§8.1).
    """
    live = view.status in LIVE_STATUSES
    starts_later = view.authorized_start is not None and view.authorized_start > view.created
    details = [dict(detail) for detail in view.authorization_details]
    return {
        "grant_id": view.grant_id,
        "uri": grant_uri(base_url, view.grant_id),
        "replacing": [],
        "replaced_by": [],
        "parent": None,
        "children": [],
        "created": instant(view.created),
        "modified": instant(view.modified),
        "not_before": instant(view.authorized_start)
        if starts_later and view.authorized_start
        else None,
        "not_after": instant(view.authorized_end) if view.authorized_end else None,
        "eta": None,
        "expires": instant(view.authorized_end) if view.authorized_end else None,
        "status": view.status,
        "client_id": view.client_id,
        "scope": view.scope,
        "authorization_details": details,
        "receipt_confirmations": [],
        "enabled_scope": view.scope if live else "",
        "enabled_authorization_details": details if live else [],
    }


@dataclass(frozen=True, slots=True)
class ClientView:
    """What a Client object shows (never a secret)."""

    client_id: str
    name: str
    issued_at: datetime
    modified: datetime
    status: ApplicationStatus
    scopes: tuple[str, ...]
    espi_scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    auth_method: str
    contacts: tuple[str, ...]
    website: str | None = None
    logo_uri: str | None = None

    @property
    def is_confidential(self) -> bool:
        """Whether the client holds a secret (and so may use client credentials)."""
        return self.auth_method != "none"


def client_uri(base_url: str, client_id: str) -> str:
    """The Client's own URL (§5.1 ``cds_client_uri``)."""
    return f"{base_url}/cds/v1/clients/{client_id}"


def client_object(
    view: ClientView, base_url: str, consent_scopes: Sequence[str], metadata_url: str
) -> JsonObject:
    """The §5.1 Client object of one registered application.

    ``scope`` holds its CDS scope ids, with ``cds_client_admin`` for a confidential client
    (every one may administer itself); registered ESPI scope strings, which are not OAuth
    scope tokens, go in ``oc_espi_scopes``. Clients cannot change their own status here, so
    ``cds_status_options`` offers only the current one (§5.1 forbids ``disabled`` for a
    client with ``cds_client_admin``; one without it may also choose ``disabled``).
    """
    admin = "cds_client_admin"
    scopes = [*view.scopes, *([admin] if view.is_confidential and admin not in view.scopes else [])]
    grant_types = ["authorization_code", "refresh_token"]
    if view.is_confidential:
        grant_types.append("client_credentials")
    status = CLIENT_STATUSES[view.status]
    options = [status] if admin in scopes else sorted({status, "disabled"})
    if admin in scopes and status == "disabled":
        options = []
    consent = [scope for scope in view.scopes if scope in consent_scopes]
    body: JsonObject = {
        "client_id": view.client_id,
        "client_id_issued_at": int(view.issued_at.timestamp()),
        "scope": " ".join(scopes),
        "redirect_uris": list(view.redirect_uris),
        "token_endpoint_auth_method": view.auth_method,
        "grant_types": grant_types,
        "response_types": ["code"],
        "client_name": view.name or view.client_id,
        "contacts": list(view.contacts),
        "authorization_details_types": consent,
        "cds_created": instant(view.issued_at),
        "cds_modified": instant(view.modified),
        "cds_client_uri": client_uri(base_url, view.client_id),
        "cds_status": status,
        "cds_status_options": options,
        "cds_server_metadata": metadata_url,
        "cds_default_scope": " ".join(consent),
        "cds_default_redirect_uri": view.redirect_uris[0] if view.redirect_uris else base_url,
        "cds_default_authorization_details": [],
        "oc_espi_scopes": list(view.espi_scopes),
    }
    if view.website:
        body["client_uri"] = view.website
    if view.logo_uri:
        body["logo_uri"] = view.logo_uri
    return body
