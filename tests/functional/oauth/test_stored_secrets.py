"""The database holds no usable credential (RFC 9700 §2.2, kit.tokens).

After a full journey — registration, consent, code exchange, refresh, client credentials,
revocation — every column of every table is read back and searched for the client secret,
the registration token, each code and each access and refresh token in the clear. The stored
forms must be keyed hashes: 64 hex digits, and not a bare SHA-256 anyone could recompute.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from tests.custodian import BILLING_SCOPE, ELECTRIC_SCOPE
from tests.functional.oauth.flows import (
    HEX64,
    client_tokens,
    exchange,
    issue_code,
    ok,
    pkce_pair,
    refresh,
    revoke,
    rfc_query,
    seed_query,
    stored_hash,
    token_call,
)

HASH_COLUMNS = {
    "third_party_applications": ("client_secret_hash", "registration_token_hash"),
    "oauth_tokens": ("access_token_hash", "refresh_token_hash"),
    "authorization_codes": ("code_hash",),
}


@pytest.fixture
def journey(server, party, http) -> dict[str, list[str]]:
    """Every credential one third party handled, by kind."""
    codes, access, refresh_tokens = [], [], []
    verifier, challenge = pkce_pair()
    rfc = issue_code(
        http,
        server,
        rfc_query(
            party,
            f"{ELECTRIC_SCOPE}|{BILLING_SCOPE}",
            code_challenge=challenge,
            code_challenge_method="S256",
        ),
    )
    codes.append(rfc)
    first = ok(exchange(http, server, party, rfc, code_verifier=verifier))
    second = ok(refresh(http, server, party, first["refresh_token"]))
    seed = issue_code(http, server, seed_query(party, ELECTRIC_SCOPE))
    codes.append(seed)
    third = ok(
        token_call(
            http,
            server,
            path="/espi/1_1/oauth/token",
            json={
                "grantType": "authorization_code",
                "clientId": party.client_id,
                "clientSecret": party.client_secret,
                "redirectUri": party.redirect_uri,
                "authCode": seed,
            },
        )
    )
    client = client_tokens(http, server, party)
    assert revoke(http, server, party, third["refresh_token"]).status_code == 200
    # A refused request must not leave its credentials behind either.
    token_call(
        http,
        server,
        data={"grant_type": "client_credentials", "scope": "FB=35_67"},
        auth=(party.client_id, party.client_secret + "-wrong"),
    )
    for body in (first, second, third, client):
        access.append(body["access_token"])
        if "refresh_token" in body:
            refresh_tokens.append(body["refresh_token"])
    return {
        "client_secret": [party.client_secret],
        "registration_token": [party.registration_token],
        "code": codes,
        "access_token": access,
        "refresh_token": refresh_tokens,
        "pkce_verifier": [verifier],
    }


def every_value(engine) -> list[tuple[str, str, str]]:
    """(table, column, text) for every non-null value in the database."""
    metadata = MetaData()
    metadata.reflect(engine)
    found: list[tuple[str, str, str]] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    rendered = value if isinstance(value, str) else _render(value)
                    found.append((table.name, column, rendered))
    return found


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def test_no_credential_is_stored_in_the_clear(server, journey):
    values = every_value(server.engine)
    tables = {table for table, _, _ in values}
    assert set(HASH_COLUMNS) <= tables
    for kind, secrets in journey.items():
        for secret in secrets:
            assert len(secret) >= 32, kind
            leaks = [(table, column) for table, column, text in values if secret in text]
            assert not leaks, f"{kind} stored in the clear in {leaks}"
            # Nor the random part without its readable prefix.
            bare = secret.split("_", 1)[-1]
            leaks = [(table, column) for table, column, text in values if bare in text]
            assert not leaks, f"{kind} (without prefix) stored in the clear in {leaks}"


def test_stored_forms_are_keyed_hashes(server, journey):
    """Each credential is found by its keyed hash, never by a bare SHA-256."""
    metadata = MetaData()
    metadata.reflect(server.engine)
    stored: dict[str, set[str]] = {}
    with server.engine.connect() as connection:
        for table_name, columns in HASH_COLUMNS.items():
            table = metadata.tables[table_name]
            for column in columns:
                values = set(connection.scalars(select(table.c[column])).all()) - {None}
                assert values, (table_name, column)
                for value in values:
                    assert HEX64.fullmatch(value), (table_name, column, value)
                stored[column] = values
    expected = {
        "client_secret": "client_secret_hash",
        "registration_token": "registration_token_hash",
        "code": "code_hash",
        "access_token": "access_token_hash",
        "refresh_token": "refresh_token_hash",
    }
    for kind, column in expected.items():
        for secret in journey[kind]:
            assert stored_hash(secret) in stored[column], kind
            assert hashlib.sha256(secret.encode()).hexdigest() not in stored[column], kind


def test_the_columns_checked_are_every_column(server):
    """A new column on these tables must be reviewed here (does it hold a secret?)."""
    metadata = MetaData()
    metadata.reflect(server.engine)
    columns = {
        name: {column.name for column in metadata.tables[name].columns} for name in HASH_COLUMNS
    }
    assert columns["authorization_codes"] == {
        "id",
        "code_hash",
        "grant_id",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "expires_at",
        "used_at",
    }
    assert columns["oauth_tokens"] == {
        "id",
        "grant_id",
        "access_token_hash",
        "refresh_token_hash",
        "scope",
        "issued_at",
        "access_expires_at",
        "refresh_expires_at",
        "rotated_at",
        "revoked_at",
    }
    secretish = {c for c in columns["third_party_applications"] if "secret" in c or "token" in c}
    # client_secret_sealed is AES-GCM ciphertext, set only for a third party that asks to sign
    # ECIS requests with HS256 (an HMAC cannot be checked against a hash): tests/functional/ecis.
    assert secretish == {
        "client_secret_hash",
        "client_secret_sealed",
        "registration_token_hash",
        "secret_rotated_at",
        "token_endpoint_auth_method",
    }
