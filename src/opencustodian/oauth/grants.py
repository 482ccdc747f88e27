"""The grant types this custodian issues tokens for, and RFC 7009 revocation.

- authorization_code (RFC 6749 §4.1) with PKCE S256 (RFC 7636; required for public clients,
  RFC 9700 §2.1.1); codes are single-use, and a reused code revokes what it issued (§4.1.2);
- refresh_token (§6) with rotation: each refresh returns a new refresh token and revokes the
  old pair (the reference implementation's OAD013 expects the old access token to fail);
  presenting a replaced refresh token is reuse and revokes the grant (RFC 9700 §4.14.2);
- client_credentials (§4.4) for the third party's own "client access token" (bulk data,
  its registration), never with a refresh token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    TokenMixin,
    UnauthorizedClientError,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge

from opencustodian.domain.consent import EndReason, GrantKind, GrantStatus
from opencustodian.domain.events import EventTag
from opencustodian.oauth.clients import parse_scope_list, parse_scope_text, scope_text_within

if TYPE_CHECKING:
    from opencustodian.oauth.clients import OAuthClient
    from opencustodian.oauth.server import CustodianAuthorizationServer
    from opencustodian.storage.consent import GrantFacts, RefreshFacts
    from opencustodian.storage.models import AuthorizationCode, Grant, OAuthToken

CONFIDENTIAL_METHODS = ["client_secret_basic", "client_secret_post"]
ALL_METHODS = [*CONFIDENTIAL_METHODS, "none"]


@dataclass(frozen=True, slots=True)
class GrantUser:
    """The party tokens act for: the grant (Authlib calls it the "user")."""

    grant_id: int
    grant_uuid: str
    subscription_uuid: str
    application_uuid: str
    kind: GrantKind
    function_blocks: frozenset[int]

    @classmethod
    def of(cls, grant: Grant | GrantFacts, application_uuid: str) -> GrantUser:
        """The user for ``grant`` of the application with ``application_uuid``."""
        scopes = parse_scope_list(grant.scope) or []
        blocks = frozenset[int]().union(*(scope.function_blocks for scope in scopes))
        return cls(
            grant.id,
            str(grant.uuid),
            str(grant.subscription_uuid),
            application_uuid,
            GrantKind(grant.kind),
            blocks,
        )

    def get_user_id(self) -> int:
        """Authlib's user id: the grant's."""
        return self.grant_id


@dataclass(frozen=True, slots=True)
class StoredCode(AuthorizationCodeMixin):
    """A claimed authorization code and what it is bound to."""

    row: AuthorizationCode
    grant: Grant

    def get_redirect_uri(self) -> str | None:
        """The redirect URI the authorization request named (None when it named none)."""
        return self.row.redirect_uri or None

    def get_scope(self) -> str:
        """The scope the customer approved."""
        return self.grant.scope


@dataclass(frozen=True, slots=True)
class StoredToken(TokenMixin):
    """A stored token pair as Authlib's refresh and revocation code see it."""

    row: OAuthToken | RefreshFacts
    grant: Grant | GrantFacts

    def check_client(self, client: OAuthClient) -> bool:
        """Whether ``client`` owns this token (no crossing between third parties)."""
        return self.grant.application_id == client.id

    def get_scope(self) -> str:
        """The token's scope."""
        return self.row.scope


def _server(grant: Any) -> CustodianAuthorizationServer:  # noqa: ANN401 - Authlib grant
    server: CustodianAuthorizationServer = grant.server
    return server


def _end_for_reuse(grant: Any, grant_id: int, reason: EndReason, tag: EventTag) -> None:  # noqa: ANN401
    """Revoke everything a replayed credential issued; the refusal still commits this."""
    server = _server(grant)
    server.lifecycle.end([grant_id], reason, server.now, actor="system")
    server.store.record_event(tag, f"grant-id:{grant_id}", {}, "system")
    grant.request.commit_on_error = True


class CodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 §4.1 over hashed, single-use, five-minute codes."""

    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:  # noqa: ANN401
        """Store the code's hash, bound to the grant, redirect URI and PKCE challenge."""
        server = _server(self)
        user: GrantUser = request.user
        data = request.payload.data
        server.store.add_code(
            code_hash=server.hash(code),
            grant_id=user.grant_id,
            redirect_uri=request.payload.redirect_uri or "",
            challenge=data.get("code_challenge"),
            challenge_method=data.get("code_challenge_method"),
            expires_at=server.now
            + timedelta(seconds=server.settings.limits.authorization_code_seconds),
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> StoredCode | None:
        """The code if it is this client's, unexpired and unused; reuse revokes its grant."""
        server = _server(self)
        row = server.store.code_by_hash(server.hash(code))
        grant = server.store.grant(row.grant_id) if row else None
        if row is None or grant is None or grant.application_id != client.id:
            return None
        if row.used_at is not None or not server.store.claim_code(row.id, server.now):
            _end_for_reuse(self, grant.id, EndReason.CODE_REUSED, EventTag.CODE_REUSED)
            return None
        if row.expires_at <= server.now:
            return None
        return StoredCode(row, grant)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        """Nothing to do: the code was claimed (marked used) when it was looked up."""
        del authorization_code

    def authenticate_user(self, authorization_code: StoredCode) -> GrantUser | None:
        """Activate the pending grant the code was issued for (seed 000 §3.1)."""
        server = _server(self)
        grant = authorization_code.grant
        if not server.store.activate(grant, server.now):
            return None
        server.store.record_event(
            EventTag.GRANT_ACTIVATED, f"grant:{grant.uuid}", {"scope": grant.scope}, "system"
        )
        return GrantUser.of(grant, self.request.client.uuid)


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only (RFC 9700 §2.1.1: ``plain`` adds nothing); public clients must."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:  # noqa: ANN401
        """Refuse ``plain`` and a public client's request without a challenge."""
        super().validate_code_challenge(grant, redirect_uri)
        data = grant.request.payload.data
        if data.get("code_challenge") and data.get("code_challenge_method", "plain") != "S256":
            description = "code_challenge_method must be S256"
            raise InvalidRequestError(description, redirect_uri=redirect_uri)
        if grant.request.client.is_public and not data.get("code_challenge"):
            description = "public clients must send a PKCE code_challenge (S256)"
            raise InvalidRequestError(description, redirect_uri=redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: StoredCode) -> str | None:
        """The challenge the code was issued with."""
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: StoredCode) -> str:
        """The challenge's method (always S256 here)."""
        return authorization_code.row.code_challenge_method or "S256"


class RefreshGrant(grants.RefreshTokenGrant):
    """RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14.2)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredToken | None:
        """The live refresh token; a replaced one is reuse and revokes the grant."""
        server = _server(self)
        row = server.store.refresh_with_grant(server.hash(refresh_token))
        if row is None:
            return None
        grant = row.grant
        if row.rotated_at is not None:
            if grant.application_id == self.request.client.id:
                _end_for_reuse(
                    self, grant.id, EndReason.REFRESH_TOKEN_REUSED, EventTag.REFRESH_TOKEN_REUSED
                )
            return None
        expired = row.refresh_expires_at is None or row.refresh_expires_at <= server.now
        if row.revoked_at is not None or expired or grant.status != GrantStatus.ACTIVE.value:
            return None
        if grant.authorized_end is not None and grant.authorized_end <= server.now:
            return None
        return StoredToken(row, grant)

    def _validate_token_scope(self, token: StoredToken) -> None:
        """A refresh may narrow the scope but never widen it (RFC 6749 §6)."""
        scope = self.request.payload.scope
        if not scope:
            return
        requested = parse_scope_text(scope)
        granted = parse_scope_text(token.get_scope())
        if requested is None or granted is None or not scope_text_within(requested, granted):
            raise InvalidScopeError

    def issue_token(self, user: GrantUser, refresh_token: StoredToken) -> dict[str, Any]:
        """A new pair; a narrowed scope is stored in its canonical spelling."""
        requested = parse_scope_text(self.request.payload.scope)
        scope = requested.text if requested else refresh_token.get_scope()
        token: dict[str, Any] = self.generate_token(
            user=user, scope=scope, include_refresh_token=True
        )
        return token

    def authenticate_user(self, refresh_token: StoredToken) -> GrantUser:
        """The grant the refresh token belongs to."""
        return GrantUser.of(refresh_token.grant, self.request.client.uuid)

    def revoke_old_credential(self, refresh_token: StoredToken) -> None:
        """Retire the old pair; losing a race to another refresh with it is reuse."""
        server = _server(self)
        if not server.store.claim_refresh(refresh_token.row.id, server.now):
            raise InvalidGrantError(description="the refresh token was already used")


class ClientAccessGrant(grants.ClientCredentialsGrant):
    """RFC 6749 §4.4: the third party's own token for bulk and registration blocks."""

    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def validate_token_request(self) -> None:
        """Authenticate the client and check the scope holds only client blocks it may use."""
        client: OAuthClient = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            description = "this client may not use client_credentials"
            raise UnauthorizedClientError(description)
        scope = client.client_credentials_scope(self.request.payload.scope)
        if scope is None:
            raise InvalidScopeError
        server = _server(self)
        grant = server.store.client_grant(client.id, scope, server.now)
        self.request.client = client
        self.request.user = GrantUser.of(grant, client.uuid)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """An access token without a refresh token (RFC 6749 §4.4.3)."""
        user: GrantUser = self.request.user
        server = _server(self)
        grant = server.store.grant(user.grant_id)
        scope = grant.scope if grant else ""
        token: dict[str, Any] = self.generate_token(
            user=user, scope=scope, include_refresh_token=False
        )
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class TokenRevocation(RevocationEndpoint):
    """RFC 7009: a refresh token ends its grant; an access token only stops itself."""

    CLIENT_AUTH_METHODS = ALL_METHODS

    def check_params(self, request: Any, client: OAuthClient) -> None:  # noqa: ANN401 - Authlib
        """Require ``token``; an unknown ``token_type_hint`` is ignored, not refused.

        RFC 7009 §2.1: an invalid hint value does not influence the response, and the
        server searches every token type it holds whatever the hint says.
        """
        del client
        if not request.form.get("token"):
            raise InvalidRequestError(description="missing token")

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        """Find the token by either hash, trying the hinted kind first (RFC 7009 §2.1)."""
        server = _server(self)
        token_hash = server.hash(token_string)
        lookups = [server.store.token_by_access_hash, server.store.token_by_refresh_hash]
        if token_type_hint == "refresh_token":  # noqa: S105 - a hint name, not a secret
            lookups.reverse()
        for lookup in lookups:
            row = lookup(token_hash)
            grant = server.store.grant(row.grant_id) if row else None
            if row is not None and grant is not None:
                return StoredToken(row, grant)
        return None

    def revoke_token(self, token: StoredToken, request: Any) -> None:  # noqa: ANN401 - Authlib
        """Revoke; a refresh token is the third party disconnecting, so its grant ends."""
        server = _server(self)
        presented = server.hash(request.form.get("token", ""))
        if presented == token.row.refresh_token_hash:
            server.lifecycle.end(
                [token.grant.id],
                EndReason.THIRD_PARTY_REVOKED,
                server.now,
                actor=f"client:{request.client.client_id}",
            )
        else:
            server.store.revoke_token(token.row.id, server.now)
        server.store.record_event(
            EventTag.TOKEN_REVOKED, f"grant:{token.grant.uuid}", {}, "third-party"
        )
