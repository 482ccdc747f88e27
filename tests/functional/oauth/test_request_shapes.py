"""Both request dialects work end to end: RFC 6749 and seed 000 §3.1 (ConEd's gateway).

Authorize links with ``clientId``/``redirectUri`` and ``|``-joined scopes, JSON token bodies
with ``oauthCode`` or ``authCode``, the seed's refresh body, client credentials for bulk, and
PKCE S256 — each over real HTTP, each checked against the token response seed 000 shows.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.custodian import BILLING_SCOPE, CUSTOMER_SCOPE, ELECTRIC_SCOPE, walk_consent
from tests.functional.oauth.flows import (
    SEED_TOKEN_PATH,
    TOKEN_PATH,
    client_tokens,
    customer_tokens,
    error_of,
    exchange,
    issue_code,
    ok,
    pkce_pair,
    read,
    redirect_params,
    redirect_target,
    refresh,
    rfc_query,
    seed_query,
    token_call,
)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def assert_customer_token(body, base_url, scope):
    """Seed 000 §3.1's response: every field, with ESPI's resource links."""
    root = f"{base_url}/espi/1_1/resource"
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == scope
    assert re.fullmatch(rf"{re.escape(root)}/Batch/Subscription/{UUID}", body["resourceURI"])
    assert re.fullmatch(rf"{re.escape(root)}/Authorization/{UUID}", body["authorizationURI"])
    assert re.fullmatch(
        rf"{re.escape(root)}/Batch/RetailCustomer/{UUID}", body["customerResourceURI"]
    )


def test_seed_authorize_link_without_response_type_issues_a_code(server, party, http):
    query = seed_query(party, ELECTRIC_SCOPE, BILLING_SCOPE, CUSTOMER_SCOPE, state="seed-1")
    first = http.get(f"{server.base_url}/oauth/Authorize", params=query)
    assert first.status_code == 200, first.text
    code = issue_code(http, server, query)
    body = ok(exchange(http, server, party, code))
    assert_customer_token(
        body, server.base_url, f"{ELECTRIC_SCOPE}|{BILLING_SCOPE}|{CUSTOMER_SCOPE}"
    )


def test_seed_link_redirects_to_the_registered_uri_with_state(server, party, http):
    query = seed_query(party, ELECTRIC_SCOPE, state="ee148ec2-9892-466e-a013-4dedf1eb3018")
    redirect = walk_consent(http, server.base_url, query)
    assert redirect_target(redirect) == party.redirect_uri
    params = redirect_params(redirect)
    assert params["state"] == "ee148ec2-9892-466e-a013-4dedf1eb3018"
    assert len(params["code"]) >= 32


def test_rfc_authorize_request_issues_a_code(server, party, http):
    body = customer_tokens(http, server, party, f"{ELECTRIC_SCOPE}|{BILLING_SCOPE}")
    assert_customer_token(body, server.base_url, f"{ELECTRIC_SCOPE}|{BILLING_SCOPE}")


@pytest.mark.parametrize("code_name", ["oauthCode", "authCode"])
@pytest.mark.parametrize("path", [SEED_TOKEN_PATH, "/oauth/Token", TOKEN_PATH])
def test_seed_json_token_body(server, party, http, code_name, path):
    code = issue_code(http, server, seed_query(party, ELECTRIC_SCOPE))
    response = token_call(
        http,
        server,
        path=path,
        json={
            "grantType": "authorization_code",
            "clientId": party.client_id,
            "clientSecret": party.client_secret,
            "redirectUri": party.redirect_uri,
            code_name: code,
        },
    )
    body = ok(response)
    assert_customer_token(body, server.base_url, ELECTRIC_SCOPE)
    assert read(http, body["authorizationURI"], body["access_token"]).status_code == 200


def test_client_secret_post_form_body(server, party, http):
    code = issue_code(http, server, rfc_query(party))
    response = token_call(
        http,
        server,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": party.redirect_uri,
            "client_id": party.client_id,
            "client_secret": party.client_secret,
        },
    )
    assert_customer_token(ok(response), server.base_url, ELECTRIC_SCOPE)


def test_client_secret_basic_form_body(server, party, http):
    code = issue_code(http, server, rfc_query(party))
    assert_customer_token(ok(exchange(http, server, party, code)), server.base_url, ELECTRIC_SCOPE)


def test_seed_refresh_body_with_basic_auth_keeps_the_links(server, party, http):
    first = customer_tokens(http, server, party)
    response = token_call(
        http,
        server,
        path=SEED_TOKEN_PATH,
        json={
            "refresh_token": first["refresh_token"],
            "grant_type": "refresh_token",
            "redirect_uri": party.redirect_uri,
            "scope": first["scope"],
        },
        auth=(party.client_id, party.client_secret),
    )
    second = ok(response)
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == first["scope"]
    for link in ("resourceURI", "authorizationURI", "customerResourceURI"):
        assert second[link] == first[link]
    assert second["expires_in"] == 3600
    assert read(http, second["authorizationURI"], second["access_token"]).status_code == 200
    # CMDTEST OAD013: the replaced access token stops working.
    assert read(http, first["authorizationURI"], first["access_token"]).status_code == 401


def test_rfc_refresh_form_body_may_narrow_the_scope(server, party, http):
    first = customer_tokens(http, server, party, f"{ELECTRIC_SCOPE}|{BILLING_SCOPE}")
    second = ok(refresh(http, server, party, first["refresh_token"], scope=BILLING_SCOPE))
    assert second["scope"] == BILLING_SCOPE
    assert second["resourceURI"] == first["resourceURI"]
    assert second["authorizationURI"] == first["authorizationURI"]
    # And a scopeless refresh keeps what the refreshed token had.
    third = ok(refresh(http, server, party, second["refresh_token"]))
    assert third["scope"] == BILLING_SCOPE


def assert_client_token(body, base_url, application_id):
    assert body["access_token"]
    assert "refresh_token" not in body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "FB=35_67;"
    root = f"{base_url}/espi/1_1/resource"
    assert body["resourceURI"] == f"{root}/Batch/Bulk/{application_id}"
    assert re.fullmatch(rf"{re.escape(root)}/Authorization/{UUID}", body["authorizationURI"])
    assert "customerResourceURI" not in body


def test_client_credentials_json_body(server, party, http):
    response = token_call(
        http,
        server,
        path=SEED_TOKEN_PATH,
        json={"grant_type": "client_credentials", "scope": "FB=35_67"},
        auth=(party.client_id, party.client_secret),
    )
    assert_client_token(ok(response), server.base_url, party.application_id)


def test_client_credentials_form_body(server, party, http):
    body = client_tokens(http, server, party)
    assert_client_token(body, server.base_url, party.application_id)
    assert read(http, body["authorizationURI"], body["access_token"]).status_code == 200


def test_pkce_s256_with_the_right_verifier(server, party, http):
    verifier, challenge = pkce_pair()
    query = rfc_query(party, code_challenge=challenge, code_challenge_method="S256")
    code = issue_code(http, server, query)
    body = ok(exchange(http, server, party, code, code_verifier=verifier))
    assert_customer_token(body, server.base_url, ELECTRIC_SCOPE)


def test_pkce_s256_with_a_wrong_verifier_is_invalid_grant(server, party, http):
    _, challenge = pkce_pair()
    wrong, _ = pkce_pair()
    query = rfc_query(party, code_challenge=challenge, code_challenge_method="S256")
    code = issue_code(http, server, query)
    assert error_of(exchange(http, server, party, code, code_verifier=wrong)) == (
        400,
        "invalid_grant",
    )


def test_pkce_code_without_its_verifier_is_refused(server, party, http):
    _, challenge = pkce_pair()
    query = rfc_query(party, code_challenge=challenge, code_challenge_method="S256")
    code = issue_code(http, server, query)
    assert error_of(exchange(http, server, party, code)) == (400, "invalid_request")


def test_pkce_verifier_for_a_code_without_challenge_is_refused(server, party, http):
    # RFC 9700 §4.8: a code_verifier for a code issued without a challenge is refused.
    verifier, _ = pkce_pair()
    code = issue_code(http, server, rfc_query(party))
    assert error_of(exchange(http, server, party, code, code_verifier=verifier)) == (
        400,
        "invalid_request",
    )


@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_plain_is_refused_at_authorize(server, party, http, method):
    verifier, _ = pkce_pair()
    extra = {"code_challenge": verifier}
    if method:
        extra["code_challenge_method"] = method
    response = http.get(f"{server.base_url}/oauth/authorize", params=rfc_query(party, **extra))
    assert response.status_code == 302
    assert redirect_target(response) == party.redirect_uri
    params = redirect_params(response)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-rfc"
    assert "code" not in params


def test_metadata_document(server):
    with httpx.Client() as http:
        response = http.get(f"{server.base_url}/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    base = server.base_url
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
    }
    assert {"client_secret_basic", "client_secret_post"} <= set(
        meta["token_endpoint_auth_methods_supported"]
    )


def test_metadata_endpoints_are_the_ones_served(server, party):
    """The advertised endpoints answer (a wrong path would 404 or 405)."""
    with httpx.Client() as http:
        meta = http.get(f"{server.base_url}/.well-known/oauth-authorization-server").json()
        token = http.post(
            meta["token_endpoint"],
            data={"grant_type": "client_credentials", "scope": "FB=35_67"},
            auth=(party.client_id, party.client_secret),
        )
        assert token.status_code == 200, token.text
        revoked = http.post(
            meta["revocation_endpoint"],
            data={"token": token.json()["access_token"]},
            auth=(party.client_id, party.client_secret),
        )
        assert revoked.status_code == 200
        authorize = http.get(meta["authorization_endpoint"], params=rfc_query(party))
        assert authorize.status_code == 200


def test_seed_link_written_raw_as_the_seed_prints_it(server, party, http):
    """Seed 000 §3.1 prints its links unencoded: ``=``, ``;`` and ``|`` inside the scope."""
    raw = (
        f"{server.base_url}/oauth/Authorize?scope={ELECTRIC_SCOPE}|{BILLING_SCOPE}"
        f"&clientId={party.client_id}&redirectUri={party.redirect_uri}&state=123"
        "&MAID=m-1&accountNumber=0001&startDate=2026-01-01&endDate=2027-01-01"
    )
    page = http.get(raw)
    assert page.status_code == 200, page.text
    redirect = walk_consent_from(http, server, raw)
    params = redirect_params(redirect)
    assert params["state"] == "123"
    body = ok(exchange(http, server, party, params["code"]))
    assert body["scope"] == f"{ELECTRIC_SCOPE}|{BILLING_SCOPE}"


def walk_consent_from(http, server, raw_url):
    """``walk_consent`` for a URL given whole (its query is the one the page carries on)."""
    query = dict(parse_qsl(urlsplit(raw_url).query, keep_blank_values=True))
    return walk_consent(http, server.base_url, query)
