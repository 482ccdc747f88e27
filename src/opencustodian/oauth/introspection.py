"""RFC 7662 token introspection (CDS-WG1-02 §3.2 requires it).

A client authenticates as at the token endpoint and may introspect only its own tokens;
anything else it presents — unknown, another client's, revoked, expired, of a suspended third
party, of a grant that ended or lost its service points — is ``{"active": false}`` and nothing
more (§2.2), so introspection confirms nothing about tokens a client does not hold.

Whether a token is live is decided by ``services.access.check_bearer``, the choke point every
API call goes through, so introspection can never call a token active that the APIs refuse.
Refresh tokens are introspected too (with their own lifetime; a rotated one is dead);
``token_type_hint`` orders the search and an unknown hint is ignored (§2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from opencustodian.domain.consent import GrantKind
from opencustodian.oauth.grants import ALL_METHODS
from opencustodian.services.access import AccessDeniedError, check_bearer
from opencustodian.storage.cds_admin import SqlTokenLookup, TokenKind

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from fastapi.responses import Response

    from opencustodian.domain.consent import AccessRecord
    from opencustodian.oauth.clients import OAuthClient
    from opencustodian.oauth.server import CustodianAuthorizationServer
    from opencustodian.storage.cds_admin import TokenTimes

INACTIVE: dict[str, object] = {"active": False}


@dataclass(frozen=True, slots=True)
class LiveToken:
    """A token the choke point accepts, with its kind and lifetime."""

    record: AccessRecord
    kind: TokenKind
    times: TokenTimes


class TokenIntrospection(IntrospectionEndpoint):
    """Authlib's RFC 7662 endpoint over the access choke point."""

    CLIENT_AUTH_METHODS = ALL_METHODS

    def __init__(self, zone: ZoneInfo) -> None:
        """Judge tokens on the service territory's calendar (``zone``)."""
        super().__init__()
        self.zone = zone

    @property
    def custodian(self) -> CustodianAuthorizationServer:
        """The server this endpoint was registered on."""
        server: CustodianAuthorizationServer = self.server
        return server

    def check_params(self, request: Any, client: OAuthClient) -> None:  # noqa: ANN401 - Authlib
        """Require ``token``; any ``token_type_hint`` is only a search order (§2.1)."""
        del client
        if not request.form.get("token"):
            raise InvalidRequestError(description="missing token")

    def query_token(self, token_string: str, token_type_hint: str | None) -> LiveToken | None:
        """The live token, or None when unknown or refused (both answer inactive)."""
        kinds = [TokenKind.ACCESS, TokenKind.REFRESH]
        if token_type_hint == TokenKind.REFRESH.value:
            kinds.reverse()
        server = self.custodian
        for kind in kinds:
            lookup = SqlTokenLookup(server.session, kind)
            try:
                record = check_bearer(
                    lookup, token_string, key=server.settings.key, now=server.now, zone=self.zone
                )
            except AccessDeniedError:
                if lookup.times is not None:
                    return None  # found, but the choke point refuses it
                continue
            if lookup.times is None:  # the lookup sets it whenever it finds a token
                return None
            return LiveToken(record, kind, lookup.times)
        return None

    def check_permission(
        self,
        token: LiveToken,
        client: OAuthClient,
        request: Any,  # noqa: ANN401 - Authlib's request
    ) -> bool:
        """Only the client the token was issued to may see it."""
        del request
        return token.record.application_id == client.id

    def create_introspection_payload(self, token: LiveToken | None) -> dict[str, object]:
        """§2.2: the token's facts when live and the caller's, else only ``active: false``."""
        if token is None:
            return dict(INACTIVE)
        record = token.record
        payload: dict[str, object] = {
            "active": True,
            "scope": record.scope,
            "client_id": record.client_id,
            "exp": int(token.times.expires_at.timestamp()),
            "iat": int(token.times.issued_at.timestamp()),
            "sub": record.subscription_uuid,
            "iss": self.custodian.settings.base_url,
            # CDS-WG1-02 "Grants in Token Responses": the Grants API ids the token acts for.
            "cds_grant_ids": [record.grant_uuid] if record.grant_kind is GrantKind.CUSTOMER else [],
        }
        if token.kind is TokenKind.ACCESS:
            payload["token_type"] = "Bearer"  # noqa: S105 - RFC 6750's type name
        return payload


def introspect(server: CustodianAuthorizationServer, request: Any, zone: ZoneInfo) -> Response:  # noqa: ANN401
    """Answer one adapted introspection request on ``server``."""
    server.register_endpoint(TokenIntrospection(zone))
    response: Response = server.create_endpoint_response(TokenIntrospection.ENDPOINT_NAME, request)
    return response
