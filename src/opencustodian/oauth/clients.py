"""Registered applications as Authlib clients, with ESPI and CDS scope rules.

A scope parameter is ESPI scope strings joined by ``|`` (seed 000 §3.1) or CDS scope ids
separated by spaces (``protocols.scopes``). An ESPI scope must fit inside one registered ESPI
scope (``DataScope.is_subset_of``); a CDS id must be registered itself (CDS ids are opaque
names, not grammars). What is stored is the canonical spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import ClientMixin

from opencustodian.domain.parties import ApplicationStatus
from opencustodian.domain.scopes import ScopeError
from opencustodian.kit.tokens import secret_matches
from opencustodian.protocols.cds.scopes import CLIENT_ADMIN, cds_scope
from opencustodian.protocols.espi.scope import emit_scope, parse_scopes
from opencustodian.protocols.scopes import ScopeLanguage, ScopeText, is_cds_text, read_scope_text

if TYPE_CHECKING:
    from sqlalchemy import Row

    from opencustodian.domain.scopes import DataScope
    from opencustodian.protocols.cds.scopes import CdsScope
    from opencustodian.storage.models import ThirdPartyApplication

SCOPE_SEPARATOR = "|"
PUBLIC_AUTH_METHOD = "none"
CONFIDENTIAL_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})

#: Function blocks a client-credentials ("client access") token may carry: bulk transfer and
#: the third party's own registration and authorizations (research/espi.md §5.1).
CLIENT_BLOCKS = frozenset({34, 35, 36, 40, 41, 44, 47, 48, 66, 67})
#: Of those, the ones every registered application may use on its own records.
SELF_SERVICE_BLOCKS = frozenset({36, 40, 41, 44})


def parse_scope_text(text: str | None) -> ScopeText | None:
    """A scope parameter in either language; None when empty, unreadable or naming no data."""
    if not text or not text.strip():
        return None
    try:
        read = read_scope_text(text)
    except ScopeError:
        return None
    if not read.items or any(not scope.function_blocks for scope in read.scopes):
        return None
    return read


def parse_scope_list(text: str | None) -> list[DataScope] | None:
    """The data scopes of a scope parameter in either language (see ``parse_scope_text``)."""
    read = parse_scope_text(text)
    return list(read.scopes) if read else None


def scope_text_within(requested: ScopeText, granted: ScopeText) -> bool:
    """Whether ``requested`` asks for nothing beyond ``granted`` (same language only)."""
    if requested.language is not granted.language:
        return False
    if requested.language is ScopeLanguage.CDS:
        return set(requested.items) <= set(granted.items)
    return scopes_within(list(requested.scopes), list(granted.scopes))


def join_scopes(scopes: list[DataScope]) -> str:
    """The canonical ``|``-joined spelling of ``scopes``."""
    return SCOPE_SEPARATOR.join(dict.fromkeys(emit_scope(scope) for scope in scopes))


def scopes_within(requested: list[DataScope], granted: list[DataScope]) -> bool:
    """Whether every requested scope fits inside one granted scope (never widened)."""
    return all(any(scope.is_subset_of(grant) for grant in granted) for scope in requested)


def _offered(scope_id: str) -> CdsScope:
    offered = cds_scope(scope_id)
    if offered is None:  # registration and parsing admit only offered ids
        msg = f"{scope_id!r} is not an offered CDS scope"
        raise ScopeError(msg)
    return offered


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
        """The registered ESPI scope strings, parsed."""
        espi = [text for text in self.scopes if not is_cds_text(text)]
        return parse_scopes(SCOPE_SEPARATOR.join(espi)) if espi else []

    @property
    def registered_cds_scopes(self) -> frozenset[str]:
        """The registered CDS scope ids."""
        return frozenset(text for text in self.scopes if is_cds_text(text))

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
            return join_scopes(registered) if registered else self._default_cds_scope()
        requested = parse_scope_text(scope)
        if requested is None:
            return None
        if requested.language is ScopeLanguage.CDS:
            return requested.text if self._consent_ids_allowed(requested.items) else None
        if not scopes_within(list(requested.scopes), registered):
            return None
        return requested.text

    def _consent_ids_allowed(self, items: tuple[str, ...]) -> bool:
        """CDS-WG3-01 §6: consent scopes, each registered by this client."""
        return all(
            item in self.registered_cds_scopes and _offered(item).is_consent_scope for item in items
        )

    def _default_cds_scope(self) -> str | None:
        ids = [item for item in self.scopes if item in self.registered_cds_scopes]
        consent = [item for item in ids if _offered(item).is_consent_scope]
        return " ".join(consent) or None

    def client_credentials_scope(self, scope: str | None) -> str | None:
        """The canonical scope of a client-credentials request, or None when not allowed."""
        if scope and is_cds_text(scope):
            return self._cds_client_scope(scope)
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

    def _cds_client_scope(self, scope: str) -> str | None:
        """CDS direct-access scopes: registered ``cds_query_*`` ids, and ``cds_client_admin``.

        Every client may administer itself (CDS-WG1-02 §4: registration always includes
        ``cds_client_admin``); query scopes must have been registered.
        """
        try:
            requested = read_scope_text(scope)
        except ScopeError:
            return None
        for item in requested.items:
            offered = _offered(item)
            if offered.is_consent_scope:
                return None
            if item != CLIENT_ADMIN and item not in self.registered_cds_scopes:
                return None
        return requested.text
