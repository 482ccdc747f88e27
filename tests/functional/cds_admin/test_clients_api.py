"""The Clients API (CDS-WG1-02 §5) over real HTTP: a client reads its own registration only."""

from __future__ import annotations

import pytest

from opencustodian.domain.parties import RegistrationEnvironment
from tests.cds_schemas import assert_valid
from tests.functional.cds.helpers import EVERYTHING
from tests.functional.cds_admin.helpers import admin_get, admin_token, granted, new_party

SCOPES = f"{EVERYTHING} cds_query_accounts"


@pytest.fixture
def client(server, http):
    """A production third party with consent and query scopes, and its admin token."""
    party = new_party(server, SCOPES, contacts=("dev@tp.example",), website="https://tp.example")
    return party, admin_token(http, server, party)


def test_the_listing_holds_only_the_callers_client(server, http, client):
    party, token = client
    response = admin_get(http, server, "clients", token)
    assert response.status_code == 200
    body = response.json()
    assert_valid("ClientListing", body)
    (mine,) = body["clients"]
    assert mine["client_id"] == party.client_id
    assert mine["cds_status"] == "production"
    assert mine["cds_client_uri"] == f"{server.base_url}/cds/v1/clients/{party.client_id}"
    assert set(mine["scope"].split()) == {*SCOPES.split(), "cds_client_admin"}
    assert set(mine["authorization_details_types"]) == set(EVERYTHING.split())
    assert mine["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert mine["redirect_uris"] == [party.redirect_uri]
    assert mine["contacts"] == ["dev@tp.example"]
    assert mine["client_uri"] == "https://tp.example"
    assert party.client_secret not in response.text
    assert "client_secret" not in mine
    assert "client_secret_expires_at" not in mine


def test_client_ids_filters(server, http, client):
    party, token = client
    own = admin_get(http, server, "clients", token, client_ids=f"someone {party.client_id}")
    assert [c["client_id"] for c in own.json()["clients"]] == [party.client_id]
    other = admin_get(http, server, "clients", token, client_ids="someone-else")
    assert other.json()["clients"] == []
    refused = admin_get(http, server, "clients", token, ids="x")
    assert refused.status_code == 400
    assert_valid("Problem", refused.json())


def test_read_the_own_client_at_its_uri(server, http, client):
    party, token = client
    listed = admin_get(http, server, "clients", token).json()["clients"][0]
    response = http.get(listed["cds_client_uri"], headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert_valid("Client", response.json())
    assert response.json() == listed
    assert response.json()["client_id"] == party.client_id


@pytest.mark.parametrize("kind", ["another-clients", "unknown"])
def test_another_client_is_404(server, http, client, kind):
    _, token = client
    other = new_party(server).client_id if kind == "another-clients" else "no-such-client"
    response = admin_get(http, server, f"clients/{other}", token)
    assert response.status_code == 404
    assert_valid("Problem", response.json())


def test_a_test_registration_is_a_sandbox_client(server, http):
    party = new_party(server, environment=RegistrationEnvironment.TEST)
    token = admin_token(http, server, party)
    mine = admin_get(http, server, f"clients/{party.client_id}", token).json()
    assert_valid("Client", mine)
    assert mine["cds_status"] == "sandbox"
    assert mine["cds_status_options"] == ["sandbox"]


def test_a_customer_token_cannot_read_clients(server, http, client):
    party, _ = client
    customer = granted(http, server, party, "cds_accounts", username="customer0003")
    response = admin_get(http, server, "clients", customer["access_token"])
    assert response.status_code == 403
    assert_valid("Problem", response.json())
