"""The authorization server: Authlib's RFC 6749 core over the consent store.

One server is built per request around that request's database session (Authlib's callbacks
are synchronous). Codes and tokens are random strings handed out once and stored as keyed
hashes; what a token may do is decided later, on every call, by ``services.access``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InvalidRequestError,
    UnsupportedResponseTypeError,
)
from fastapi.responses import JSONResponse, Response

from opencustodian.domain.consent import GrantKind
from opencustodian.domain.events import EventTag
from opencustodian.kit.tokens import hash_secret, new_secret
from opencustodian.oauth.clients import OAuthClient
from opencustodian.oauth.grants import (
    ClientAccessGrant,
    CodeGrant,
    GrantUser,
    RefreshGrant,
    S256CodeChallenge,
    TokenRevocation,
)
from opencustodian.protocols.espi.uris import (
    application_information_uri,
    authorization_uri,
    bulk_uri,
    retail_customer_uri,
    subscription_uri,
)
from opencustodian.storage.consent import NewToken, SqlConsentStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from opencustodian.profile import Limits
    from opencustodian.services.consent import GrantLifecycle
    from opencustodian.storage.models import ThirdPartyApplication

ACCESS_TOKEN_PREFIX = "ocat"  # noqa: S105 - a label, not a secret
REFRESH_TOKEN_PREFIX = "ocrt"  # noqa: S105 - a label, not a secret
BULK_BLOCKS = frozenset({34, 35, 47, 48, 66, 67})


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """What the authorization server needs from configuration and profile."""

    key: str
    base_url: str
    limits: Limits


class CustodianAuthorizationServer(AuthorizationServer):
    """Authlib's authorization server bound to one request's session and clock."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        session: Session,
        now: datetime,
        lifecycle: Callable[[Session], GrantLifecycle],
    ) -> None:
        """Register the grants and endpoints this custodian offers."""
        super().__init__()
        self.settings = settings
        self.session = session
        self.store = SqlConsentStore(session)
        self.now = now
        self.lifecycle = lifecycle(session)
        self.register_grant(CodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshGrant)
        self.register_grant(ClientAccessGrant)
        self.register_endpoint(TokenRevocation)

    def get_authorization_grant(self, request: Any) -> Any:  # noqa: ANN401 - Authlib's hook
        """The grant for an authorize request; a missing ``response_type`` is invalid_request.

        Authlib answers any request no grant claims with unsupported_response_type; RFC 6749
        §4.1.2.1 reserves that for a value the server does not support, and calls a missing
        required parameter invalid_request. The redirect URI stays the one Authlib vetted.
        """
        try:
            return super().get_authorization_grant(request)
        except UnsupportedResponseTypeError as error:
            if request.payload.response_type:
                raise
            description = "missing response_type"
            raise InvalidRequestError(description, redirect_uri=error.redirect_uri) from error

    def hash(self, value: str) -> str:
        """The stored form of a code or token."""
        return hash_secret(value, self.settings.key)

    def query_client(self, client_id: str) -> OAuthClient | None:
        """The client, unless unknown or not allowed to act (suspended, revoked)."""
        row = self.store.client_fields(client_id)
        if row is None:
            return None
        client = OAuthClient.from_row(row, self.settings.key)
        return client if client.status.may_act else None

    def application_row(self, client_id: str) -> ThirdPartyApplication:
        """The stored application of a client this server has accepted (for the consent page)."""
        row = self.store.application_by_client_id(client_id)
        if row is None:  # query_client found it moments ago in this same transaction
            msg = f"client {client_id!r} vanished during the request"
            raise LookupError(msg)
        return row

    def generate_token(  # noqa: PLR0913, PLR0917 - Authlib's signature
        self,
        grant_type: str,
        client: OAuthClient,
        user: GrantUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,  # noqa: FBT001, FBT002 - Authlib's signature
    ) -> dict[str, Any]:
        """A fresh bearer token pair (RFC 6750), with ESPI's lifetimes from the profile."""
        del grant_type, client, user
        token: dict[str, Any] = {
            "access_token": new_secret(ACCESS_TOKEN_PREFIX),
            "token_type": "Bearer",
            "expires_in": expires_in or self.settings.limits.access_token_seconds,
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = new_secret(REFRESH_TOKEN_PREFIX)
        return token

    def save_token(self, token: dict[str, Any], request: Any) -> None:  # noqa: ANN401 - Authlib
        """Store the pair's hashes and add ESPI's resource URIs to the response (seed 000)."""
        user: GrantUser = request.user
        limits = self.settings.limits
        refresh = token.get("refresh_token")
        self.store.add_token(
            user.grant_id,
            NewToken(
                access_hash=self.hash(token["access_token"]),
                refresh_hash=self.hash(refresh) if refresh else None,
                scope=token["scope"],
                issued_at=self.now,
                access_expires_at=self.now + timedelta(seconds=token["expires_in"]),
                refresh_expires_at=(
                    self.now + timedelta(seconds=limits.refresh_token_seconds) if refresh else None
                ),
            ),
        )
        token.update(self.resource_links(user))
        if user.kind is GrantKind.CUSTOMER:
            # CDS-WG1-02 "Grants in Token Responses": the grant's id on the Grants API.
            token["cds_grant_ids"] = [user.grant_uuid]
            # RFC 9396 §7: the authorization details as granted (CDS-WG3-01 §7 resolved values).
            grant = self.store.grant(user.grant_id)
            if grant is not None and grant.authorization_details:
                token["authorization_details"] = grant.authorization_details
        if request.payload.grant_type == "refresh_token":
            # The stored pair is the record of a refresh (grant, scope, issued_at, and the
            # rotated_at that links it to its successor); an audit row per hourly refresh of
            # every grant would only repeat it, and cost the hottest path a round trip.
            return
        self.store.record_event(
            EventTag.TOKEN_ISSUED,
            f"grant:{user.grant_uuid}",
            {"grant_type": request.payload.grant_type, "scope": token["scope"]},
            f"client:{request.client.client_id}",
        )

    def resource_links(self, user: GrantUser) -> dict[str, str]:
        """``resourceURI``, ``authorizationURI`` and (for customers) ``customerResourceURI``.

        The customer resource is keyed by the subscription, not the customer, so two third
        parties never share an identifier for the same person.
        """
        base = self.settings.base_url
        links = {"authorizationURI": authorization_uri(base, user.grant_uuid)}
        if user.kind is GrantKind.CUSTOMER:
            links["resourceURI"] = subscription_uri(base, user.subscription_uuid)
            links["customerResourceURI"] = retail_customer_uri(base, user.subscription_uuid)
        elif user.function_blocks & BULK_BLOCKS:
            links["resourceURI"] = bulk_uri(base, user.application_uuid)
        else:
            links["resourceURI"] = application_information_uri(base, user.application_uuid)
        return links

    def create_oauth2_request(self, request: Any) -> Any:  # noqa: ANN401 - Authlib's hook
        """Requests arrive already adapted (``oauth.requests.CustodianRequest``)."""
        return request

    def create_json_request(self, request: Any) -> Any:  # noqa: ANN401 - Authlib's hook
        """Requests arrive already adapted."""
        return request

    def handle_response(
        self,
        status: int,
        body: Any,  # noqa: ANN401 - Authlib passes a dict or a string
        headers: Sequence[tuple[str, str]],
    ) -> Response:
        """A Starlette response: JSON for token endpoints, a bare redirect otherwise."""
        header_map = dict(headers)
        if isinstance(body, dict):
            header_map.pop("Content-Type", None)
            return JSONResponse(body, status_code=status, headers=header_map)
        return Response(body or b"", status_code=status, headers=header_map)

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        """Authlib signals are not used; events are audited where they happen."""
        del name, args, kwargs
