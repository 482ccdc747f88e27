"""The authorization code journey over real HTTP, in RFC 6749 and seed-000 shapes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.custodian import BILLING_SCOPE, ELECTRIC_SCOPE, live_custodian, walk_consent


@pytest.fixture
def custodian(engine):
    with live_custodian(engine) as running:
        yield running


def redirect_params(response: httpx.Response) -> dict[str, str]:
    location = urlsplit(response.headers["location"])
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def test_rfc6749_code_flow_issues_tokens_with_espi_links(custodian):
    tp = custodian.third_party
    with httpx.Client() as http:
        redirect = walk_consent(
            http,
            custodian.base_url,
            {
                "response_type": "code",
                "client_id": tp.client_id,
                "redirect_uri": tp.redirect_uri,
                "scope": f"{ELECTRIC_SCOPE}|{BILLING_SCOPE}",
                "state": "xyz-123",
            },
        )
        params = redirect_params(redirect)
        assert redirect.headers["location"].startswith(tp.redirect_uri + "?")
        assert params["state"] == "xyz-123"
        token = http.post(
            f"{custodian.base_url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": tp.redirect_uri,
            },
            auth=(tp.client_id, tp.client_secret),
        )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"]
    assert body["scope"].split("|") == [ELECTRIC_SCOPE, BILLING_SCOPE]
    assert "/espi/1_1/resource/Batch/Subscription/" in body["resourceURI"]
    assert body["authorizationURI"].startswith(
        f"{custodian.base_url}/espi/1_1/resource/Authorization/"
    )
    assert "/Batch/RetailCustomer/" in body["customerResourceURI"]
    with httpx.Client() as http:
        entry = http.get(
            body["authorizationURI"], headers={"Authorization": f"Bearer {body['access_token']}"}
        )
    assert entry.status_code == 200, entry.text
    assert "<espi:status>1</espi:status>" in entry.text
