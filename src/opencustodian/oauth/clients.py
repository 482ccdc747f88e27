"""Registered applications as Authlib clients, with ESPI scope rules.

Scopes here are ESPI scope strings, several joined by ``|`` (seed 000 §3.1), never
space-separated OAuth scope tokens: each requested scope must fit inside one registered scope
(``DataScope.is_subset_of``), and what is stored is the canonical spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import ClientMixin

from opencustodian.domain.parties import ApplicationStatus
from opencustodian.domain.scopes import ScopeError
from opencustodian.kit.tokens import secret_matches
from opencustodian.protocols.espi.scope import emit_scope, parse_scopes

if TYPE_CHECKING:
    from sqlalchemy import Row

    from opencustodian.domain.scopes import DataScope
    from opencustodian.storage.models import ThirdPartyApplication

SCOPE_SEPARATOR = "|"
PUBLIC_AUTH_METHOD = "none"
CONFIDENTIAL_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})

#: Function blocks a client-credentials ("client access") token may carry: bulk transfer and
#: the third party's own registration and authorizations (research/espi.md §5.1).
CLIENT_BLOCKS = frozenset({34, 35, 36, 40, 41, 44, 47, 48, 66, 67})
#: Of those, the ones every registered application may use on its own records.
SELF_SERVICE_BLOCKS = frozenset({36, 40, 41, 44})


def parse_scope_list(text: str | None) -> list[DataScope] | None:
    """The scopes of a ``|``-joined scope parameter; None when it is not valid ESPI."""
    if not text or not text.strip():
        return None
    try:
        scopes = parse_scopes(text)
    except ScopeError:
        return None
    if not scopes or any(not scope.function_blocks for scope in scopes):
        return None
    return scopes


def join_scopes(scopes: list[DataScope]) -> str:
    """The canonical ``|``-joined spelling of ``scopes``."""
    return SCOPE_SEPARATOR.join(dict.fromkeys(emit_scope(scope) for scope in scopes))


def scopes_within(requested: list[DataScope], granted: list[DataScope]) -> bool:
    """Whether every requested scope fits inside one granted scope (never widened)."""
    return all(any(scope.is_subset_of(grant) for grant in granted) for scope in requested)


@dataclass(frozen=True, slots=True)
class OAuthClient(ClientMixin):
    """One registered application, as the authorization server sees it."""

    id: int
    uuid: str
    client_id: str
    name: str
    secret_hash: str | None
    auth_method: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    status: ApplicationStatus
    key: str

    @classmethod
    def from_row(cls, row: ThirdPartyApplication | Row[Any], key: str) -> OAuthClient:
        """The client for a stored application (ORM or Core row); ``key`` hashes secrets."""
        return cls(
            id=row.id,
            uuid=str(row.uuid),
            client_id=row.client_id,
            name=row.name,
            secret_hash=row.client_secret_hash,
            auth_method=row.token_endpoint_auth_method,
            redirect_uris=tuple(row.redirect_uris),
            scopes=tuple(row.scopes),
            status=ApplicationStatus(row.status),
            key=key,
        )

    @property
    def is_public(self) -> bool:
        """Whether this client has no secret and must use PKCE (RFC 9700 §2.1.1)."""
        return self.auth_method == PUBLIC_AUTH_METHOD

    @property
    def registered_scopes(self) -> list[DataScope]:
        """The registered scope strings, parsed."""
        return parse_scopes(SCOPE_SEPARATOR.join(self.scopes))

    def get_client_id(self) -> str:
        """The public client identifier."""
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """The redirect URI when the request names none: only if exactly one is registered.

        RFC 6749 §3.1.2.3: with several registered, the request must say which.
        """
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match against the registered URIs (RFC 9700 §4.1.3)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time comparison of the secret's keyed hash."""
        if self.secret_hash is None or not client_secret:
            return False
        return secret_matches(client_secret, self.secret_hash, self.key)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Confidential clients use Basic or POST credentials; public clients only ``none``."""
        del endpoint
        if self.is_public:
            return method == PUBLIC_AUTH_METHOD
        return method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        """Only the authorization code flow (RFC 9700 §2.1.2: no implicit grant)."""
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        """Code and refresh for everyone; client credentials only for confidential clients."""
        allowed = {"authorization_code", "refresh_token"}
        if not self.is_public:
            allowed.add("client_credentials")
        return grant_type in allowed

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The canonical requested scope if it fits the registration; None otherwise.

        An omitted scope means every registered scope (RFC 6749 §3.3 lets the server default).
        """
        registered = self.registered_scopes
        if scope is None or not scope.strip():
            return join_scopes(registered)
        requested = parse_scope_list(scope)
        if requested is None or not scopes_within(requested, registered):
            return None
        return join_scopes(requested)

    def client_credentials_scope(self, scope: str | None) -> str | None:
        """The canonical scope of a client-credentials request, or None when not allowed."""
        requested = parse_scope_list(scope)
        if requested is None:
            return None
        registered_blocks = frozenset[int]().union(
            *(grant.function_blocks for grant in self.registered_scopes)
        )
        allowed = CLIENT_BLOCKS & (registered_blocks | SELF_SERVICE_BLOCKS)
        if any(not scope.function_blocks <= allowed for scope in requested):
            return None
        return join_scopes(requested)
