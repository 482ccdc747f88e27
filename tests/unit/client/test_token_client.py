"""Token calls over real HTTP against the fake custodian: both body styles, errors, revocation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from opencustodian.client import (
    ClientCredentials,
    InvalidResponseError,
    OAuthError,
    RateLimitedError,
    ServerMetadata,
    TokenClient,
    build_authorization_request,
    fetch_metadata,
)
from opencustodian.client._responses import retry_after_seconds
from opencustodian.client.discovery import metadata_urls
from tests.fake_custodian import FakeCustodian
from tests.live import serving

if TYPE_CHECKING:
    from collections.abc import Iterator

    from opencustodian.client import AuthorizationRequest

REDIRECT = "https://tp.example/callback"
SCOPES = ["FB=1_3_4_5;IntervalDuration=900;BlockDuration=Daily;HistoryLength=63072000;", "FB=51_53"]
NOW = datetime(2025, 3, 9, 12, 0, tzinfo=UTC)


@pytest.fixture
def custodian() -> FakeCustodian:
    return FakeCustodian()


@pytest.fixture
def base_url(custodian: FakeCustodian) -> Iterator[str]:
    with serving(custodian.app()) as url:
        yield url


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def make_client(base_url: str, custodian: FakeCustodian, http: httpx.Client, **options):
    endpoints = ServerMetadata.from_base_url(base_url)
    return TokenClient(
        token_endpoint=endpoints.token_endpoint,
        revocation_endpoint=endpoints.revocation_endpoint,
        credentials=ClientCredentials(custodian.client_id, custodian.client_secret),
        http=http,
        clock=lambda: NOW,
        **options,
    )


def authorize(base_url: str, http: httpx.Client, **options) -> tuple[AuthorizationRequest, str]:
    request = build_authorization_request(
        f"{base_url}/oauth/authorize",
        client_id="sunspark",
        redirect_uri=REDIRECT,
        scopes=SCOPES,
        **options,
    )
    response = http.get(request.url)
    assert response.status_code == 302
    location = parse_qs(urlsplit(response.headers["location"]).query)
    assert location["state"] == [request.state]
    return request, location["code"][0]


def test_endpoints_by_convention():
    endpoints = ServerMetadata.from_base_url("https://dc.example/gbc/")
    assert endpoints.authorization_endpoint == "https://dc.example/gbc/oauth/authorize"
    assert endpoints.token_endpoint == "https://dc.example/gbc/oauth/token"
    assert endpoints.revocation_endpoint == "https://dc.example/gbc/oauth/revoke"


def test_metadata_is_discovered(base_url, http):
    metadata = fetch_metadata(base_url, http=http)
    assert metadata.issuer == base_url
    assert metadata.token_endpoint == f"{base_url}/oauth/token"
    assert metadata.revocation_endpoint == f"{base_url}/oauth/revoke"
    assert metadata.code_challenge_methods_supported == ("S256",)
    assert "client_credentials" in metadata.grant_types_supported


def test_metadata_urls_follow_rfc8414_then_the_appended_form():
    assert metadata_urls("https://dc.example/") == [
        "https://dc.example/.well-known/oauth-authorization-server"
    ]
    assert metadata_urls("https://dc.example/gbc") == [
        "https://dc.example/.well-known/oauth-authorization-server/gbc",
        "https://dc.example/gbc/.well-known/oauth-authorization-server",
    ]


def test_metadata_under_a_path_falls_back_to_the_appended_form():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/gbc/.well-known/oauth-authorization-server":
            return httpx.Response(
                200,
                json={
                    "issuer": "https://dc.example/gbc",
                    "authorization_endpoint": "https://dc.example/gbc/oauth/authorize",
                    "token_endpoint": "https://dc.example/gbc/oauth/token",
                },
            )
        return httpx.Response(404)

    with httpx.Client(transport=httpx.MockTransport(handler)) as mocked:
        metadata = fetch_metadata("https://dc.example/gbc", http=mocked)
    assert seen == [
        "/.well-known/oauth-authorization-server/gbc",
        "/gbc/.well-known/oauth-authorization-server",
    ]
    assert metadata.token_endpoint == "https://dc.example/gbc/oauth/token"
    assert metadata.revocation_endpoint is None


def test_missing_metadata_is_an_oauth_error():
    transport = httpx.MockTransport(lambda _: httpx.Response(404))
    with httpx.Client(transport=transport) as mocked, pytest.raises(OAuthError) as missing:
        fetch_metadata("https://dc.example", http=mocked)
    assert missing.value.status == 404


def test_metadata_from_another_issuer_is_refused(base_url, custodian, http):
    custodian.issuer = "https://elsewhere.example"
    with pytest.raises(InvalidResponseError, match="issuer"):
        fetch_metadata(base_url, http=http)
    assert fetch_metadata(base_url, http=http, verify_issuer=False).issuer == custodian.issuer


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_form_code_exchange(base_url, custodian, http, auth_method):
    request, code = authorize(base_url, http)
    client = make_client(base_url, custodian, http, auth_method=auth_method)
    token = client.exchange_code(code, redirect_uri=REDIRECT, code_verifier=request.code_verifier)

    call = custodian.token_calls[-1]
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.body["grant_type"] == "authorization_code"
    assert call.body["code_verifier"] == request.code_verifier
    if auth_method == "client_secret_basic":
        assert call.authorization is not None
        # RFC 6749 §2.3.1: the secret is form-encoded before Base64 (its ':' and ' ').
        assert base64.b64decode(call.authorization[6:]) == b"sunspark:s3cret%3Awith%20space"
        assert "client_secret" not in call.body
    else:
        assert call.authorization is None
        assert call.body["client_secret"] == custodian.client_secret
    assert token.access_token.startswith("at-")
    assert token.refresh_token is not None
    assert token.token_type == "Bearer"
    assert token.scopes == SCOPES
    assert token.resource_uri == f"{base_url}/espi/1_1/resource/Batch/Subscription/1"
    assert token.authorization_uri == f"{base_url}/espi/1_1/resource/Authorization/1"
    assert token.customer_resource_uri == f"{base_url}/espi/1_1/resource/Batch/RetailCustomer/1"
    assert token.obtained_at == NOW
    assert token.expires_at == NOW + timedelta(hours=1)
    assert token.access_token not in repr(token)


@pytest.mark.parametrize("code_key", ["oauthCode", "authCode"])
def test_json_code_exchange_uses_the_seed_key_names(base_url, custodian, http, code_key):
    request, code = authorize(base_url, http, style="seed")
    client = make_client(base_url, custodian, http, body_style="json", json_code_key=code_key)
    token = client.exchange_code(code, redirect_uri=REDIRECT, code_verifier=request.code_verifier)

    call = custodian.token_calls[-1]
    assert call.content_type == "application/json"
    assert call.body == {
        "grantType": "authorization_code",
        "clientId": "sunspark",
        "clientSecret": custodian.client_secret,
        "redirectUri": REDIRECT,
        code_key: code,
        "codeVerifier": request.code_verifier,
    }
    assert token.refresh_token is not None


def test_json_refresh_uses_the_seed_body_and_rotates(base_url, custodian, http):
    request, code = authorize(base_url, http)
    client = make_client(base_url, custodian, http, body_style="json")
    first = client.exchange_code(code, redirect_uri=REDIRECT, code_verifier=request.code_verifier)
    assert first.refresh_token is not None
    second = client.refresh(first.refresh_token, scope=first.scope, redirect_uri=REDIRECT)

    call = custodian.token_calls[-1]
    assert call.content_type == "application/json"
    assert call.body == {
        "grant_type": "refresh_token",
        "refresh_token": first.refresh_token,
        "redirect_uri": REDIRECT,
        "scope": first.scope,
    }
    assert call.authorization is not None
    assert call.authorization.startswith("Basic ")
    assert second.refresh_token not in {None, first.refresh_token}
    assert second.access_token != first.access_token
    assert second.authorization_uri == first.authorization_uri
    with pytest.raises(OAuthError) as refused:  # the old refresh token was rotated away
        client.refresh(first.refresh_token)
    assert refused.value.status == 400
    assert refused.value.error == "invalid_grant"
    assert refused.value.description == "unknown or already used refresh token"


def test_a_wrong_pkce_verifier_is_an_oauth_error(base_url, custodian, http):
    _, code = authorize(base_url, http)
    client = make_client(base_url, custodian, http)
    with pytest.raises(OAuthError, match="PKCE verifier does not match") as refused:
        client.exchange_code(code, redirect_uri=REDIRECT, code_verifier="x" * 43)
    assert refused.value.error == "invalid_grant"
    assert not isinstance(refused.value, RateLimitedError)


def test_bad_client_secret_is_invalid_client(base_url, custodian, http):
    _, code = authorize(base_url, http)
    client = make_client(base_url, custodian, http)
    client.credentials = ClientCredentials("sunspark", "wrong")
    with pytest.raises(OAuthError) as refused:
        client.exchange_code(code, redirect_uri=REDIRECT)
    assert (refused.value.status, refused.value.error) == (401, "invalid_client")


@pytest.mark.parametrize("body_style", ["form", "json"])
def test_client_credentials_gives_a_client_access_token(base_url, custodian, http, body_style):
    client = make_client(base_url, custodian, http, body_style=body_style)
    token = client.client_credentials()
    call = custodian.token_calls[-1]
    assert call.body == {"grant_type": "client_credentials", "scope": "FB=35_67"}
    assert call.authorization is not None
    assert token.refresh_token is None
    assert token.scope == "FB=35_67"
    assert token.resource_uri == f"{base_url}/espi/1_1/resource/Batch/Bulk/1"


def test_429_raises_rate_limited_with_retry_after(base_url, custodian, http):
    custodian.token_limit = 2
    client = make_client(base_url, custodian, http)
    client.client_credentials()
    client.client_credentials()
    with pytest.raises(RateLimitedError) as limited:
        client.client_credentials()
    assert limited.value.status == 429
    assert limited.value.retry_after == 42.0
    assert limited.value.error == "too_many_requests"
    assert isinstance(limited.value, OAuthError)


def test_revoke_posts_a_form_and_ends_the_grant(base_url, custodian, http):
    request, code = authorize(base_url, http)
    client = make_client(base_url, custodian, http)
    token = client.exchange_code(code, redirect_uri=REDIRECT, code_verifier=request.code_verifier)
    assert token.refresh_token is not None
    client.revoke(token.refresh_token, token_type_hint="refresh_token")
    assert custodian.revoke_calls[-1] == {
        "token": token.refresh_token,
        "token_type_hint": "refresh_token",
    }
    assert token.access_token not in custodian.access_tokens
    with pytest.raises(OAuthError, match="invalid_grant"):
        client.refresh(token.refresh_token)


def test_revoke_without_an_endpoint_is_refused(http):
    client = TokenClient(
        token_endpoint="https://dc.example/oauth/token",
        credentials=ClientCredentials("c", "s"),
        http=http,
    )
    with pytest.raises(ValueError, match="revocation endpoint"):
        client.revoke("token")


def test_a_non_json_success_is_an_invalid_response(base_url, custodian, http):
    client = make_client(base_url, custodian, http)
    client.token_endpoint = f"{base_url}/broken/token"
    with pytest.raises(InvalidResponseError, match="JSON object"):
        client.client_credentials()


def test_unreadable_error_bodies_still_raise_with_the_status():
    def handler(request: httpx.Request) -> httpx.Response:
        del request
        return httpx.Response(503, text="down", headers={"Retry-After": "120"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as mocked:
        client = TokenClient(
            token_endpoint="https://dc.example/t",
            credentials=ClientCredentials("c", "s"),
            http=mocked,
        )
        with pytest.raises(OAuthError) as failed:
            client.client_credentials()
    assert (failed.value.status, failed.value.error, failed.value.retry_after) == (
        503,
        "http_503",
        120.0,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"token_type": "Bearer"}, "access_token"),
        ({"access_token": "a", "token_type": "Bearer", "expires_in": "soon"}, "expires_in"),
        ({"access_token": "a", "token_type": "Bearer", "scope": 5}, "scope"),
    ],
)
def test_malformed_token_responses_are_refused(body, message):
    def handler(request: httpx.Request) -> httpx.Response:
        del request
        return httpx.Response(200, content=json.dumps(body))

    with httpx.Client(transport=httpx.MockTransport(handler)) as mocked:
        client = TokenClient(
            token_endpoint="https://dc.example/t",
            credentials=ClientCredentials("c", "s"),
            http=mocked,
        )
        with pytest.raises(InvalidResponseError, match=message):
            client.client_credentials()


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("30", NOW) == 30.0
    assert retry_after_seconds("Sun, 09 Mar 2025 12:01:30 GMT", NOW) == 90.0
    assert retry_after_seconds("Sun, 09 Mar 2025 11:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("tomorrow", NOW) is None
    assert retry_after_seconds(None, NOW) is None
