"""Tokens over their life: expiry, refresh, RFC 7009 revocation and the token rate limit.

- an expired access token gets 401 (CMDTEST OAD016) and the refresh token still renews it;
- revoking an access token stops only it; revoking the refresh token ends the grant, which the
  third party then sees as ``<espi:status>0</espi:status>`` on the Authorization resource;
- 50 token calls per client per minute (seed 000 §3.3 b); the 51st gets 429 + Retry-After.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from opencustodian.storage.models import OAuthToken
from tests.functional.oauth.flows import (
    client_tokens,
    customer_tokens,
    error_of,
    ok,
    read,
    refresh,
    revoke,
    stored_hash,
    token_call,
    unique_name,
)

ACTIVE = "<espi:status>1</espi:status>"
REVOKED = "<espi:status>0</espi:status>"


def set_token_times(server, access_token: str, **values: datetime) -> None:
    with server.engine.begin() as connection:
        changed = connection.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == stored_hash(access_token))
            .values(**values)
        ).rowcount
    assert changed == 1


# -- expiry -----------------------------------------------------------------------------------


def test_expired_access_token_is_401_and_refresh_renews_it(server, party, http):
    tokens = customer_tokens(http, server, party)
    past = datetime.now(UTC) - timedelta(seconds=1)
    set_token_times(server, tokens["access_token"], access_expires_at=past)
    expired = read(http, tokens["authorizationURI"], tokens["access_token"])
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    renewed = ok(refresh(http, server, party, tokens["refresh_token"]))
    assert read(http, renewed["authorizationURI"], renewed["access_token"]).status_code == 200


def test_expired_refresh_token_is_invalid_grant(server, party, http):
    tokens = customer_tokens(http, server, party)
    past = datetime.now(UTC) - timedelta(seconds=1)
    set_token_times(server, tokens["access_token"], refresh_expires_at=past)
    assert error_of(refresh(http, server, party, tokens["refresh_token"])) == (
        400,
        "invalid_grant",
    )


def test_refresh_token_lives_about_a_year(server, party, http):
    """Seed 000 §3.3 d: an unused refresh token expires after one year."""
    tokens = customer_tokens(http, server, party)
    with server.engine.connect() as connection:
        expires = connection.execute(
            select(OAuthToken.refresh_expires_at).where(
                OAuthToken.access_token_hash == stored_hash(tokens["access_token"])
            )
        ).scalar_one()
    assert timedelta(days=360) <= expires - datetime.now(UTC) <= timedelta(days=367)


def test_each_refresh_rotates_and_retires_the_previous_pair(server, party, http):
    tokens = customer_tokens(http, server, party)
    seen = [tokens]
    for _ in range(3):
        seen.append(ok(refresh(http, server, party, seen[-1]["refresh_token"])))
    assert len({body["access_token"] for body in seen}) == 4
    assert len({body["refresh_token"] for body in seen}) == 4
    assert {body["authorizationURI"] for body in seen} == {tokens["authorizationURI"]}
    statuses = [
        read(http, body["authorizationURI"], body["access_token"]).status_code for body in seen
    ]
    assert statuses == [401, 401, 401, 200]


# -- RFC 7009 revocation ----------------------------------------------------------------------


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_the_access_token_stops_it(server, party, http, hint):
    tokens = customer_tokens(http, server, party)
    assert revoke(http, server, party, tokens["access_token"], hint).status_code == 200
    assert read(http, tokens["authorizationURI"], tokens["access_token"]).status_code == 401


def test_revoking_the_access_token_leaves_the_refresh_token_working(server, party, http):
    tokens = customer_tokens(http, server, party)
    assert revoke(http, server, party, tokens["access_token"]).status_code == 200
    renewed = ok(refresh(http, server, party, tokens["refresh_token"]))
    assert read(http, renewed["authorizationURI"], renewed["access_token"]).status_code == 200


def test_revoking_the_access_token_keeps_the_grant_active(server, party, http):
    tokens = customer_tokens(http, server, party)
    client = client_tokens(http, server, party)
    assert revoke(http, server, party, tokens["access_token"]).status_code == 200
    entry = read(http, tokens["authorizationURI"], client["access_token"])
    assert entry.status_code == 200
    assert ACTIVE in entry.text


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
def test_revoking_the_refresh_token_ends_the_grant(server, party, http, hint):
    tokens = customer_tokens(http, server, party)
    client = client_tokens(http, server, party)
    before = read(http, tokens["authorizationURI"], client["access_token"])
    assert ACTIVE in before.text
    assert revoke(http, server, party, tokens["refresh_token"], hint).status_code == 200
    after = read(http, tokens["authorizationURI"], client["access_token"])
    assert after.status_code == 200
    assert REVOKED in after.text
    assert read(http, tokens["authorizationURI"], tokens["access_token"]).status_code == 401
    assert error_of(refresh(http, server, party, tokens["refresh_token"])) == (
        400,
        "invalid_grant",
    )


def test_revoking_twice_is_still_200(server, party, http):
    tokens = customer_tokens(http, server, party)
    assert revoke(http, server, party, tokens["refresh_token"]).status_code == 200
    assert revoke(http, server, party, tokens["refresh_token"]).status_code == 200
    assert revoke(http, server, party, tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("token", ["never-issued-token", "ocat_" + "B" * 43, "ocrt_" + "C" * 43])
def test_revoking_an_unknown_token_is_200(server, party, http, token):
    """RFC 7009 §2.2: invalid tokens do not cause an error response."""
    response = revoke(http, server, party, token)
    assert response.status_code == 200


def test_revoking_a_client_access_token(server, party, http):
    client = client_tokens(http, server, party)
    assert read(http, client["authorizationURI"], client["access_token"]).status_code == 200
    assert revoke(http, server, party, client["access_token"]).status_code == 200
    assert read(http, client["authorizationURI"], client["access_token"]).status_code == 401
    # A new client access token still works.
    fresh = client_tokens(http, server, party)
    assert read(http, fresh["authorizationURI"], fresh["access_token"]).status_code == 200


def test_revocation_needs_client_authentication(server, party, http):
    tokens = customer_tokens(http, server, party)
    anonymous = http.post(f"{server.base_url}/oauth/revoke", data={"token": tokens["access_token"]})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    wrong = http.post(
        f"{server.base_url}/oauth/revoke",
        data={"token": tokens["access_token"]},
        auth=(party.client_id, "ocs_wrong"),
    )
    assert error_of(wrong) == (401, "invalid_client")
    assert read(http, tokens["authorizationURI"], tokens["access_token"]).status_code == 200


def test_revocation_without_a_token_is_invalid_request(server, party, http):
    response = http.post(
        f"{server.base_url}/oauth/revoke", data={}, auth=(party.client_id, party.client_secret)
    )
    assert error_of(response) == (400, "invalid_request")


def test_revocation_ignores_an_unknown_hint(server, party, http):
    """RFC 7009 §2.1: an invalid hint does not influence the response; the token is found."""
    tokens = customer_tokens(http, server, party)
    response = revoke(http, server, party, tokens["access_token"], "id_token")
    assert response.status_code == 200
    assert read(http, tokens["authorizationURI"], tokens["access_token"]).status_code == 401


# -- rate limit -------------------------------------------------------------------------------


def cheap_call(server, http, party):
    return token_call(
        http,
        server,
        data={"grant_type": "client_credentials", "scope": "FB=35_67"},
        auth=(party.client_id, party.client_secret),
    )


def test_the_51st_token_call_in_a_minute_is_429(server, party, http):
    other = server.register(unique_name("Other"))
    statuses = [cheap_call(server, http, party).status_code for _ in range(50)]
    assert statuses == [200] * 50
    limited = cheap_call(server, http, party)
    assert limited.status_code == 429, limited.text
    retry_after = limited.headers["retry-after"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    # Another client is not affected.
    assert cheap_call(server, http, other).status_code == 200
    # Nor is the limited client's data access: only the token endpoint is limited.
    token = ok(cheap_call(server, http, other))
    assert read(http, token["authorizationURI"], token["access_token"]).status_code == 200


def test_the_limit_counts_every_dialect_and_path(server, party, http):
    """Seed JSON bodies on /espi/1_1/oauth/token count against the same budget."""
    for index in range(50):
        path = "/espi/1_1/oauth/token" if index % 2 else "/oauth/token"
        response = token_call(
            http,
            server,
            path=path,
            json={"grant_type": "client_credentials", "scope": "FB=35_67"},
            auth=(party.client_id, party.client_secret),
        )
        assert response.status_code == 200, (index, response.text)
    assert cheap_call(server, http, party).status_code == 429


def test_forged_calls_do_not_exhaust_another_clients_budget(server, party, http):
    for _ in range(50):
        forged = token_call(
            http,
            server,
            data={"grant_type": "client_credentials", "scope": "FB=35_67"},
            auth=(party.client_id, "ocs_guess"),
        )
        assert forged.status_code in {401, 429}
    assert cheap_call(server, http, party).status_code == 200
