"""CDS discovery over real HTTP: documents valid, every advertised URL answers, ETags work."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from opencustodian.profile import load_profile
from opencustodian.protocols.cds.scopes import CDS_SCOPES
from opencustodian.storage.models import Grant
from tests.cds_schemas import assert_valid
from tests.functional.cds.helpers import EVERYTHING, LISTINGS
from tests.functional.cds_admin.helpers import admin_token, granted, introspect, new_party
from tests.functional.oauth.flows import ok, refresh

CDS_METADATA = "/.well-known/cds-server-metadata.json"
LEGACY_METADATA = "/.well-known/carbon-data-spec.json"
OAUTH_METADATA = "/.well-known/oauth-authorization-server"
#: Members this server must not advertise: it serves none of them (see the schema's notes).
NOT_SERVED = (
    "cds_messages_api",
    "cds_credentials_api",
    "cds_server_provided_files_api",
    "pushed_authorization_request_endpoint",
    "registration_endpoint",
    "cds_test_accounts",
    "op_policy_uri",
    "op_tos_uri",
)


@pytest.fixture(scope="module")
def documents(server):
    """The three discovery documents as served."""
    with httpx.Client(timeout=30) as client:
        return {
            path: client.get(f"{server.base_url}{path}")
            for path in (CDS_METADATA, LEGACY_METADATA, OAUTH_METADATA)
        }


def test_server_metadata_is_valid_and_points_at_this_server(server, documents):
    response = documents[CDS_METADATA]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert_valid("ServerMetadata", body)
    base = server.base_url
    assert body["cds_metadata_url"] == f"{base}{CDS_METADATA}"
    assert body["capabilities"] == ["coverage", "oauth"]
    assert body["coverage"] == f"{base}/cds/v1/coverage"
    assert body["oauth_metadata"] == f"{base}{OAUTH_METADATA}"
    assert body["name"] == load_profile().name


def test_the_legacy_address_serves_the_same_document(documents):
    new, legacy = documents[CDS_METADATA], documents[LEGACY_METADATA]
    assert legacy.status_code == 200
    assert legacy.content == new.content
    assert legacy.headers["etag"] == new.headers["etag"]


def test_authorization_server_metadata_carries_the_cds_members(server, documents):
    response = documents[OAUTH_METADATA]
    assert response.status_code == 200
    body = response.json()
    assert_valid("AuthorizationServerMetadata", body)
    ids = {scope.id for scope in CDS_SCOPES}
    assert set(body["scopes_supported"]) == ids
    assert set(body["cds_scope_descriptions"]) == ids
    for scope_id, description in body["cds_scope_descriptions"].items():
        assert_valid("ScopeDescription", description)
        assert description["id"] == scope_id
    consent = {scope.id for scope in CDS_SCOPES if scope.is_consent_scope}
    assert set(body["authorization_details_types_supported"]) == consent
    assert body["cds_timezone"] == load_profile().time_zone.key
    assert body["cds_oauth_version"] == body["cds_customerdata_version"] == "v1"
    assert body["introspection_endpoint"] == f"{server.base_url}/oauth/introspect"
    for member in NOT_SERVED:
        assert member not in body, member


def test_scope_descriptions_describe_the_consent_fields(documents):
    descriptions = documents[OAUTH_METADATA].json()["cds_scope_descriptions"]
    usage = descriptions["cds_usage"]
    assert usage["response_types_supported"] == ["code"]
    assert usage["code_challenge_methods_supported"] == ["S256"]
    fields = {field["id"]: field for field in usage["authorization_details_fields_supported"]}
    assert {"account_numbers", "servicepoint_numbers", "expires"} <= set(fields)
    assert fields["account_numbers"]["format"] == "string_list_or_null"
    limit = load_profile().limits.max_authorization_days
    assert fields["expires"]["maximum"] == f"P{limit}D"
    admin = descriptions["cds_client_admin"]
    assert admin["grant_types_supported"] == ["client_credentials"]
    assert admin["response_types_supported"] == []
    assert admin["authorization_details_fields_supported"] == []


def test_every_advertised_url_answers(server, http, documents):
    """Each URL the documents advertise is served (with the token it needs)."""
    oauth = documents[OAUTH_METADATA].json()
    cds = documents[CDS_METADATA].json()
    party = new_party(server)
    customer = granted(http, server, party, EVERYTHING, username="customer0002")["access_token"]
    admin = admin_token(http, server, party)
    apis = {
        key: url for key, url in oauth.items() if key.startswith("cds_") and key.endswith("_api")
    }
    admin_apis = {"cds_grants_api", "cds_clients_api"}
    listed = {url.rsplit("/", 1)[1] for key, url in apis.items() if key not in admin_apis}
    assert listed == set(LISTINGS)
    assert admin_apis <= set(apis)
    for key, url in apis.items():
        token = admin if key in admin_apis else customer
        response = http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (key, response.text)
    for url in (
        cds["website"],
        cds["documentation"],
        cds["support"],
        cds["coverage"],
        cds["oauth_metadata"],
        oauth["service_documentation"],
        oauth["cds_human_registration"],
    ):
        assert http.get(url).status_code == 200, url
    answered = http.post(
        oauth["introspection_endpoint"],
        data={"token": customer},
        auth=(party.client_id, party.client_secret),
    )
    assert answered.status_code == 200
    assert answered.json()["active"] is True


@pytest.mark.parametrize(
    "header",
    ["{etag}", "W/{etag}", '"0000", {etag}', "*"],
    ids=["exact", "weak", "in-a-list", "star"],
)
@pytest.mark.parametrize("path", [CDS_METADATA, LEGACY_METADATA, OAUTH_METADATA])
def test_a_known_etag_gets_304(server, http, path, header):
    first = http.get(f"{server.base_url}{path}")
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert "max-age=" in first.headers["cache-control"]
    again = http.get(
        f"{server.base_url}{path}", headers={"If-None-Match": header.format(etag=etag)}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


def test_another_etag_gets_the_document(server, http):
    response = http.get(f"{server.base_url}{CDS_METADATA}", headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert_valid("ServerMetadata", response.json())


def test_coverage_lists_the_utility_and_filters_by_id(server, http):
    url = f"{server.base_url}/cds/v1/coverage"
    body = http.get(url).json()
    assert_valid("CoverageListing", body)
    (entry,) = body["coverage_entries"]
    profile = load_profile()
    assert entry["entity_name"] == profile.name
    assert entry["entity_abbreviation"] == profile.short_name
    assert entry["country"] == "US"
    # The seeded utility serves electricity and gas.
    assert set(entry["commodity_types"]) == {"electricity", "natural_gas"}
    assert http.get(url, params={"ids": entry["id"]}).json()["coverage_entries"] == [entry]
    assert http.get(url, params={"ids": "another"}).json()["coverage_entries"] == []
    refused = http.get(url, params={"nonsense": "1"})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert_valid("Problem", refused.json())


def test_scope_descriptions_cover_the_coverage_entry(server, http, documents):
    entry_id = http.get(f"{server.base_url}/cds/v1/coverage").json()["coverage_entries"][0]["id"]
    descriptions = documents[OAUTH_METADATA].json()["cds_scope_descriptions"]
    assert descriptions["cds_usage"]["coverages_supported"] == [entry_id]


def test_openapi_documents_the_routes_with_their_schemas(server, http):
    document = http.get(f"{server.base_url}/openapi.json").json()
    paths = document["paths"]
    expected = {
        ("/cds/v1/grants", "get"): "#/components/schemas/CdsGrantListing",
        ("/cds/v1/grants/{grant_id}", "get"): "#/components/schemas/CdsGrant",
        ("/cds/v1/grants/{grant_id}", "patch"): "#/components/schemas/CdsGrant",
        ("/cds/v1/clients", "get"): "#/components/schemas/CdsClientListing",
        ("/cds/v1/clients/{client_id}", "get"): "#/components/schemas/CdsClient",
        ("/cds/v1/coverage", "get"): "#/components/schemas/CdsCoverageListing",
        (CDS_METADATA, "get"): "#/components/schemas/CdsServerMetadata",
        (OAUTH_METADATA, "get"): "#/components/schemas/CdsAuthorizationServerMetadata",
    }
    for (path, method), reference in expected.items():
        content = paths[path][method]["responses"]["200"]["content"]["application/json"]
        assert content["schema"]["$ref"] == reference, path
        assert reference.rsplit("/", 1)[1] in document["components"]["schemas"]
    assert "/oauth/introspect" in paths
    grant_errors = paths["/cds/v1/grants/{grant_id}"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "409"} <= set(grant_errors)


def test_token_responses_name_the_grant(server, http):
    party = new_party(server)
    tokens = granted(http, server, party, "cds_accounts", username="customer0003")
    (grant_id,) = tokens["cds_grant_ids"]
    with server.engine.connect() as connection:
        stored = connection.scalar(select(Grant.uuid).where(Grant.uuid == uuid.UUID(grant_id)))
    assert str(stored) == grant_id
    renewed = ok(refresh(http, server, party, tokens["refresh_token"]))
    assert renewed["cds_grant_ids"] == [grant_id]
    facts = introspect(http, server, party, renewed["access_token"]).json()
    assert facts["cds_grant_ids"] == [grant_id]
