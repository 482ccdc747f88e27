"""Registering third parties: credentials issued once, only hashes stored, secrets rotate."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from opencustodian.cli import app
from opencustodian.config import Settings
from opencustodian.kit.tokens import secret_matches
from opencustodian.storage.models import ThirdPartyApplication

SEED_000_SCOPE = (
    "FB=1_3_4_5_7_10_15_16_35_51_53_56_57_58_60_67;IntervalDuration=Monthly;"
    "BlockDuration=Monthly;HistoryLength=63072000_86400;"
)


@pytest.fixture
def cli(monkeypatch, database_url):
    monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def register(cli, *extra):
    result = cli(
        "thirdparty", "register", "--json",
        "--name", "Sunny Solar",
        "--redirect-uri", "https://sunny.example/callback",
        "--scope", SEED_000_SCOPE,
        "--notification-uri", "https://sunny.example/notify",
        "--contact", "dev@sunny.example",
        *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stored(engine, client_id):
    with engine.connect() as connection:
        return connection.execute(
            select(ThirdPartyApplication).where(ThirdPartyApplication.client_id == client_id)
        ).one()


def test_register_prints_ids_and_secrets_and_stores_only_hashes(cli, engine):
    issued = register(cli)
    assert issued["status"] == "test"
    assert issued["client_secret"].startswith("ocsec_")
    assert issued["registration_access_token"].startswith("ocreg_")
    assert issued["scopes"] == [SEED_000_SCOPE]
    row = stored(engine, issued["client_id"])
    key = Settings().secret_key
    assert secret_matches(issued["client_secret"], row.client_secret_hash, key)
    assert secret_matches(issued["registration_access_token"], row.registration_token_hash, key)
    assert row.redirect_uris == ["https://sunny.example/callback"]
    assert row.contacts == ["dev@sunny.example"]


def test_no_table_holds_a_usable_secret(cli, engine):
    issued = register(cli)
    secrets = [issued["client_secret"], issued["registration_access_token"]]
    with engine.connect() as connection:
        for table in ("third_party_applications", "audit_events"):
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
            dumped = repr(rows)
            assert all(secret not in dumped for secret in secrets)
            assert all(secret.split("_", 1)[1] not in dumped for secret in secrets)


def test_scopes_are_stored_in_canonical_form(cli):
    issued = register(cli, "--scope", "fb=4_1_3_5 ; intervalduration=900|FB=1_3_15;")
    assert issued["scopes"] == [SEED_000_SCOPE, "FB=1_3_4_5;IntervalDuration=900;", "FB=1_3_15;"]


def test_rotating_the_secret_retires_the_old_one(cli, engine):
    issued = register(cli)
    result = cli("thirdparty", "rotate-secret", issued["client_id"])
    assert result.exit_code == 0
    new_secret = result.stdout.split("client secret: ")[1].strip()
    row = stored(engine, issued["client_id"])
    key = Settings().secret_key
    assert secret_matches(new_secret, row.client_secret_hash, key)
    assert not secret_matches(issued["client_secret"], row.client_secret_hash, key)


def test_rotating_an_unknown_client_is_a_clear_error(cli):
    result = cli("thirdparty", "rotate-secret", "nobody")
    assert result.exit_code == 2
    assert "no application" in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--redirect-uri", "http://evil.example/cb", "https"),
        ("--scope", "FB=one_two;", "FB"),
    ],
)
def test_bad_registrations_store_nothing(cli, engine, option, value, message):
    result = cli(
        "thirdparty", "register", "--name", "Bad", option, value,
        *(["--scope", "FB=1_3;"] if option != "--scope" else []),
        *(["--redirect-uri", "https://ok.example/cb"] if option != "--redirect-uri" else []),
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output
    with engine.connect() as connection:
        assert connection.execute(select(ThirdPartyApplication)).all() == []
