"""The certification harness's malformed requests (research/espi.md §5.5), case by case.

Every case asserts the exact RFC 6749 error and HTTP status — never a 500:

- authorize (OAD001): errors go back to the registered redirect URI with ``error=`` and the
  state, except when the client or redirect URI cannot be trusted (§4.1.2.1): then a 400 page;
- token (OAD003/OAD004), refresh (OAD011) and client credentials (OAD014): a §5.2 JSON error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from opencustodian.storage.models import AuthorizationCode
from tests.custodian import BILLING_SCOPE, ELECTRIC_SCOPE, walk_consent
from tests.functional.oauth.flows import (
    SEED_TOKEN_PATH,
    customer_tokens,
    error_of,
    exchange,
    issue_code,
    ok,
    page_error,
    read,
    redirect_params,
    redirect_target,
    refresh,
    rfc_query,
    seed_query,
    stored_hash,
    token_call,
    unique_name,
)

# -- authorize --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizeCase:
    """An authorization request built from the third party, and what must come back."""

    id: str
    drop: tuple[str, ...] = ()
    change: dict[str, str] = field(default_factory=dict)
    seed_style: bool = False
    #: The error; redirected to the registered URI when ``redirect`` else shown (400).
    error: str = ""
    redirect: bool = True


AUTHORIZE_CASES = [
    AuthorizeCase("bad-response-type", change={"response_type": "badresponsetype"},
                  error="unsupported_response_type"),
    AuthorizeCase("token-response-type", change={"response_type": "token"},
                  error="unsupported_response_type"),
    AuthorizeCase("scope-fb-question-marks", change={"scope": "FB=????"}, error="invalid_scope"),
    AuthorizeCase("scope-not-registered", change={"scope": "FB=1_3_4_5_13_14_39;"},
                  error="invalid_scope"),
    AuthorizeCase("scope-wider-interval", change={"scope": "FB=1_3_4_5;IntervalDuration=60;"},
                  error="invalid_scope"),
    AuthorizeCase("scope-one-of-several-bad",
                  change={"scope": f"{ELECTRIC_SCOPE}|FB=1_3_4_5_13_14_39;"},
                  error="invalid_scope"),
    AuthorizeCase("scope-read-write", change={"scope": "Read/Write"}, error="invalid_scope"),
    AuthorizeCase("seed-scope-fb-question-marks", seed_style=True, change={"scope": "FB=????"},
                  error="invalid_scope"),
    AuthorizeCase("seed-scope-not-registered", seed_style=True,
                  change={"scope": "FB=1_3_4_5_13_14_39;"}, error="invalid_scope"),
    AuthorizeCase("missing-client-id", drop=("client_id",), error="invalid_client",
                  redirect=False),
    AuthorizeCase("unknown-client-id", change={"client_id": "no-such-client"},
                  error="invalid_client", redirect=False),
    AuthorizeCase("redirect-uri-not-registered",
                  change={"redirect_uri": "https://attacker.example/callback"},
                  error="invalid_request", redirect=False),
    AuthorizeCase("redirect-uri-prefix-of-registered",
                  change={"redirect_uri": "https://tp.example/callback/extra"},
                  error="invalid_request", redirect=False),
    AuthorizeCase("redirect-uri-other-scheme",
                  change={"redirect_uri": "http://tp.example/callback"},
                  error="invalid_request", redirect=False),
    AuthorizeCase("seed-redirect-uri-not-registered", seed_style=True,
                  change={"redirectUri": "https://attacker.example/callback"},
                  error="invalid_request", redirect=False),
    AuthorizeCase("seed-unknown-client-id", seed_style=True,
                  change={"clientId": "no-such-client"}, error="invalid_client", redirect=False),
]  # fmt: skip

STATE = "s t&a=te/é?"  # must come back byte for byte, however it is encoded


def authorize_query(case: AuthorizeCase, party) -> dict[str, str]:
    query = seed_query(party, state=STATE) if case.seed_style else rfc_query(party, state=STATE)
    query.update(case.change)
    for name in case.drop:
        query.pop(name)
    return query


@pytest.mark.parametrize("case", AUTHORIZE_CASES, ids=lambda case: case.id)
def test_authorize_refusals(server, party, http, case):
    response = http.get(f"{server.base_url}/oauth/authorize", params=authorize_query(case, party))
    if case.redirect:
        assert response.status_code == 302, response.text
        assert redirect_target(response) == party.redirect_uri
        params = redirect_params(response)
        assert params["error"] == case.error
        assert params["state"] == STATE
        assert "code" not in params
    else:
        # §4.1.2.1: never redirect to an untrusted URI (the page is the only answer).
        assert response.status_code == 400
        assert "location" not in response.headers
        assert page_error(response) == case.error
        assert "attacker.example" not in response.headers.get("refresh", "")


def test_authorize_missing_response_type_is_invalid_request(server, party, http):
    query = rfc_query(party, state=STATE)
    del query["response_type"]
    response = http.get(f"{server.base_url}/oauth/authorize", params=query)
    assert response.status_code == 302
    assert redirect_target(response) == party.redirect_uri
    params = redirect_params(response)
    assert params["state"] == STATE
    assert "code" not in params
    assert params["error"] == "invalid_request"


def test_authorize_missing_response_type_still_redirects_an_error(server, party, http):
    """What CMDTEST OAD001 checks: a 302 with ``error=``, the state and no code."""
    query = rfc_query(party, state=STATE)
    del query["response_type"]
    response = http.get(f"{server.base_url}/oauth/authorize", params=query)
    assert response.status_code == 302
    params = redirect_params(response)
    assert params["error"]
    assert params["state"] == STATE
    assert "code" not in params


def test_authorize_error_without_state_carries_none(server, party, http):
    query = rfc_query(party, scope="FB=????")
    del query["state"]
    response = http.get(f"{server.base_url}/oauth/authorize", params=query)
    assert response.status_code == 302
    assert redirect_params(response) == {
        "error": "invalid_scope",
        "error_description": redirect_params(response)["error_description"],
    }


def test_customer_denial_redirects_access_denied_with_state(server, party, http):
    response = walk_consent(http, server.base_url, rfc_query(party, state=STATE), decision="deny")
    assert redirect_target(response) == party.redirect_uri
    params = redirect_params(response)
    assert params["error"] == "access_denied"
    assert params["state"] == STATE
    assert "code" not in params


# -- token endpoint: authorization_code -------------------------------------------------------


def basic(party) -> tuple[str, str]:
    return (party.client_id, party.client_secret)


def test_missing_grant_type_is_a_400(server, party, http):
    """CMDTEST OAD003/OAD011 check the status only."""
    code = issue_code(http, server, rfc_query(party))
    response = token_call(
        http, server, data={"code": code, "redirect_uri": party.redirect_uri}, auth=basic(party)
    )
    assert response.status_code == 400
    assert response.json()["error"]


def test_missing_grant_type_is_invalid_request(server, party, http):
    response = token_call(http, server, data={"code": "whatever"}, auth=basic(party))
    assert error_of(response) == (400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type", ["password", "implicit", "urn:x:unknown", "Authorization_Code"]
)
def test_unsupported_grant_type(server, party, http, grant_type):
    response = token_call(http, server, data={"grant_type": grant_type}, auth=basic(party))
    assert error_of(response) == (400, "unsupported_grant_type")


def test_missing_code(server, party, http):
    response = token_call(
        http,
        server,
        data={"grant_type": "authorization_code", "redirect_uri": party.redirect_uri},
        auth=basic(party),
    )
    assert error_of(response) == (400, "invalid_request")


@pytest.mark.parametrize("code", ["not-a-code", "x" * 2000, "ocat_" + "A" * 43])
def test_bad_code(server, party, http, code):
    assert error_of(exchange(http, server, party, code)) == (400, "invalid_grant")


def test_empty_code_counts_as_missing(server, party, http):
    assert error_of(exchange(http, server, party, "")) == (400, "invalid_request")


def test_reused_code_is_refused_and_revokes_what_it_issued(server, party, http):
    code = issue_code(http, server, rfc_query(party))
    first = ok(exchange(http, server, party, code))
    assert read(http, first["authorizationURI"], first["access_token"]).status_code == 200
    assert error_of(exchange(http, server, party, code)) == (400, "invalid_grant")
    # RFC 6749 §4.1.2: tokens issued from the code are revoked.
    assert read(http, first["authorizationURI"], first["access_token"]).status_code == 401
    assert error_of(refresh(http, server, party, first["refresh_token"])) == (
        400,
        "invalid_grant",
    )


def test_reused_code_in_the_seed_json_shape(server, party, http):
    code = issue_code(http, server, seed_query(party))
    body = {
        "grantType": "authorization_code",
        "clientId": party.client_id,
        "clientSecret": party.client_secret,
        "redirectUri": party.redirect_uri,
        "oauthCode": code,
    }
    first = ok(token_call(http, server, path=SEED_TOKEN_PATH, json=body))
    again = token_call(http, server, path=SEED_TOKEN_PATH, json=body)
    assert error_of(again) == (400, "invalid_grant")
    assert read(http, first["authorizationURI"], first["access_token"]).status_code == 401


def test_expired_code(server, party, http):
    code = issue_code(http, server, rfc_query(party))
    past = datetime.now(UTC) - timedelta(seconds=1)
    with server.engine.begin() as connection:
        changed = connection.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == stored_hash(code))
            .values(expires_at=past)
        ).rowcount
    assert changed == 1
    assert error_of(exchange(http, server, party, code)) == (400, "invalid_grant")


def test_code_expires_within_ten_minutes(server, party, http):
    """RFC 6749 §4.1.2 recommends at most 10 minutes; seed 000 says 5."""
    code = issue_code(http, server, rfc_query(party))
    with server.engine.connect() as connection:
        expires_at = connection.execute(
            select(AuthorizationCode.expires_at).where(
                AuthorizationCode.code_hash == stored_hash(code)
            )
        ).scalar_one()
    assert timedelta(0) < expires_at - datetime.now(UTC) <= timedelta(minutes=10)


def test_missing_redirect_uri_when_the_request_had_one(server, party, http):
    code = issue_code(http, server, rfc_query(party))
    response = token_call(
        http, server, data={"grant_type": "authorization_code", "code": code}, auth=basic(party)
    )
    assert error_of(response) == (400, "invalid_grant")


def test_mismatched_redirect_uri(server, party, http):
    code = issue_code(http, server, rfc_query(party))
    response = exchange(http, server, party, code, redirect_uri="https://tp.example/other")
    assert error_of(response) == (400, "invalid_grant")


def test_a_refused_exchange_does_not_burn_the_code(server, party, http):
    """A mistake in the request (wrong redirect_uri) is not a replay: the code still works."""
    code = issue_code(http, server, rfc_query(party))
    wrong = exchange(http, server, party, code, redirect_uri="https://tp.example/other")
    assert error_of(wrong) == (400, "invalid_grant")
    ok(exchange(http, server, party, code))


def test_wrong_client_secret_with_basic_is_401(server, party, http):
    code = issue_code(http, server, rfc_query(party))
    response = token_call(
        http,
        server,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": party.redirect_uri},
        auth=(party.client_id, "ocs_wrong-secret"),
    )
    assert error_of(response) == (401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    # The failed attempt did not consume the code.
    ok(exchange(http, server, party, code))


def test_wrong_client_secret_in_the_seed_json_body(server, party, http):
    response = token_call(
        http,
        server,
        path=SEED_TOKEN_PATH,
        json={
            "grantType": "authorization_code",
            "clientId": party.client_id,
            "clientSecret": "ocs_wrong-secret",
            "redirectUri": party.redirect_uri,
            "oauthCode": "whatever",
        },
    )
    assert error_of(response) == (401, "invalid_client")


def test_unknown_client_with_basic_is_401(server, http):
    response = token_call(
        http,
        server,
        data={"grant_type": "authorization_code", "code": "whatever"},
        auth=("no-such-client", "secret"),
    )
    assert error_of(response) == (401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


def test_unknown_client_in_the_body(server, http):
    response = token_call(
        http,
        server,
        data={
            "grant_type": "authorization_code",
            "code": "whatever",
            "client_id": "no-such-client",
            "client_secret": "secret",
        },
    )
    status, error = error_of(response)
    assert error == "invalid_client"
    assert status in {400, 401}  # RFC 6749 §5.2: 401 is required only for header auth


def test_no_client_authentication(server, http):
    response = token_call(http, server, data={"grant_type": "authorization_code", "code": "x"})
    assert error_of(response) == (401, "invalid_client")


def test_confidential_client_cannot_authenticate_with_client_id_alone(server, party, http):
    code = issue_code(http, server, rfc_query(party))
    response = token_call(
        http,
        server,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": party.redirect_uri,
            "client_id": party.client_id,
        },
    )
    assert error_of(response) == (401, "invalid_client")


def test_secret_in_both_basic_header_and_body(server, party, http):
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
        auth=basic(party),
    )
    assert error_of(response) == (400, "invalid_request")


def test_secret_in_both_basic_header_and_seed_json(server, party, http):
    response = token_call(
        http,
        server,
        path=SEED_TOKEN_PATH,
        json={
            "grantType": "authorization_code",
            "clientSecret": party.client_secret,
            "redirectUri": party.redirect_uri,
            "oauthCode": "whatever",
        },
        auth=basic(party),
    )
    assert error_of(response) == (400, "invalid_request")


def test_basic_auth_and_a_different_client_id_in_the_body(server, party, http):
    other = server.register(unique_name("Other"))
    code = issue_code(http, server, rfc_query(party))
    response = exchange(http, server, party, code, client_id=other.client_id)
    assert response.status_code in {400, 401}
    assert response.json()["error"] in {"invalid_request", "invalid_client"}


def test_code_issued_to_another_client(server, party, http):
    other = server.register(unique_name("Other"))
    code = issue_code(http, server, rfc_query(party))
    response = token_call(
        http,
        server,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": party.redirect_uri},
        auth=(other.client_id, other.client_secret),
    )
    assert error_of(response) == (400, "invalid_grant")
    # The rightful client is unaffected.
    ok(exchange(http, server, party, code))


DUPLICATE_BODIES = {
    "form-code-twice": ("form", "code"),
    "json-oauthCode-and-authCode": ("json", "code"),
    "json-grantType-and-grant_type": ("json", "grant_type"),
}


@pytest.mark.parametrize("case", list(DUPLICATE_BODIES))
def test_duplicate_token_parameters_are_refused(server, party, http, case):
    shape, _ = DUPLICATE_BODIES[case]
    code = issue_code(http, server, rfc_query(party))
    kwargs: dict[str, Any]
    if case == "form-code-twice":
        form = (
            f"grant_type=authorization_code&code={code}&code={code}"
            f"&redirect_uri={party.redirect_uri}"
        )
        kwargs = {"content": form.encode(), "headers": FORM, "auth": basic(party)}
    elif case == "json-oauthCode-and-authCode":
        kwargs = {
            "json": {
                "grantType": "authorization_code",
                "clientId": party.client_id,
                "clientSecret": party.client_secret,
                "redirectUri": party.redirect_uri,
                "oauthCode": code,
                "authCode": "a-different-code",
            }
        }
    else:
        kwargs = {
            "json": {
                "grantType": "authorization_code",
                "grant_type": "client_credentials",
                "scope": "FB=35_67",
                "clientId": party.client_id,
                "clientSecret": party.client_secret,
                "redirectUri": party.redirect_uri,
                "oauthCode": code,
            }
        }
    assert shape in {"form", "json"}
    assert error_of(token_call(http, server, **kwargs)) == (400, "invalid_request")


# -- token endpoint: refresh_token ------------------------------------------------------------


def test_refresh_missing_refresh_token(server, party, http):
    response = token_call(http, server, data={"grant_type": "refresh_token"}, auth=basic(party))
    assert error_of(response) == (400, "invalid_request")


@pytest.mark.parametrize("token", ["not-a-refresh-token", "ocrt_" + "A" * 43])
def test_refresh_bad_refresh_token(server, party, http, token):
    assert error_of(refresh(http, server, party, token)) == (400, "invalid_grant")


def test_refresh_with_the_access_token_instead(server, party, http):
    tokens = customer_tokens(http, server, party)
    assert error_of(refresh(http, server, party, tokens["access_token"])) == (
        400,
        "invalid_grant",
    )


@pytest.mark.parametrize(
    "scope",
    [
        f"{ELECTRIC_SCOPE}|{BILLING_SCOPE}",  # registered, but not granted
        BILLING_SCOPE,
        "FB=1_3_4_5_13;",
        "Read/Write",  # CMDTEST OAD011
        "FB=????",
    ],
    ids=["wider", "other-registered", "more-blocks", "read-write", "question-marks"],
)
def test_refresh_beyond_the_granted_scope(server, party, http, scope):
    tokens = customer_tokens(http, server, party)
    assert error_of(refresh(http, server, party, tokens["refresh_token"], scope=scope)) == (
        400,
        "invalid_scope",
    )
    # The refused request did not spend the refresh token.
    ok(refresh(http, server, party, tokens["refresh_token"]))


def test_rotated_refresh_token_reuse_revokes_the_grant(server, party, http):
    first = customer_tokens(http, server, party)
    second = ok(refresh(http, server, party, first["refresh_token"]))
    assert read(http, second["authorizationURI"], second["access_token"]).status_code == 200
    assert error_of(refresh(http, server, party, first["refresh_token"])) == (
        400,
        "invalid_grant",
    )
    # RFC 9700 §4.14.2: the whole grant is revoked, newest tokens included.
    assert read(http, second["authorizationURI"], second["access_token"]).status_code == 401
    assert error_of(refresh(http, server, party, second["refresh_token"])) == (
        400,
        "invalid_grant",
    )


def test_refresh_with_a_secret_in_both_places(server, party, http):
    tokens = customer_tokens(http, server, party)
    response = refresh(
        http, server, party, tokens["refresh_token"], client_secret=party.client_secret
    )
    assert error_of(response) == (400, "invalid_request")


# -- token endpoint: client_credentials -------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        "FB=read/write",  # CMDTEST OAD014
        "FB=1_3_4_5",  # customer data: only a customer can grant it
        "FB=1_3_4_5_35",
        "FB=51_53_56",
        "FB=35_67;|FB=1_3_4_5;",
        "Read/Write",
    ],
)
@pytest.mark.parametrize("shape", ["form", "json"])
def test_client_credentials_scope_refusals(server, party, http, scope, shape):
    body = {"grant_type": "client_credentials", "scope": scope}
    kwargs: dict[str, Any] = {"json": body} if shape == "json" else {"data": body}
    response = token_call(http, server, auth=basic(party), **kwargs)
    assert error_of(response) == (400, "invalid_scope")


def test_client_credentials_bulk_outside_the_registration(server, http):
    """A party registered without bulk blocks may not get a bulk token."""
    party = server.register(unique_name("NoBulk"), scopes=(ELECTRIC_SCOPE,))
    response = token_call(
        http,
        server,
        data={"grant_type": "client_credentials", "scope": "FB=35_67"},
        auth=basic(party),
    )
    assert error_of(response) == (400, "invalid_scope")


# -- malformed bodies -------------------------------------------------------------------------

JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
BODIES = {
    "form-not-utf8": (b"grant_type=client_credentials&scope=\xff\xfe", FORM),
    "json-not-utf8": (b'{"grant_type": "client_credentials", "scope": "\xff"}', JSON),
    "json-array": (b'[{"grant_type": "client_credentials"}]', JSON),
    "json-string": (b'"grant_type=client_credentials"', JSON),
    "json-truncated": (b'{"grant_type": "client_cre', JSON),
    "json-nested-value": (json.dumps({"grant_type": {"a": 1}}).encode(), JSON),
    "json-null-value": (json.dumps({"grant_type": None}).encode(), JSON),
    "json-list-value": (json.dumps({"scope": ["FB=35_67"]}).encode(), JSON),
    "form-oversize": (b"grant_type=client_credentials&pad=" + b"x" * (64 * 1024), FORM),
    "json-oversize": (json.dumps({"pad": "x" * (64 * 1024)}).encode(), JSON),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_malformed_bodies(server, party, http, name):
    content, headers = BODIES[name]
    response = token_call(http, server, content=content, headers=headers, auth=basic(party))
    assert error_of(response) == (400, "invalid_request")


def test_oversize_body_is_refused_without_a_content_length(server, party, http):
    def chunks():
        for _ in range(80):
            yield b"x" * 1024

    response = token_call(http, server, content=chunks(), headers=FORM, auth=basic(party))
    assert error_of(response) == (400, "invalid_request")


@pytest.mark.parametrize("name", ["json-array", "form-oversize"])
def test_malformed_bodies_at_revocation(server, party, http, name):
    content, headers = BODIES[name]
    response = http.post(
        f"{server.base_url}/oauth/revoke", content=content, headers=headers, auth=basic(party)
    )
    assert error_of(response) == (400, "invalid_request")
