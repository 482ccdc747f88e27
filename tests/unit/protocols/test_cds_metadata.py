"""CDS discovery documents (protocols.cds.metadata): schema-valid, bounded by the profile."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from opencustodian.domain.metering import Commodity
from opencustodian.kit import exact_json
from opencustodian.oauth.endpoints import metadata
from opencustodian.profile import ProfileError, load_profile
from opencustodian.protocols.cds import authorization_details
from opencustodian.protocols.cds.metadata import (
    CUSTOMER_DATA_APIS,
    Site,
    advertised_fields,
    authorization_server_fields,
    coverage_entry,
    details_fields,
    scope_description,
    server_metadata,
)
from opencustodian.protocols.cds.scopes import CDS_SCOPES, SCOPES_BY_ID
from tests.cds_schemas import assert_valid, schema_errors

BASE = "https://dc.example"
SITE = Site(
    base_url=BASE,
    name="Lakeshore Power",
    short_name="LSP",
    time_zone="America/Detroit",
    state="MI",
    max_authorization_days=1826,
    history_years=2,
)
WITH_PAGES = Site(
    base_url=BASE,
    name="Lakeshore Power",
    short_name="LSP",
    time_zone="America/Detroit",
    state="MI",
    max_authorization_days=365,
    history_years=3,
    support_url="https://lsp.example/help",
    registration_url="https://lsp.example/developers/join",
    policy_url="https://lsp.example/policy",
    terms_url="https://lsp.example/terms",
)


def oauth_document(site: Site) -> dict[str, Any]:
    return {**metadata(site.base_url), **authorization_server_fields(site)}


@pytest.mark.parametrize("site", [SITE, WITH_PAGES], ids=["bare", "with-pages"])
def test_every_document_is_schema_valid(site):
    assert_valid("ServerMetadata", server_metadata(site))
    assert_valid("AuthorizationServerMetadata", oauth_document(site))
    listing = {
        "coverage_entries": [coverage_entry(site, [Commodity.ELECTRICITY, Commodity.GAS])],
        "next": None,
        "previous": None,
    }
    assert_valid("CoverageListing", listing)


def test_profile_pages_are_advertised_only_when_set():
    bare = oauth_document(SITE)
    assert "op_policy_uri" not in bare
    assert "op_tos_uri" not in bare
    assert bare["cds_human_registration"] == f"{BASE}/docs"
    assert server_metadata(SITE)["support"] == f"{BASE}/docs"
    full = oauth_document(WITH_PAGES)
    assert full["op_policy_uri"] == "https://lsp.example/policy"
    assert full["op_tos_uri"] == "https://lsp.example/terms"
    assert full["cds_human_registration"] == "https://lsp.example/developers/join"
    assert server_metadata(WITH_PAGES)["support"] == "https://lsp.example/help"


def test_unserved_apis_are_not_advertised_yet_the_schema_accepts_the_document():
    document = oauth_document(SITE)
    for member in (
        "cds_messages_api",
        "cds_credentials_api",
        "pushed_authorization_request_endpoint",
        "registration_endpoint",
        "cds_test_accounts",
    ):
        assert member not in document
    assert schema_errors("AuthorizationServerMetadata", document) == []


def test_the_schema_still_demands_what_cds_requires():
    document = oauth_document(SITE)
    for member in ("introspection_endpoint", "cds_grants_api", "cds_clients_api"):
        partial = {key: value for key, value in document.items() if key != member}
        assert any(
            member in error for error in schema_errors("AuthorizationServerMetadata", partial)
        )


def test_every_customer_data_listing_is_advertised():
    document = oauth_document(SITE)
    for member, path in CUSTOMER_DATA_APIS.items():
        assert document[member] == f"{BASE}/cds/v1/{path}"
    assert document["cds_usagesegments_additional_value_types"] == {}
    assert document["cds_eac_formats"] == {}


def test_scopes_supported_is_the_union_of_the_descriptions():
    document = oauth_document(SITE)
    descriptions = document["cds_scope_descriptions"]
    assert isinstance(descriptions, dict)
    assert document["scopes_supported"] == list(descriptions)
    grant_types = {kind for d in descriptions.values() for kind in d["grant_types_supported"]}
    assert grant_types == set(document["grant_types_supported"])
    methods = {m for d in descriptions.values() for m in d["token_endpoint_auth_methods_supported"]}
    assert methods == set(document["token_endpoint_auth_methods_supported"])


@pytest.mark.parametrize("scope", CDS_SCOPES, ids=lambda scope: scope.id)
def test_scope_descriptions(scope):
    description: Any = scope_description(scope, SITE)
    assert_valid("ScopeDescription", description)
    types = set(description["authorization_details_types_supported"])
    for field in description["authorization_details_fields_supported"]:
        assert set(field["for_types"]) <= types  # WG1-02 §3.8
    if scope.is_consent_scope:
        assert description["code_challenge_methods_supported"] == ["S256"]
        assert description["response_types_supported"] == ["code"]
        assert "none" in description["token_endpoint_auth_methods_supported"]
        assert types == {scope.id}
    else:
        assert description["code_challenge_methods_supported"] == []
        assert description["response_types_supported"] == []
        assert "none" not in description["token_endpoint_auth_methods_supported"]
        assert types == set()


def test_only_fields_the_consent_page_accepts_are_advertised():
    advertised = {field.id for field in advertised_fields(SITE)}
    described = {field.id for field in details_fields(1826, 2)}
    assert advertised == described & set(authorization_details.SUPPORTED_FIELDS)
    assert {"account_numbers", "servicepoint_numbers", "expires"} <= advertised
    usage: Any = scope_description(SCOPES_BY_ID["cds_usage"], SITE)
    fields = {field["id"] for field in usage["authorization_details_fields_supported"]}
    assert fields == advertised


def test_field_bounds_follow_the_profile():
    fields = {field.id: field for field in details_fields(1826, 2)}
    assert (fields["expires"].minimum, fields["expires"].maximum) == ("PT1H", "P1826D")
    assert fields["expires"].default == "P365D"  # the consent page's preselected year
    assert fields["segment_start"].maximum == "P2Y"
    assert fields["segment_start"].scope_types == frozenset({"cds_usage"})
    short = {field.id: field for field in details_fields(180, 1)}
    assert short["expires"].maximum == "P180D"
    assert short["expires"].default == "P91D"  # the longest choice under the limit
    assert short["segment_start"].maximum == "P1Y"
    assert fields["account_numbers"].default is None


def test_client_admin_covers_no_territory():
    admin = scope_description(SCOPES_BY_ID["cds_client_admin"], SITE)
    usage = scope_description(SCOPES_BY_ID["cds_usage"], SITE)
    assert admin["coverages_supported"] == []
    assert usage["coverages_supported"] == [SITE.coverage_id]
    assert coverage_entry(SITE, [])["id"] == SITE.coverage_id


def test_coverage_lists_each_served_commodity_once():
    entry = coverage_entry(SITE, [Commodity.GAS, Commodity.ELECTRICITY, Commodity.GAS])
    assert entry["commodity_types"] == ["electricity", "natural_gas"]
    assert entry["type"] == "logical"  # no map: a geographic entry would need one
    assert entry["entity_number"] == "LSP"


def test_documents_are_byte_identical_when_built_again():
    """Two processes of one deployment serve the same bytes, hence the same ETag."""
    again = replace(SITE)
    assert exact_json.encode(server_metadata(SITE)) == exact_json.encode(server_metadata(again))
    assert exact_json.encode(oauth_document(SITE)) == exact_json.encode(oauth_document(again))
    assert server_metadata(SITE)["created"] == server_metadata(SITE)["updated"]


def test_the_profile_names_the_developer_pages(tmp_path):
    profile = tmp_path / "profile.toml"
    profile.write_text(
        '[identity]\npolicy_url = "https://lsp.example/policy"\n'
        'terms_url = "https://lsp.example/terms"\n',
        encoding="utf-8",
    )
    loaded = load_profile(profile)
    assert (loaded.policy_url, loaded.terms_url) == (
        "https://lsp.example/policy",
        "https://lsp.example/terms",
    )
    assert loaded.support_url is None
    assert loaded.registration_url is None
    assert load_profile().policy_url is None  # the bundled profile names none
    profile.write_text('[identity]\nsupport_url = "help.example"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="support_url"):
        load_profile(profile)
