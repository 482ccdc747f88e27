"""Steps of the OAuth journeys, over real HTTP against a ``live_custodian``.

Each helper takes the ``httpx.Client`` to use (its cookies carry the customer's sign-in) and
returns the raw response or the parsed token body, so tests can assert on either.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from opencustodian.kit.tokens import hash_secret
from tests.custodian import ELECTRIC_SCOPE, SECRET_KEY, walk_consent

if TYPE_CHECKING:
    import httpx

    from tests.custodian import LiveCustodian, ThirdParty

#: The ESPI token path of seed 000 §3.1 (the RFC path /oauth/token is served too).
SEED_TOKEN_PATH = "/espi/1_1/oauth/token"
TOKEN_PATH = "/oauth/token"
HEX64 = re.compile(r"[0-9a-f]{64}")


def unique_name(prefix: str = "App") -> str:
    """A fresh application name (each test registers its own third party)."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """Query parameters of a redirect's ``Location``."""
    location = urlsplit(response.headers["location"])
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def redirect_target(response: httpx.Response) -> str:
    """The ``Location`` without its query."""
    location = urlsplit(response.headers["location"])
    return f"{location.scheme}://{location.netloc}{location.path}"


def page_error(response: httpx.Response) -> str:
    """The OAuth error code an HTML error page shows (``consent/error.html``)."""
    match = re.search(r'id="oauth-error"><code>([^<]*)</code>', response.text)
    assert match, response.text
    return html.unescape(match.group(1))


def rfc_query(tp: ThirdParty, scope: str = ELECTRIC_SCOPE, **extra: str) -> dict[str, str]:
    """An RFC 6749 §4.1.1 authorization request."""
    return {
        "response_type": "code",
        "client_id": tp.client_id,
        "redirect_uri": tp.redirect_uri,
        "scope": scope,
        "state": "st-rfc",
        **extra,
    }


def seed_query(tp: ThirdParty, *scopes: str, state: str = "st-seed") -> dict[str, str]:
    """Seed 000 §3.1's link: camelCase names, ``|``-joined scopes, no response_type."""
    return {
        "clientId": tp.client_id,
        "redirectUri": tp.redirect_uri,
        "scope": "|".join(scopes or (ELECTRIC_SCOPE,)),
        "state": state,
    }


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue_code(
    http: httpx.Client,
    custodian: LiveCustodian,
    query: dict[str, str],
    *,
    username: str = "customer0001",
) -> str:
    """Walk the customer through consent for ``query``; the code the redirect carries."""
    redirect = walk_consent(http, custodian.base_url, query, username=username)
    params = redirect_params(redirect)
    assert "code" in params, redirect.headers["location"]
    return params["code"]


def token_call(
    http: httpx.Client,
    custodian: LiveCustodian,
    *,
    path: str = TOKEN_PATH,
    **kwargs: Any,
) -> httpx.Response:
    """``POST`` to a token endpoint with httpx's ``data``/``json``/``auth``/``content``."""
    return http.post(f"{custodian.base_url}{path}", **kwargs)


def exchange(
    http: httpx.Client,
    custodian: LiveCustodian,
    tp: ThirdParty,
    code: str,
    **extra: str,
) -> httpx.Response:
    """RFC 6749 §4.1.3: form body, client_secret_basic."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": tp.redirect_uri}
    return token_call(
        http, custodian, data={**data, **extra}, auth=(tp.client_id, tp.client_secret)
    )


def refresh(
    http: httpx.Client,
    custodian: LiveCustodian,
    tp: ThirdParty,
    refresh_token: str,
    **extra: str,
) -> httpx.Response:
    """RFC 6749 §6: form body, client_secret_basic."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return token_call(http, custodian, data=data, auth=(tp.client_id, tp.client_secret))


def ok(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a successful token response."""
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def error_of(response: httpx.Response) -> tuple[int, str]:
    """(status, RFC 6749 §5.2 ``error``) of a refused token or revocation request."""
    body = response.json()
    return response.status_code, body.get("error", "")


def customer_tokens(
    http: httpx.Client,
    custodian: LiveCustodian,
    tp: ThirdParty,
    scope: str = ELECTRIC_SCOPE,
    *,
    username: str = "customer0001",
) -> dict[str, Any]:
    """A whole RFC 6749 code flow for one customer; the token response body."""
    code = issue_code(http, custodian, rfc_query(tp, scope), username=username)
    return ok(exchange(http, custodian, tp, code))


def client_tokens(
    http: httpx.Client, custodian: LiveCustodian, tp: ThirdParty, scope: str = "FB=35_67"
) -> dict[str, Any]:
    """The third party's client access token (client_credentials)."""
    data = {"grant_type": "client_credentials", "scope": scope}
    return ok(token_call(http, custodian, data=data, auth=(tp.client_id, tp.client_secret)))


def read(http: httpx.Client, uri: str, access_token: str) -> httpx.Response:
    """``GET`` a resource with a bearer token (RFC 6750 §2.1)."""
    return http.get(uri, headers={"Authorization": f"Bearer {access_token}"})


def revoke(
    http: httpx.Client,
    custodian: LiveCustodian,
    tp: ThirdParty,
    token: str,
    hint: str | None = None,
) -> httpx.Response:
    """RFC 7009 revocation with client_secret_basic."""
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return http.post(
        f"{custodian.base_url}/oauth/revoke", data=data, auth=(tp.client_id, tp.client_secret)
    )


def stored_hash(value: str) -> str:
    """The keyed hash the custodian stores for a code, token or secret."""
    return hash_secret(value, SECRET_KEY)
