"""RFC 7662 introspection: own live tokens are active, everything else is only inactive."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opencustodian.kit.time import utc_now
from tests.functional.cds_admin.helpers import (
    admin_token,
    end_as_customer,
    expire_access_tokens,
    granted,
    introspect,
    new_party,
    set_application_status,
    set_grant_end,
)
from tests.functional.oauth.flows import ok, refresh, revoke

INACTIVE = {"active": False}


@pytest.fixture
def flow(server, http):
    """A fresh third party, its customer's token response and the grant id."""
    party = new_party(server, "cds_accounts cds_usage")
    tokens = granted(http, server, party, "cds_accounts cds_usage", username="customer0001")
    return party, tokens, tokens["cds_grant_ids"][0]


def test_own_access_token_is_active_with_its_facts(server, http, flow):
    party, tokens, grant_id = flow
    response = introspect(http, server, party, tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    facts = response.json()
    assert facts["active"] is True
    assert facts["client_id"] == party.client_id
    assert facts["scope"] == tokens["scope"] == "cds_accounts cds_usage"
    assert facts["token_type"] == "Bearer"
    assert facts["cds_grant_ids"] == [grant_id]
    assert facts["iss"] == server.base_url
    assert facts["sub"]
    assert 3500 <= facts["exp"] - facts["iat"] <= 3600
    assert abs(facts["iat"] - utc_now().timestamp()) < 120


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "nonsense"])
def test_own_refresh_token_is_active_whatever_the_hint(server, http, flow, hint):
    party, tokens, grant_id = flow
    extra = {"token_type_hint": hint} if hint else {}
    facts = introspect(http, server, party, tokens["refresh_token"], **extra).json()
    assert facts["active"] is True
    assert facts["cds_grant_ids"] == [grant_id]
    assert "token_type" not in facts  # a refresh token is not a Bearer access token
    assert facts["exp"] - facts["iat"] > 86_400  # the refresh lifetime, not the access one


def test_another_clients_token_is_only_inactive(server, http, flow):
    _, tokens, _ = flow
    stranger = new_party(server)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = introspect(http, server, stranger, token)
        assert response.status_code == 200
        assert response.json() == INACTIVE


def test_unknown_token_is_inactive(server, http, flow):
    party, _, _ = flow
    assert introspect(http, server, party, "ocat_no-such-token-at-all").json() == INACTIVE


def test_a_revoked_access_token_is_inactive_and_its_refresh_token_lives_on(server, http, flow):
    party, tokens, _ = flow
    assert revoke(http, server, party, tokens["access_token"]).status_code == 200
    assert introspect(http, server, party, tokens["access_token"]).json() == INACTIVE
    assert introspect(http, server, party, tokens["refresh_token"]).json()["active"] is True


def test_a_rotated_refresh_token_is_inactive(server, http, flow):
    party, tokens, _ = flow
    renewed = ok(refresh(http, server, party, tokens["refresh_token"]))
    assert introspect(http, server, party, tokens["refresh_token"]).json() == INACTIVE
    assert introspect(http, server, party, tokens["access_token"]).json() == INACTIVE
    assert introspect(http, server, party, renewed["refresh_token"]).json()["active"] is True


def test_an_expired_access_token_is_inactive(server, http, flow):
    party, tokens, grant_id = flow
    expire_access_tokens(server, grant_id, utc_now() - timedelta(seconds=1))
    assert introspect(http, server, party, tokens["access_token"]).json() == INACTIVE


def test_a_grant_past_its_end_makes_both_tokens_inactive(server, http, flow):
    party, tokens, grant_id = flow
    set_grant_end(server, grant_id, utc_now() - timedelta(minutes=1))
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(http, server, party, token).json() == INACTIVE


def test_a_grant_the_customer_revoked_makes_both_tokens_inactive(server, http, flow):
    party, tokens, grant_id = flow
    end_as_customer(server, grant_id)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(http, server, party, token).json() == INACTIVE


def test_a_suspended_third_party_cannot_introspect_until_reinstated(server, http, flow):
    party, tokens, _ = flow
    set_application_status(server, party, "suspended")
    refused = introspect(http, server, party, tokens["access_token"])
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    set_application_status(server, party, "production")
    assert introspect(http, server, party, tokens["access_token"]).json()["active"] is True


def test_client_authentication_is_required(server, http, flow):
    party, tokens, _ = flow
    anonymous = introspect(http, server, None, tokens["access_token"])
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    wrong = http.post(
        f"{server.base_url}/oauth/introspect",
        data={"token": tokens["access_token"]},
        auth=(party.client_id, "not-the-secret"),
    )
    assert wrong.status_code == 401
    assert "active" not in wrong.json()


def test_post_credentials_work_and_a_missing_token_is_invalid_request(server, http, flow):
    party, tokens, _ = flow
    posted = http.post(
        f"{server.base_url}/oauth/introspect",
        data={
            "token": tokens["access_token"],
            "client_id": party.client_id,
            "client_secret": party.client_secret,
        },
    )
    assert posted.json()["active"] is True
    missing = http.post(
        f"{server.base_url}/oauth/introspect", auth=(party.client_id, party.client_secret)
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def test_a_client_credentials_token_names_no_grant(server, http, flow):
    party, _, _ = flow
    token = admin_token(http, server, party)
    facts = introspect(http, server, party, token).json()
    assert facts["active"] is True
    assert facts["scope"] == "cds_client_admin"
    assert facts["cds_grant_ids"] == []
