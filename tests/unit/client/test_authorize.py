"""Authorization URLs: both parameter styles, |-joined scopes, state and PKCE S256."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from opencustodian.client import (
    Pkce,
    build_authorization_request,
    code_challenge_s256,
    join_scopes,
    make_code_verifier,
    split_scopes,
)
from opencustodian.client.pkce import UNRESERVED

ELECTRIC = "FB=1_3_4_5;IntervalDuration=900;BlockDuration=Daily;HistoryLength=63072000;"
CUSTOMER = "FB=51_53"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_pkce_s256_matches_rfc7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert Pkce.from_verifier(verifier).challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("length", [43, 64, 128])
def test_verifiers_are_unreserved_characters_of_the_allowed_length(length):
    verifier = make_code_verifier(length)
    assert len(verifier) == length
    assert set(verifier) <= set(UNRESERVED)
    assert make_code_verifier(length) != verifier


@pytest.mark.parametrize("length", [42, 129])
def test_verifier_lengths_outside_43_to_128_are_refused(length):
    with pytest.raises(ValueError, match="43 to 128"):
        make_code_verifier(length)
    with pytest.raises(ValueError, match="43 to 128"):
        Pkce.from_verifier("a" * length)


def test_verifier_with_reserved_characters_is_refused():
    with pytest.raises(ValueError, match="only A-Z"):
        Pkce.from_verifier("a" * 42 + "/")


def test_rfc_style_url_carries_every_parameter():
    request = build_authorization_request(
        "https://dc.example/oauth/authorize",
        client_id="sunspark",
        redirect_uri="https://tp.example/callback",
        scopes=[ELECTRIC, CUSTOMER],
    )
    params = query(request.url)
    assert request.url.startswith("https://dc.example/oauth/authorize?")
    assert params["response_type"] == ["code"]
    assert params["client_id"] == ["sunspark"]
    assert params["redirect_uri"] == ["https://tp.example/callback"]
    assert params["scope"] == [f"{ELECTRIC}|{CUSTOMER}"]
    assert params["state"] == [request.state]
    assert params["code_challenge_method"] == ["S256"]
    assert params["code_challenge"] == [code_challenge_s256(request.code_verifier)]
    assert "clientId" not in params
    assert len(request.state) >= 32
    assert 43 <= len(request.code_verifier) <= 128
    assert request.code_verifier not in request.url
    assert request.code_verifier not in repr(request)


def test_seed_style_uses_camel_case_names():
    request = build_authorization_request(
        "https://dc.example/oauth/authorize",
        client_id="abc",
        redirect_uri="https://tp.example/callback",
        scopes=[ELECTRIC],
        style="seed",
        state="123",
    )
    params = query(request.url)
    assert params["clientId"] == ["abc"]
    assert params["redirectUri"] == ["https://tp.example/callback"]
    assert "client_id" not in params
    assert "redirect_uri" not in params
    assert params["state"] == ["123"]
    assert params["scope"] == [ELECTRIC]


def test_scope_round_trips_through_the_url():
    scopes = [
        ELECTRIC,
        "FB=1_3_15_16;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63072000;",
        "FB=51_53_56_57_58_60;",
    ]
    request = build_authorization_request(
        "https://dc.example/oauth/authorize",
        client_id="c",
        redirect_uri="https://tp.example/cb",
        scopes=scopes,
    )
    (scope,) = query(request.url)["scope"]
    assert split_scopes(scope) == scopes
    assert request.scope == scope


def test_each_request_gets_its_own_state_and_verifier():
    first, second = (
        build_authorization_request(
            "https://dc.example/a", client_id="c", redirect_uri="https://t/cb", scopes=[CUSTOMER]
        )
        for _ in range(2)
    )
    assert first.state != second.state
    assert first.code_verifier != second.code_verifier


def test_existing_query_and_extra_parameters_are_kept():
    request = build_authorization_request(
        "https://dc.example/authorize?tenant=coned",
        client_id="c",
        redirect_uri="https://t/cb",
        scopes=[CUSTOMER],
        extra_params={"DataCustodianID": "coned"},
    )
    params = query(request.url)
    assert params["tenant"] == ["coned"]
    assert params["DataCustodianID"] == ["coned"]


@pytest.mark.parametrize(
    "scopes", [[], [""], ["FB=1|FB=2"], ["FB=1_3; IntervalDuration=900"]], ids=repr
)
def test_bad_scope_lists_are_refused(scopes):
    with pytest.raises(ValueError, match="scope"):
        join_scopes(scopes)


def test_split_drops_empty_parts():
    assert split_scopes(f"{ELECTRIC}||{CUSTOMER}|") == [ELECTRIC, CUSTOMER]
