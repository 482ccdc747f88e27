"""The ECIS use case over a fake store: rights, coverage, invoices on two accounts, audit."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from opencustodian.domain.consent import AccessRecord, GrantKind, GrantStatus
from opencustodian.domain.customers import AccountClass
from opencustodian.domain.invoices import CoveredAccount, EcisAccount, EcisPoint, GrantCoverage
from opencustodian.domain.metering import Commodity
from opencustodian.domain.statements import BillRecord, ChargeRecord, SectionRecord, statement_id
from opencustodian.kit.tokens import hash_secret
from opencustodian.protocols.ecis.keys import KeyRegistration
from opencustodian.services.ecis import (
    EcisRefusedError,
    EcisSettings,
    KeyOwner,
    answer_request,
    key_status,
    register_keys,
)

KEY = "unit-test-server-key"
TOKEN = "ocat_unit-test-access-token"
CLIENT = "client-1"
ZONE = ZoneInfo("America/New_York")
SETTINGS = EcisSettings("https://dc.example", KEY, ZONE)
SIGNER = ECKey.generate_key("P-256", parameters={"kid": "k"})
HOME, SHOP = UUID(int=1), UUID(int=2)
POINT = EcisPoint(
    7, uuid4(), Commodity.ELECTRICITY, "EL1", net_metered=False, esiid="E7", meter_number="M7"
)
SHOP_POINT = EcisPoint(
    8, uuid4(), Commodity.ELECTRICITY, "EL2", net_metered=False, esiid="E8", meter_number="M8"
)
STAMP = datetime(2026, 11, 1, tzinfo=UTC)


def record(scope: str = "FB=1_3_15_16;", **changes: Any) -> AccessRecord:
    base = AccessRecord(
        token_id=1,
        grant_id=10,
        grant_uuid="grant-10",
        subscription_uuid="sub-10",
        grant_kind=GrantKind.CUSTOMER,
        grant_status=GrantStatus.ACTIVE,
        scope=scope,
        application_id=3,
        application_uuid="app-3",
        client_id=CLIENT,
        application_may_act=True,
        retail_customer_id=99,
        access_expires_at=datetime.now(UTC) + timedelta(hours=1),
        revoked=False,
        authorized_end=None,
        held_since=((7, date(2020, 1, 1)), (8, date(2020, 1, 1))),
    )
    return replace(base, **changes)


def bill(account_uuid: UUID, number: str, point: int, total: str) -> BillRecord:
    item = ChargeRecord(1, 0, "Energy", "energy", Decimal(total), Decimal(100), "kWh", None)
    return BillRecord(
        id=point * 100,
        uuid=uuid4(),
        account_id=1 if account_uuid == HOME else 2,
        account_uuid=account_uuid,
        account_number=number,
        service_point_id=point,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
        issued_on=date(2026, 11, 4),
        due_on=date(2026, 11, 25),
        paid_on=None,
        rate_plan="EL1",
        usage=Decimal(100),
        usage_unit="kWh",
        total=Decimal(total),
        currency="USD",
        created_at=STAMP,
        updated_at=STAMP,
        sections=(SectionRecord(1, 0, "supply", "Supply", (item,)),),
    )


class FakeStore:
    """One customer with two accounts (home and shop) under one grant."""

    def __init__(self, access: AccessRecord) -> None:
        self.access = access
        self.jwks: dict[str, Any] | None = {"keys": [SIGNER.as_dict(private=False)]}
        self.sealed: str | None = None
        self.used: set[str] = set()
        self.events: list[tuple[str, str, dict[str, object]]] = []
        self.asked: list[GrantCoverage] = []

    def access_record(self, access_hash: str, today: date) -> AccessRecord | None:
        del today
        return self.access if access_hash == hash_secret(TOKEN, KEY) else None

    def signing_keys(self, application_id: int) -> tuple[dict[str, Any] | None, str | None]:
        del application_id
        return self.jwks, self.sealed

    def set_jwks(self, application_id: int, jwks: dict[str, Any] | None) -> None:
        del application_id
        self.jwks = jwks

    def set_sealed_secret(self, application_id: int, sealed: str | None) -> None:
        del application_id
        self.sealed = sealed

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        del actor
        self.events.append((tag, subject, data))

    def use_jwt_id(
        self, application_id: int, jti: str, expires_at: datetime, now: datetime
    ) -> bool:
        del application_id, expires_at, now
        if jti in self.used:
            return False
        self.used.add(jti)
        return True

    def covered_account(self, number: str, grants: Any) -> CoveredAccount | None:
        self.asked = list(grants)
        accounts = {
            "HOME-1": EcisAccount(1, HOME, "HOME-1", AccountClass.RESIDENTIAL, (POINT,)),
            "SHOP-2": EcisAccount(2, SHOP, "SHOP-2", AccountClass.COMMERCIAL, (SHOP_POINT,)),
        }
        found = accounts.get(number)
        return None if found is None or not grants else CoveredAccount(found, (10,))

    def bills_for_grant(self, grant_id: int, held_since: Any) -> list[BillRecord]:
        del grant_id, held_since
        return [bill(HOME, "HOME-1", 7, "70.00"), bill(SHOP, "SHOP-2", 8, "80.00")]

    def shared_grants(self, application_id: int, today: date) -> list[Any]:
        del application_id, today
        return []


def jwt(account: str, request_type: str = "basic", invoice: str | None = None) -> bytes:
    now = int(time.time())
    claims = {
        "iss": CLIENT,
        "aud": SETTINGS.audience,
        "iat": now,
        "exp": now + 60,
        "jti": uuid4().hex,
        "system_account_id": account,
        "eci_request_type": request_type,
    }
    if invoice is not None:
        claims["system_invoice_id"] = invoice
    header = {"alg": "ES256", "kid": "k"}
    return jws.serialize_compact(header, json.dumps(claims).encode(), SIGNER).encode()


def ask(store: FakeStore, body: bytes) -> dict[str, object]:
    return answer_request(store, TOKEN, body, SETTINGS, datetime.now(UTC)).body


def refused(store: FakeStore, body: bytes, token: str = TOKEN) -> str:
    with pytest.raises(EcisRefusedError) as caught:
        answer_request(store, token, body, SETTINGS, datetime.now(UTC))
    return caught.value.code


HOME_INVOICE = str(statement_id(HOME, date(2026, 11, 4)))
SHOP_INVOICE = str(statement_id(SHOP, date(2026, 11, 4)))


def test_each_account_sees_only_its_own_invoice():
    store = FakeStore(record())
    assert ask(store, jwt("HOME-1"))["system_invoice_ids"] == [HOME_INVOICE]
    assert ask(store, jwt("SHOP-2"))["system_invoice_ids"] == [SHOP_INVOICE]
    assert ask(store, jwt("HOME-1", "invoice", HOME_INVOICE))["invoice_total"] == Decimal("70.00")
    assert store.asked == [GrantCoverage(10, 99, record().held_since)]


def test_an_invoice_the_grant_sees_on_another_account_is_forbidden_not_missing():
    store = FakeStore(record())
    assert refused(store, jwt("HOME-1", "invoice", SHOP_INVOICE)) == "invoice_not_on_account"
    assert refused(store, jwt("HOME-1", "invoice_detail", str(uuid4()))) == "unknown_invoice"
    assert refused(store, jwt("HOME-1", "invoice", HOME_INVOICE.upper()[:-1])) == "unknown_invoice"


def test_rights_follow_the_function_blocks():
    # FB 15 only: the basic answer, no invoice.
    fb15 = FakeStore(record("FB=1_3_15;"))
    assert ask(fb15, jwt("HOME-1"))["system_account_id"] == "HOME-1"
    assert refused(fb15, jwt("HOME-1", "invoice", HOME_INVOICE)) == "insufficient_scope"
    # FB 16 alone opens both.
    fb16 = FakeStore(record("FB=1_3_16;"))
    assert ask(fb16, jwt("HOME-1"))
    assert ask(fb16, jwt("HOME-1", "invoice", HOME_INVOICE))
    # Usage alone opens nothing here.
    usage = FakeStore(record("FB=1_3_4_5;"))
    assert refused(usage, jwt("HOME-1")) == "insufficient_scope"
    assert not usage.events


def test_token_refusals_come_first_and_nothing_is_recorded():
    store = FakeStore(record(revoked=True))
    assert refused(store, jwt("HOME-1")) == "invalid_token"
    assert (
        refused(FakeStore(record()), jwt("HOME-1"), token="ocat_someone-elses") == "invalid_token"
    )
    assert not store.used
    assert not store.events


def test_a_replay_and_an_uncovered_account_are_refused_and_audits_only_answers():
    store = FakeStore(record())
    body = jwt("HOME-1")
    ask(store, body)
    assert refused(store, body) == "replayed"
    assert refused(store, jwt("ELSEWHERE")) == "account_not_shared"
    assert [(tag, subject) for tag, subject, _ in store.events] == [
        ("ecis:data:read", "grant:grant-10")
    ]
    assert store.events[0][2]["request_type"] == "basic"


def test_a_client_token_without_a_bill_query_scope_is_refused():
    store = FakeStore(
        record("cds_query_usage", grant_kind=GrantKind.CLIENT, retail_customer_id=None)
    )
    assert refused(store, jwt("HOME-1")) == "insufficient_scope"


def test_registering_keys_seals_the_proven_secret_and_audits():
    store = FakeStore(record())
    owner = KeyOwner(3, "app-3", CLIENT, "ocs_the-secret")
    status = register_keys(store, owner, KeyRegistration({"keys": []}, hs256=True), KEY)
    assert status.hs256 is True
    assert status.jwks == {"keys": []}
    assert store.jwks is None
    assert store.sealed is not None
    assert "ocs_the-secret" not in store.sealed
    assert store.events[-1][1] == "application:app-3"
    register_keys(store, owner, KeyRegistration(None, hs256=False), KEY)
    assert key_status(store, 3).hs256 is False
