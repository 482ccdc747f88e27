"""Steps the admin tests share: a customer's token, the token endpoint, reading the database."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from opencustodian.storage.db import session_factory
from opencustodian.storage.models import ThirdPartyApplication
from tests.custodian import ELECTRIC_SCOPE, walk_consent


def customer_token(
    base_url: str, client_id: str, client_secret: str, redirect_uri: str
) -> dict[str, Any]:
    """Walk the consent pages as a customer and trade the code for tokens."""
    with httpx.Client(timeout=30) as http:
        redirect = walk_consent(
            http,
            base_url,
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": ELECTRIC_SCOPE,
                "state": "s",
            },
        )
        code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
        token = http.post(
            f"{base_url}/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=(client_id, client_secret),
        )
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    return body


def api_status(token: dict[str, Any]) -> int:
    """The status of ``GET {authorizationURI}`` with the customer's access token."""
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return httpx.get(token["authorizationURI"], headers=headers, timeout=30).status_code


def client_token(base_url: str, client_id: str, client_secret: str) -> httpx.Response:
    """A client-credentials request for the bulk scope."""
    return httpx.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "FB=35_67;"},
        auth=(client_id, client_secret),
        timeout=30,
    )


def application(engine, client_id: str) -> ThirdPartyApplication:
    """The stored application of ``client_id``."""
    with session_factory(engine)() as session:
        row = session.scalar(
            select(ThirdPartyApplication).where(ThirdPartyApplication.client_id == client_id)
        )
    assert row is not None
    return row


def code_text(page: str, element_id: str) -> str:
    """The text of ``<code id="…">`` on a page."""
    match = re.search(rf'<code id="{re.escape(element_id)}">([^<]*)</code>', page)
    assert match, f"no code #{element_id} on the page"
    return html.unescape(match.group(1))
