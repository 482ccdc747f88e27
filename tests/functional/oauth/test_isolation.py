"""No crossing between third parties, nor between one party's grants.

A second registered party (ESPI: another ApplicationInformation) must not read, redeem,
refresh or revoke anything issued to the first; a customer token reaches only its own grant.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import update

from opencustodian.storage.models import ThirdPartyApplication
from tests.custodian import ELECTRIC_SCOPE
from tests.functional.oauth.flows import (
    client_tokens,
    customer_tokens,
    error_of,
    exchange,
    issue_code,
    ok,
    read,
    refresh,
    revoke,
    rfc_query,
    token_call,
    unique_name,
)

ACTIVE = "<espi:status>1</espi:status>"


@pytest.fixture
def other(server):
    return server.register(unique_name("Other App"))


def test_another_partys_client_token_cannot_read_the_authorization(server, party, other, http):
    tokens = customer_tokens(http, server, party)
    own = client_tokens(http, server, party)
    foreign = client_tokens(http, server, other)
    assert read(http, tokens["authorizationURI"], own["access_token"]).status_code == 200
    assert read(http, tokens["authorizationURI"], foreign["access_token"]).status_code == 404
    # Nor the first party's client grant.
    assert read(http, own["authorizationURI"], foreign["access_token"]).status_code == 404


def test_another_partys_authorization_feed_leaves_the_grant_out(server, party, other, http):
    tokens = customer_tokens(http, server, party)
    grant_id = tokens["authorizationURI"].rsplit("/", 1)[1]
    feed_uri = f"{server.base_url}/espi/1_1/resource/Authorization"
    own = read(http, feed_uri, client_tokens(http, server, party)["access_token"])
    foreign = read(http, feed_uri, client_tokens(http, server, other)["access_token"])
    assert own.status_code == 200
    assert grant_id in own.text
    assert foreign.status_code == 200
    assert grant_id not in foreign.text


def test_another_partys_customer_token_cannot_read_the_authorization(server, party, other, http):
    mine = customer_tokens(http, server, party)
    theirs = customer_tokens(http, server, other)
    assert read(http, mine["authorizationURI"], theirs["access_token"]).status_code == 404
    assert read(http, theirs["authorizationURI"], mine["access_token"]).status_code == 404


def test_another_party_cannot_redeem_the_code(server, party, other, http):
    code = issue_code(http, server, rfc_query(party))
    stolen = token_call(
        http,
        server,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": party.redirect_uri},
        auth=(other.client_id, other.client_secret),
    )
    assert error_of(stolen) == (400, "invalid_grant")
    stolen_json = token_call(
        http,
        server,
        path="/espi/1_1/oauth/token",
        json={
            "grantType": "authorization_code",
            "clientId": other.client_id,
            "clientSecret": other.client_secret,
            "redirectUri": other.redirect_uri,
            "oauthCode": code,
        },
    )
    assert error_of(stolen_json) == (400, "invalid_grant")
    ok(exchange(http, server, party, code))


def test_another_party_cannot_refresh_the_token(server, party, other, http):
    tokens = customer_tokens(http, server, party)
    assert error_of(refresh(http, server, other, tokens["refresh_token"])) == (
        400,
        "invalid_grant",
    )
    # The attempt neither spent nor revoked the token.
    assert read(http, tokens["authorizationURI"], tokens["access_token"]).status_code == 200
    ok(refresh(http, server, party, tokens["refresh_token"]))


def test_another_party_replaying_a_rotated_refresh_token_does_not_end_the_grant(
    server, party, other, http
):
    """Only the owner's replay is evidence of theft; a stranger's is just a bad token."""
    first = customer_tokens(http, server, party)
    second = ok(refresh(http, server, party, first["refresh_token"]))
    assert error_of(refresh(http, server, other, first["refresh_token"])) == (
        400,
        "invalid_grant",
    )
    assert read(http, second["authorizationURI"], second["access_token"]).status_code == 200


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_another_party_cannot_revoke_the_token(server, party, other, http, which):
    tokens = customer_tokens(http, server, party)
    response = revoke(http, server, other, tokens[which])
    assert response.status_code in {200, 400}  # RFC 7009 §2.1: refused; 200 hides existence
    assert read(http, tokens["authorizationURI"], tokens["access_token"]).status_code == 200
    assert (
        ACTIVE
        in read(
            http, tokens["authorizationURI"], client_tokens(http, server, party)["access_token"]
        ).text
    )
    ok(refresh(http, server, party, tokens["refresh_token"]))


def test_another_party_cannot_revoke_the_client_token(server, party, other, http):
    own = client_tokens(http, server, party)
    revoke(http, server, other, own["access_token"])
    assert read(http, own["authorizationURI"], own["access_token"]).status_code == 200


def test_a_customer_token_reads_only_its_own_grant(server, party):
    # Two grants of one party: one customer's two consents, and another customer's.
    with httpx.Client() as first_customer, httpx.Client() as second_customer:
        one = customer_tokens(first_customer, server, party)
        two = customer_tokens(first_customer, server, party, ELECTRIC_SCOPE)
        three = customer_tokens(second_customer, server, party, username="customer0002")
        http = first_customer
        assert read(http, one["authorizationURI"], one["access_token"]).status_code == 200
        assert read(http, two["authorizationURI"], one["access_token"]).status_code == 404
        assert read(http, three["authorizationURI"], one["access_token"]).status_code == 404
        assert read(http, one["authorizationURI"], three["access_token"]).status_code == 404
        # A customer token may not list the party's grants (client access token only).
        feed = read(http, f"{server.base_url}/espi/1_1/resource/Authorization", one["access_token"])
        assert feed.status_code == 403


@pytest.mark.parametrize(
    "raw_id",
    ["not-a-uuid", str(uuid.UUID(int=0)), "3fa85f64-5717-4562-b3fc-2c963f66afa6", "%00", "1"],
)
def test_unknown_authorization_ids_are_404(server, party, http, raw_id):
    client = client_tokens(http, server, party)
    uri = f"{server.base_url}/espi/1_1/resource/Authorization/{raw_id}"
    assert read(http, uri, client["access_token"]).status_code == 404


def test_a_suspended_party_cannot_get_tokens(server, http):
    """``query_client`` hides applications that may not act."""
    party = server.register(unique_name("Suspended"))
    tokens = customer_tokens(http, server, party)
    with server.engine.begin() as connection:
        connection.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.client_id == party.client_id)
            .values(status="suspended")
        )
    assert read(http, tokens["authorizationURI"], tokens["access_token"]).status_code == 401
    assert error_of(refresh(http, server, party, tokens["refresh_token"])) == (
        401,
        "invalid_client",
    )
    response = http.get(f"{server.base_url}/oauth/authorize", params=rfc_query(party))
    assert response.status_code == 400
    assert "location" not in response.headers
