"""ECIS storage on a real database: used request ids, keys, and what a grant's account shows."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from opencustodian.demo.synthetic import seed_utility
from opencustodian.domain.invoices import GrantCoverage
from opencustodian.domain.metering import Commodity
from opencustodian.profile import load_profile
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.ecis import SqlEcisStore
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Grant,
    GrantServicePoint,
    Meter,
    RetailCustomer,
    ThirdPartyApplication,
    UsedJwtId,
)
from tests.custodian import SEED_NOW, register_third_party

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def _application_id(engine) -> int:
    register_third_party(engine, "Storage Test")
    with engine.connect() as connection:
        return int(connection.scalar(select(func.max(ThirdPartyApplication.id))))


def test_a_jti_is_used_once_until_it_expires_even_within_one_transaction(engine):
    application = _application_id(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        store = SqlEcisStore(session)
        assert store.use_jwt_id(application, "a", NOW + timedelta(minutes=5), NOW)
        assert not store.use_jwt_id(application, "a", NOW + timedelta(minutes=5), NOW)
        # The refused insert did not spoil the transaction: more work still commits.
        assert store.use_jwt_id(application, "b", NOW + timedelta(minutes=1), NOW)
    with transaction(factory) as session:
        later = NOW + timedelta(minutes=2)
        store = SqlEcisStore(session)
        assert not store.use_jwt_id(application, "a", later + timedelta(minutes=5), later)
        # "b" expired at NOW + 1 min: its row is gone and the id may be used again.
        assert store.use_jwt_id(application, "b", later + timedelta(minutes=5), later)
    with engine.connect() as connection:
        rows = connection.execute(select(UsedJwtId.jti, UsedJwtId.expires_at)).all()
    assert sorted(jti for jti, _ in rows) == ["a", "b"]


def test_keys_round_trip(engine):
    application = _application_id(engine)
    jwks = {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": "k"}]}
    with transaction(session_factory(engine)) as session:
        store = SqlEcisStore(session)
        assert store.signing_keys(application) == (None, None)
        store.set_jwks(application, jwks)
        store.set_sealed_secret(application, "v1.sealed")
    with transaction(session_factory(engine)) as session:
        assert SqlEcisStore(session).signing_keys(application) == (jwks, "v1.sealed")


def _grant_for(engine, username: str) -> tuple[int, int, str, tuple[tuple[int, date], ...]]:
    """A grant of ``username`` covering all their points (as the consent page would make)."""
    application = _application_id(engine)
    with transaction(session_factory(engine)) as session:
        customer, number, account = session.execute(
            select(RetailCustomer.id, Account.account_number, Account.id)
            .join(Account, Account.customer_id == RetailCustomer.id)
            .where(RetailCustomer.username == username)
        ).one()
        tenures = session.execute(
            select(AccountServicePoint.service_point_id, AccountServicePoint.move_in).where(
                AccountServicePoint.account_id == account
            )
        ).all()
        grant = Grant(
            uuid=uuid.uuid4(),
            subscription_uuid=uuid.uuid4(),
            application_id=application,
            retail_customer_id=customer,
            kind="customer",
            scope="FB=1_3_15_16;",
            status="active",
        )
        session.add(grant)
        session.flush()
        for point, _ in tenures:
            session.add(
                GrantServicePoint(grant_id=grant.id, service_point_id=point, account_id=account)
            )
        return grant.id, customer, number, tuple((point, since) for point, since in tenures)


def test_the_covered_account_is_found_only_through_the_grants_own_rows(engine):
    seed_utility(engine, load_profile(), customers=3, seed=7, now=SEED_NOW, history_days=3)
    grant, customer, number, held = _grant_for(engine, "customer0001")
    _, _, other_number, _ = _grant_for(engine, "customer0002")
    coverage = [GrantCoverage(grant, customer, held)]
    with session_factory(engine)() as session:
        store = SqlEcisStore(session)
        found = store.covered_account(number, coverage)
        assert found is not None
        assert found.grant_ids == (grant,)
        assert found.account.number == number
        assert {point.commodity for point in found.account.points} == {
            Commodity.ELECTRICITY,
            Commodity.GAS,
        }
        meters = dict(session.execute(select(Meter.service_point_id, Meter.meter_number)).all())
        assert all(point.meter_number == meters[point.id] for point in found.account.points)
        assert found.account.service_point is not None
        assert found.account.service_point.net_metered  # customer0001's solar home
        # Another customer's account, an unknown one, a stale tenure, a wrong customer: None.
        assert store.covered_account(other_number, coverage) is None
        assert store.covered_account("no-such-account", coverage) is None
        stale = [GrantCoverage(grant, customer, tuple((p, date(1999, 1, 1)) for p, _ in held))]
        assert store.covered_account(number, stale) is None
        assert store.covered_account(number, [GrantCoverage(grant, customer + 1, held)]) is None
        assert store.covered_account(number, []) is None
        only_one = [GrantCoverage(grant, customer, held[:1])]
        partial = store.covered_account(number, only_one)
        assert partial is not None
        assert [point.id for point in partial.account.points] == [held[0][0]]
