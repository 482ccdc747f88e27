"""CLI commands of the authorization issue: administrators and account changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from opencustodian.cli import app
from opencustodian.storage.admins import authenticate_admin
from opencustodian.storage.db import session_factory
from opencustodian.storage.models import Account
from tests.custodian import seed_small_utility


@pytest.fixture
def cli(monkeypatch, database_url):
    monkeypatch.setenv("OPENCUSTODIAN_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_admin_create_user_stores_a_working_argon2_login(cli, engine):
    result = cli("admin", "create-user", "operator", "--password", "s3cret-Passw0rd")
    assert result.exit_code == 0, result.output
    with session_factory(engine)() as session:
        assert authenticate_admin(session, "operator", "s3cret-Passw0rd") is not None
        assert authenticate_admin(session, "operator", "wrong") is None
    again = cli("admin", "create-user", "operator", "--password", "x-Passw0rd-2")
    assert again.exit_code == 2


def test_account_close_marks_the_account_closed_and_unknown_numbers_fail(cli, engine):
    seed_small_utility(engine)
    with session_factory(engine)() as session:
        number = session.scalar(select(Account.account_number).order_by(Account.id))
    closed = cli("account", "close", str(number))
    assert closed.exit_code == 0, closed.output
    assert "0 grant(s) ended" in closed.output
    with session_factory(engine)() as session:
        assert session.scalar(select(Account.status).where(Account.account_number == number)) == (
            "closed"
        )
    assert cli("account", "move-out", "no-such-account").exit_code == 2
