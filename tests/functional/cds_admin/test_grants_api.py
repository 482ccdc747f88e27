"""The Grants API (CDS-WG1-02 §8) over real HTTP: listing, filters, paging, reading, closing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from opencustodian.domain.events import EventTag
from opencustodian.kit.time import utc_now
from opencustodian.storage.models import AuditEvent
from tests.cds_schemas import assert_valid
from tests.functional.cds.helpers import EVERYTHING
from tests.functional.cds.test_authorization_details import accept, consent_page
from tests.functional.cds_admin.helpers import (
    admin_get,
    admin_token,
    end_as_customer,
    granted,
    new_party,
    patch_grant,
    set_grant_end,
)
from tests.functional.oauth.flows import client_tokens, exchange, ok, refresh

ACCOUNTS_ONLY = "cds_accounts"


@pytest.fixture
def owner(server, http):
    """A third party with three customer grants (one per customer) and its admin token."""
    party = new_party(server)
    grants = {
        username: granted(http, server, party, scope, username=username)
        for username, scope in (
            ("customer0001", EVERYTHING),
            ("customer0002", ACCOUNTS_ONLY),
            ("customer0003", "cds_accounts cds_usage"),
        )
    }
    return party, admin_token(http, server, party), grants


def grant_id(tokens) -> str:
    (only,) = tokens["cds_grant_ids"]
    return str(only)


def listed(http, server, token, **params) -> dict[str, Any]:
    response = admin_get(http, server, "grants", token, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_valid("GrantListing", body)
    return body


def test_the_listing_holds_exactly_the_clients_grants(server, http, owner):
    party, token, grants = owner
    other = new_party(server)
    other_grant = grant_id(granted(http, server, other, ACCOUNTS_ONLY, username="customer0001"))
    body = listed(http, server, token)
    ids = [grant["grant_id"] for grant in body["grants"]]
    assert set(ids) == {grant_id(tokens) for tokens in grants.values()}
    assert other_grant not in ids
    for grant in body["grants"]:
        assert grant["client_id"] == party.client_id
        assert grant["status"] == "active"
        assert grant["uri"] == f"{server.base_url}/cds/v1/grants/{grant['grant_id']}"
        assert grant["enabled_scope"] == grant["scope"]
        assert grant["expires"] == grant["not_after"]
    modified = [grant["modified"] for grant in body["grants"]]
    assert modified == sorted(modified, reverse=True)
    assert body["next"] is None
    assert body["previous"] is None


def test_filters_intersect(server, http, owner):
    _, token, grants = owner
    everything = grant_id(grants["customer0001"])
    accounts = grant_id(grants["customer0002"])
    usage_too = grant_id(grants["customer0003"])

    def ids(**params: str) -> set[str]:
        return {grant["grant_id"] for grant in listed(http, server, token, **params)["grants"]}

    assert ids(grant_ids=f"{everything} {accounts}") == {everything, accounts}
    assert ids(scopes="cds_usage") == {everything, usage_too}
    assert ids(scopes="cds_usage", grant_ids=accounts) == set()
    assert ids(statuses="active") == {everything, accounts, usage_too}
    assert ids(statuses="closed revoked") == set()
    assert ids(client_ids="somebody-else") == set()
    assert ids(parents="anything") == set()
    assert ids(receipt_confirmations="anything") == set()
    earlier = (utc_now() - timedelta(hours=1)).isoformat()
    later = (utc_now() + timedelta(hours=1)).isoformat()
    assert ids(after=earlier, before=later) == {everything, accounts, usage_too}
    assert ids(after=later) == set()
    assert ids(before=earlier) == set()


@pytest.mark.parametrize(
    "params",
    [{"nonsense": "1"}, {"limit": "0"}, {"offset": "-1"}, {"after": "yesterday"}],
    ids=["unknown", "limit", "offset", "after"],
)
def test_a_bad_query_is_a_problem(server, http, owner, params):
    _, token, _ = owner
    response = admin_get(http, server, "grants", token, **params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert_valid("Problem", response.json())


def test_paging_walks_every_grant_once(server, http, owner):
    _, token, _ = owner
    everything = [grant["grant_id"] for grant in listed(http, server, token)["grants"]]
    seen: list[str] = []
    url: str | None = f"{server.base_url}/cds/v1/grants?limit=1"
    pages = 0
    while url:
        page = http.get(url, headers={"Authorization": f"Bearer {token}"}).json()
        assert_valid("GrantListing", page)
        assert (page["previous"] is None) == (pages == 0)
        seen.extend(grant["grant_id"] for grant in page["grants"])
        url = page["next"]
        pages += 1
    assert seen == everything
    assert pages == len(everything)


def test_read_one_grant(server, http, owner):
    _, token, grants = owner
    wanted = grant_id(grants["customer0001"])
    response = admin_get(http, server, f"grants/{wanted}", token)
    assert response.status_code == 200
    grant = response.json()
    assert_valid("Grant", grant)
    assert grant["grant_id"] == wanted
    assert grant["scope"] == EVERYTHING
    assert grant == next(
        item for item in listed(http, server, token)["grants"] if item["grant_id"] == wanted
    )


@pytest.mark.parametrize("kind", ["another-clients", "unknown", "malformed"])
def test_a_grant_that_is_not_the_callers_is_404(server, http, owner, kind):
    _, token, _ = owner
    other = new_party(server)
    ids = {
        "another-clients": grant_id(
            granted(http, server, other, ACCOUNTS_ONLY, username="customer0002")
        ),
        "unknown": str(uuid.uuid4()),
        "malformed": "not-a-grant",
    }
    for response in (
        admin_get(http, server, f"grants/{ids[kind]}", token),
        patch_grant(http, server, ids[kind], token, {"status": "closed"}),
    ):
        assert response.status_code == 404
        assert_valid("Problem", response.json())
    if kind == "another-clients":
        other_admin = admin_token(http, server, other)
        still = admin_get(http, server, f"grants/{ids[kind]}", other_admin).json()
        assert still["status"] == "active"


def test_closing_a_grant_stops_its_tokens(server, http, owner):
    party, token, grants = owner
    tokens = grants["customer0001"]
    wanted = grant_id(tokens)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get(f"{server.base_url}/cds/v1/accounts", headers=bearer).status_code == 200
    response = patch_grant(http, server, wanted, token, {"status": "closed", "grant_id": "x"})
    assert response.status_code == 200, response.text
    grant = response.json()
    assert_valid("Grant", grant)
    assert grant["grant_id"] == wanted  # read-only members in the body are ignored (§8.6)
    assert grant["status"] == "closed"
    assert grant["enabled_scope"] == ""
    assert grant["enabled_authorization_details"] == []
    refused = http.get(f"{server.base_url}/cds/v1/accounts", headers=bearer)
    assert refused.status_code == 401
    assert "invalid_token" in refused.headers["www-authenticate"]
    assert refresh(http, server, party, tokens["refresh_token"]).status_code == 400
    assert listed(http, server, token, statuses="closed")["grants"] == [grant]
    # Closing again changes nothing.
    again = patch_grant(http, server, wanted, token, {"status": "closed"})
    assert again.status_code == 200
    assert again.json()["status"] == "closed"
    with server.engine.connect() as connection:
        events = connection.execute(
            select(AuditEvent.actor, AuditEvent.data).where(
                AuditEvent.tag == EventTag.GRANT_ENDED.value,
                AuditEvent.subject == f"grant:{wanted}",
            )
        ).all()
    assert len(events) == 1
    assert events[0].actor == f"client:{party.client_id}"
    assert events[0].data["reason"] == "third_party_revoked"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"status": "active"}, "closed"),
        ({"status": "revoked"}, "closed"),
        ({"scope": "cds_accounts"}, "scope"),
        ({"status": "closed", "authorization_details": []}, "authorization_details"),
        ({}, "nothing to change"),
        ({"grant_id": "x"}, "nothing to change"),
        ([{"status": "closed"}], "JSON object"),
        (b"{not json", "not JSON"),
    ],
    ids=[
        "reactivate",
        "revoke",
        "scope",
        "details",
        "empty",
        "read-only-only",
        "array",
        "broken-json",
    ],
)
def test_other_changes_are_refused(server, http, owner, body, words):
    _, token, grants = owner
    wanted = grant_id(grants["customer0002"])
    response = patch_grant(http, server, wanted, token, body)
    assert response.status_code == 400
    problem = response.json()
    assert_valid("Problem", problem)
    assert words in problem["detail"]
    assert admin_get(http, server, f"grants/{wanted}", token).json()["status"] == "active"


def test_a_grant_the_customer_revoked_shows_revoked_and_cannot_be_closed(server, http, owner):
    _, token, grants = owner
    wanted = grant_id(grants["customer0002"])
    end_as_customer(server, wanted)
    grant = admin_get(http, server, f"grants/{wanted}", token).json()
    assert grant["status"] == "revoked"
    assert grant["enabled_scope"] == ""
    response = patch_grant(http, server, wanted, token, {"status": "closed"})
    assert response.status_code == 409
    assert_valid("Problem", response.json())
    assert {g["grant_id"] for g in listed(http, server, token, statuses="revoked")["grants"]} == {
        wanted
    }


def test_a_grant_past_its_end_shows_expired(server, http, owner):
    _, token, grants = owner
    wanted = grant_id(grants["customer0003"])
    end = utc_now() - timedelta(minutes=5)
    set_grant_end(server, wanted, end)
    grant = admin_get(http, server, f"grants/{wanted}", token).json()
    assert_valid("Grant", grant)
    assert grant["status"] == "expired"
    assert grant["enabled_scope"] == ""


def test_only_an_admin_client_token_opens_the_api(server, http, owner):
    _, _, grants = owner
    customer = grants["customer0001"]["access_token"]
    query = client_tokens(
        http, server, new_party(server, "cds_query_accounts"), "cds_query_accounts"
    )
    bulk = client_tokens(http, server, server.third_party)["access_token"]
    for token in (customer, query["access_token"], bulk):
        for path in ("grants", f"grants/{grant_id(grants['customer0001'])}", "clients"):
            response = admin_get(http, server, path, token)
            assert response.status_code == 403, path
            assert "insufficient_scope" in response.headers["www-authenticate"]
            assert_valid("Problem", response.json())
    closing = patch_grant(
        http, server, grant_id(grants["customer0001"]), customer, {"status": "closed"}
    )
    assert closing.status_code == 403
    missing = http.get(f"{server.base_url}/cds/v1/grants")
    assert missing.status_code == 401
    assert_valid("Problem", missing.json())


def test_a_method_the_path_lacks_names_both_it_has(server, http):
    response = http.request("DELETE", f"{server.base_url}/cds/v1/grants/{uuid.uuid4()}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH"


def test_granted_authorization_details_are_on_the_grant(server, http):
    party = new_party(server)
    account = "_all"
    details = [{"type": "cds_meters", "account_numbers": [account], "expires": "P90D"}]
    page = consent_page(http, server, party, details)
    tokens = ok(exchange(http, server, party, accept(http, server, page, "requested")["code"]))
    (wanted,) = tokens["cds_grant_ids"]
    token = admin_token(http, server, party)
    grant = admin_get(http, server, f"grants/{wanted}", token).json()
    assert_valid("Grant", grant)
    (detail,) = grant["authorization_details"]
    assert detail["type"] == "cds_meters"
    assert detail["account_numbers"]  # resolved from "_all" to the customer's accounts
    assert account not in detail["account_numbers"]
    assert detail["expires"][:19] == grant["expires"][:19]  # the same instant (to the second)
    assert grant["enabled_authorization_details"] == grant["authorization_details"]
    assert [g["grant_id"] for g in listed(http, server, token, scopes="cds_meters")["grants"]] == [
        wanted
    ]
