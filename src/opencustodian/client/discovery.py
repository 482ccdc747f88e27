"""Finding the custodian's OAuth endpoints.

Either from RFC 8414 Authorization Server Metadata (``/.well-known/oauth-authorization-server``,
inserted between host and path per §3.1, issuer checked per §3.3), or by convention from the
custodian's base URL: ``{base}/oauth/authorize``, ``{base}/oauth/token``, ``{base}/oauth/revoke``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import httpx

from opencustodian.client._responses import json_object
from opencustodian.client.clock import utc_now
from opencustodian.client.errors import InvalidResponseError

if TYPE_CHECKING:
    from collections.abc import Mapping

WELL_KNOWN = "/.well-known/oauth-authorization-server"
DEFAULT_TIMEOUT = 10.0
NOT_FOUND = 404


@dataclass(frozen=True, slots=True)
class ServerMetadata:
    """The RFC 8414 §2 metadata a client needs (unknown members are ignored)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    registration_endpoint: str | None = None
    jwks_uri: str | None = None
    scopes_supported: tuple[str, ...] = ()
    response_types_supported: tuple[str, ...] = ()
    grant_types_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    revocation_endpoint_auth_methods_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()

    @classmethod
    def from_base_url(cls, base_url: str) -> ServerMetadata:
        """Endpoints by convention: ``{base}/oauth/authorize``, ``/token`` and ``/revoke``."""
        base = base_url.rstrip("/")
        return cls(
            issuer=base,
            authorization_endpoint=f"{base}/oauth/authorize",
            token_endpoint=f"{base}/oauth/token",
            revocation_endpoint=f"{base}/oauth/revoke",
        )

    @classmethod
    def from_document(cls, document: Mapping[str, object]) -> ServerMetadata:
        """Read a decoded metadata document.

        Raises:
            InvalidResponseError: a required member is missing or a member has the wrong type.
        """
        return cls(
            issuer=_required(document, "issuer"),
            authorization_endpoint=_required(document, "authorization_endpoint"),
            token_endpoint=_required(document, "token_endpoint"),
            revocation_endpoint=_optional(document, "revocation_endpoint"),
            registration_endpoint=_optional(document, "registration_endpoint"),
            jwks_uri=_optional(document, "jwks_uri"),
            scopes_supported=_strings(document, "scopes_supported"),
            response_types_supported=_strings(document, "response_types_supported"),
            grant_types_supported=_strings(document, "grant_types_supported"),
            token_endpoint_auth_methods_supported=_strings(
                document, "token_endpoint_auth_methods_supported"
            ),
            revocation_endpoint_auth_methods_supported=_strings(
                document, "revocation_endpoint_auth_methods_supported"
            ),
            code_challenge_methods_supported=_strings(document, "code_challenge_methods_supported"),
        )


def _optional(document: Mapping[str, object], key: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"metadata member {key!r} is not a string"
        raise InvalidResponseError(msg)
    return value


def _required(document: Mapping[str, object], key: str) -> str:
    value = _optional(document, key)
    if not value:
        msg = f"metadata lacks the required member {key!r} (RFC 8414 §2)"
        raise InvalidResponseError(msg)
    return value


def _strings(document: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = document.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = f"metadata member {key!r} is not a list of strings"
        raise InvalidResponseError(msg)
    return tuple(value)


def metadata_urls(issuer: str) -> list[str]:
    """Where to look for the metadata of ``issuer``, in order.

    RFC 8414 §3.1 inserts the well-known part between host and path; for an issuer with a path,
    the appended form (``{issuer}/.well-known/…``) that many servers use is tried second.
    """
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    inserted = urlunsplit(parts._replace(path=WELL_KNOWN + path, query="", fragment=""))
    if not path:
        return [inserted]
    return [inserted, urlunsplit(parts._replace(path=path + WELL_KNOWN, query="", fragment=""))]


def _get_metadata(http: httpx.Client, urls: list[str]) -> httpx.Response:
    response = http.get(urls[0], headers={"Accept": "application/json"})
    for url in urls[1:]:
        if response.status_code != NOT_FOUND:
            break
        response = http.get(url, headers={"Accept": "application/json"})
    return response


def fetch_metadata(
    base_url: str,
    *,
    http: httpx.Client | None = None,
    verify_issuer: bool = True,
) -> ServerMetadata:
    """Fetch and read the RFC 8414 metadata of the authorization server at ``base_url``.

    Args:
        base_url: the issuer identifier (the custodian's base URL).
        http: the httpx client to use (for timeouts, proxies, tests); a short-lived one if None.
        verify_issuer: require ``issuer`` to equal ``base_url`` (RFC 8414 §3.3).

    Raises:
        OAuthError: the server answered with an error status.
        InvalidResponseError: the document is malformed or names another issuer.
    """
    urls = metadata_urls(base_url)
    if http is None:
        with httpx.Client(timeout=DEFAULT_TIMEOUT) as own:
            response = _get_metadata(own, urls)
    else:
        response = _get_metadata(http, urls)
    metadata = ServerMetadata.from_document(json_object(response, utc_now()))
    if verify_issuer and metadata.issuer.rstrip("/") != base_url.rstrip("/"):
        msg = f"metadata issuer {metadata.issuer!r} differs from {base_url!r} (RFC 8414 §3.3)"
        raise InvalidResponseError(msg)
    return metadata
