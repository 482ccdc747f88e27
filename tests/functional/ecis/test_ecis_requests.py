"""ECIS over real HTTP: key registration, the three request types, and every refusal."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from joserfc.jwk import OctKey
from sqlalchemy import func, select, update

from opencustodian.domain.invoices import next_read_date
from opencustodian.domain.statements import statement_id
from opencustodian.services.registration import rotate_client_secret
from opencustodian.storage.applications import SqlApplicationStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import (
    Account,
    AuditEvent,
    Bill,
    BillLineItem,
    BillSection,
    Grant,
    Meter,
    ServicePoint,
    ThirdPartyApplication,
    UsedJwtId,
)
from tests.custodian import SECRET_KEY
from tests.functional.ecis.helpers import (
    DROP,
    WITH_COST,
    WITHOUT_COST,
    account_number,
    answer,
    claims,
    ec_key,
    get_keys,
    post,
    problem,
    public_set,
    put_keys,
    rsa_key,
    sign,
)
from tests.functional.oauth.flows import client_tokens, customer_tokens, revoke, unique_name
from tests.functional.portal.test_access_log import log_rows

ZONE = ZoneInfo("America/New_York")


@dataclass
class Shared:
    party: object
    key: object
    token: str
    account: str


@pytest.fixture(scope="module")
def shared(server):
    """customer0001 (net-metered solar and gas) shares billing with cost; ES256 + RS256 keys."""
    party = server.register(unique_name("Solar Co"))
    key = ec_key()
    with httpx.Client(timeout=30) as http:
        assert (
            put_keys(http, server, party, {"jwks": public_set(key, rsa_key())}).status_code == 200
        )
        tokens = customer_tokens(http, server, party, WITH_COST, username="customer0001")
    return Shared(party, key, tokens["access_token"], account_number(server.engine, "customer0001"))


def ask(http, server, shared, request_type="basic", invoice=None, **changes):
    payload = claims(server, shared.party, shared.account, request_type, invoice, **changes)
    return post(http, server, shared.token, sign(payload, shared.key))


# -- keys ----------------------------------------------------------------------------------------


def test_keys_start_empty_and_only_public_signing_keys_are_registered(server, http, party):
    assert get_keys(http, server, party).json() == {"jwks": {"keys": []}, "hs256": False}
    ec, rsa = ec_key(), rsa_key()
    registered = put_keys(http, server, party, {"jwks": public_set(ec, rsa)})
    assert registered.status_code == 200, registered.text
    assert registered.headers["cache-control"] == "no-store"
    keys = registered.json()["jwks"]["keys"]
    assert [key["kty"] for key in keys] == ["EC", "RSA"]
    assert keys[0] == {
        name: ec.as_dict(private=False)[name] for name in ("kty", "crv", "x", "y")
    } | {"kid": "ec-1"}
    assert not any(set(key) & {"d", "p", "q", "dp", "dq", "qi"} for key in keys)
    assert get_keys(http, server, party).json()["jwks"]["keys"] == keys

    short = dict(rsa.as_dict(private=False))
    modulus = base64.urlsafe_b64decode(str(short["n"]) + "==")[:128]
    short["n"] = base64.urlsafe_b64encode(modulus).rstrip(b"=").decode()
    p384 = {**ec.as_dict(private=False), "crv": "P-384"}
    refused = [
        {"jwks": {"keys": [ec.as_dict(private=True)]}},
        {"jwks": {"keys": [short]}},
        {"jwks": {"keys": [p384]}},
        {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
        {"jwks": public_set(*(ec_key(f"k{n}") for n in range(11)))},
        {"jwks": public_set(ec_key("same"), ec_key("same"))},
        {"jwks": {"keys": [{**ec.as_dict(private=False), "alg": "RS256"}]}},
        {"jwks": {"keys": [{**ec.as_dict(private=False), "use": "enc"}]}},
        {"jwks": {"keys": [{**ec.as_dict(private=False), "x": "AAAA"}]}},
        {"jwks": [ec.as_dict(private=False)]},
        {"hs256": "yes"},
        {"keys": []},
        {},
        [],
    ]
    for body in refused:
        response = put_keys(http, server, party, body)
        problem(response, 400, "invalid_keys")
    bad_json = http.put(
        f"{server.base_url}/ecis/v1/keys",
        content=b'{"jwks": {"keys": []}, "jwks": null}',
        headers={"Content-Type": "application/json"},
        auth=(party.client_id, party.client_secret),
    )
    problem(bad_json, 400, "invalid_keys")
    # Nothing half-written: the keys registered first are still the ones on file.
    assert get_keys(http, server, party).json()["jwks"]["keys"] == keys

    enabled = put_keys(http, server, party, {"hs256": True})
    assert enabled.json() == {"jwks": {"keys": keys}, "hs256": True}
    cleared = put_keys(http, server, party, {"jwks": {"keys": []}, "hs256": False})
    assert cleared.json() == {"jwks": {"keys": []}, "hs256": False}
    with server.engine.connect() as connection:
        events = connection.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.subject == f"application:{party.application_id}")
        )
    assert events == 3  # one audit event per accepted change


def test_key_registration_needs_the_clients_own_secret(server, http, party):
    url = f"{server.base_url}/ecis/v1/keys"
    anonymous = http.get(url)
    problem(anonymous, 401, "invalid_client")
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    problem(http.get(url, auth=(party.client_id, "ocs_wrong")), 401, "invalid_client")
    problem(http.get(url, auth=("nobody", party.client_secret)), 401, "invalid_client")
    refused = http.put(
        url,
        content=json.dumps({"hs256": True}),
        headers={"Content-Type": "application/json"},
        auth=(party.client_id, "ocs_wrong"),
    )
    problem(refused, 401, "invalid_client")
    wrong_type = http.put(url, content=b"hs256", auth=(party.client_id, party.client_secret))
    problem(wrong_type, 415, "unsupported_media_type")
    with transaction(session_factory(server.engine)) as session:
        session.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.client_id == party.client_id)
            .values(token_endpoint_auth_method="none")
        )
    problem(http.get(url, auth=(party.client_id, party.client_secret)), 401, "invalid_client")


# -- the three request types ---------------------------------------------------------------------


def stored_statements(engine, number):
    """The account's stored bills by issue day, electric point first: what ECIS must answer."""
    with session_factory(engine)() as connection:
        rows = connection.execute(
            select(Bill, ServicePoint.commodity, Account.uuid)
            .join(ServicePoint, ServicePoint.id == Bill.service_point_id)
            .join(Account, Account.id == Bill.account_id)
            .where(Account.account_number == number)
        ).all()
        items = connection.execute(
            select(BillSection.bill_id, BillLineItem)
            .join(BillSection, BillSection.id == BillLineItem.section_id)
            .join(Bill, Bill.id == BillSection.bill_id)
            .join(Account, Account.id == Bill.account_id)
            .where(Account.account_number == number)
        ).all()
    by_day: dict[date, list[tuple[Bill, str, uuid.UUID]]] = {}
    for row in rows:
        bill = row[0]
        by_day.setdefault(bill.issued_on, []).append((bill, row.commodity, row.uuid))
    lines: dict[int, list[BillLineItem]] = {}
    for bill_id, item in items:
        lines.setdefault(bill_id, []).append(item)
    return by_day, lines


def test_every_request_type_answers_the_stored_bills_to_the_cent(server, http, shared):
    basic = answer(ask(http, server, shared), "basic")
    by_day, lines = stored_statements(server.engine, shared.account)
    account_uuid = next(iter(by_day.values()))[0][2]
    newest_first = sorted(by_day, reverse=True)
    assert basic["system_account_id"] == shared.account
    assert basic["account_type"] == "electric"
    assert basic["oc_account_class"] == "residential"
    assert basic["system_invoice_ids"] == [str(statement_id(account_uuid, d)) for d in newest_first]
    with server.engine.connect() as connection:
        electric = connection.execute(
            select(ServicePoint.id, ServicePoint.esiid, ServicePoint.rate_plan)
            .join(Bill, Bill.service_point_id == ServicePoint.id)
            .join(Account, Account.id == Bill.account_id)
            .where(
                Account.account_number == shared.account, ServicePoint.commodity == "electricity"
            )
        ).first()
        meter = connection.scalar(
            select(Meter.meter_number).where(Meter.service_point_id == electric.id)
        )
    assert basic["rate_code"] == electric.rate_plan == "EL1 Residential Net Metering"
    assert basic["meter_number"] == meter
    assert basic["producer_projects"] == [f"net-metering:{electric.esiid}"]
    last_read = max(bill.period_end for bills in by_day.values() for bill, kind, _ in bills)
    today = datetime.now(UTC).astimezone(ZONE).date()
    assert basic["next_read_date"] == next_read_date(last_read, today).isoformat()

    for day, invoice_id in zip(newest_first, basic["system_invoice_ids"], strict=True):
        bills = [bill for bill, _, _ in by_day[day]]
        one = answer(ask(http, server, shared, "invoice", invoice_id), "invoice")
        assert one["system_invoice_id"] == invoice_id
        assert one["invoice_total"] == sum((bill.total for bill in bills), Decimal(0))
        assert one["invoice_date"] == day.isoformat()
        assert one["invoice_due_date"] == max(bill.due_on for bill in bills).isoformat()
        assert one["invoice_paid"] is all(bill.paid_on is not None for bill in bills)
        assert one["service_period_start"] == min(b.period_start for b in bills).isoformat()
        assert "serivce_period_end" not in one
    paid = [
        answer(ask(http, server, shared, "invoice", i), "invoice")["invoice_paid"]
        for i in basic["system_invoice_ids"]
    ]
    assert paid == [False, True]  # the latest is outstanding, the one before was paid

    newest = basic["system_invoice_ids"][0]
    detail = answer(ask(http, server, shared, "invoice_detail", newest), "invoice_detail")
    (electric_bill,) = [bill for bill, kind, _ in by_day[newest_first[0]] if kind == "electricity"]
    charged = lines[electric_bill.id]
    for category, prefix in (
        ("energy", "energy_consumption"),
        ("distribution", "distribution"),
        ("transmission", "transmission"),
        ("stranded_costs", "stranded_costs"),
        ("conservation", "conservation"),
    ):
        (item,) = [line for line in charged if line.category == category]
        assert detail[f"{prefix}_total"] == item.amount, category
        assert detail[f"{prefix}_quantity"] == item.quantity, category
        assert detail[f"{prefix}_rate"] == item.rate, category
    assert detail["delivery_unit"] == detail["service_unit"] == "kWh"
    assert detail["invoice_total"] == sum(
        (b.total for b, _, _ in by_day[newest_first[0]]), Decimal(0)
    )
    assert detail["credit_new"] == detail["credit_carryover"] == 0
    # The exact decimals of storage, digit for digit (never through float).
    assert (
        f'"invoice_total":{detail["invoice_total"]}'
        in ask(http, server, shared, "invoice_detail", newest).text
    )


def test_rs256_and_hs256_are_verified_and_a_rotated_secret_stops_hs256(server, http):
    party = server.register(unique_name("Storage Co"))
    rsa = rsa_key()
    assert put_keys(http, server, party, {"jwks": public_set(rsa)}).status_code == 200
    token = customer_tokens(http, server, party, WITH_COST, username="customer0003")["access_token"]
    number = account_number(server.engine, "customer0003")
    answer(post(http, server, token, sign(claims(server, party, number), rsa, "RS256")), "basic")

    def hs256() -> httpx.Response:
        payload = claims(server, party, number)
        return post(
            http, server, token, sign(payload, OctKey.import_key(party.client_secret), "HS256")
        )

    problem(hs256(), 400, "unknown_key")
    assert put_keys(http, server, party, {"hs256": True}).json()["hs256"] is True
    answer(hs256(), "basic")
    with server.engine.connect() as connection:
        sealed = connection.scalar(
            select(ThirdPartyApplication.client_secret_sealed).where(
                ThirdPartyApplication.client_id == party.client_id
            )
        )
    assert sealed
    assert party.client_secret not in sealed
    with transaction(session_factory(server.engine)) as session:
        rotate_client_secret(party.client_id, SqlApplicationStore(session), SECRET_KEY)
    problem(hs256(), 400, "unknown_key")


def test_a_form_body_with_one_request_field_is_accepted(server, http, shared):
    payload = claims(server, shared.party, shared.account)
    form = "request=" + sign(payload, shared.key)
    answer(post(http, server, shared.token, form, "application/x-www-form-urlencoded"), "basic")
    twice = f"request={sign(claims(server, shared.party, shared.account), shared.key)}&request=x"
    problem(
        post(http, server, shared.token, twice, "application/x-www-form-urlencoded"),
        400,
        "malformed",
    )


# -- refusals ------------------------------------------------------------------------------------


def test_each_failed_check_is_its_own_400_with_no_data(server, http, shared):
    now = int(datetime.now(UTC).timestamp())
    forger = ec_key("ec-1")  # the registered kid, another key
    cases = {
        "invalid_signature": sign(claims(server, shared.party, shared.account), forger),
        "expired": sign(
            claims(server, shared.party, shared.account, iat=now - 400, exp=now - 5), shared.key
        ),
        "not_yet_valid": sign(
            claims(server, shared.party, shared.account, iat=now + 300, exp=now + 500), shared.key
        ),
        "lifetime_too_long": sign(
            claims(server, shared.party, shared.account, exp=now + 3600), shared.key
        ),
        "wrong_audience": sign(
            claims(
                server,
                shared.party,
                shared.account,
                aud="https://elsewhere.example/ecis/v1/requests",
            ),
            shared.key,
        ),
        "missing_claim": sign(claims(server, shared.party, shared.account, jti=DROP), shared.key),
        "bad_claim": sign(claims(server, shared.party, shared.account, "usage"), shared.key),
        "unknown_key": sign(claims(server, shared.party, shared.account), ec_key("ec-9")),
        "key_mismatch": sign(
            claims(server, shared.party, shared.account), rsa_key("ec-1"), "RS256"
        ),
        "malformed": "not.a.jwt",
    }
    for code, token in cases.items():
        body = problem(post(http, server, shared.token, token), 400, code)
        assert shared.account not in json.dumps(body)


def test_alg_none_is_refused(server, http, shared):
    def b64(value) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    payload = claims(server, shared.party, shared.account)
    for alg in ("none", "None"):
        unsigned = f"{b64({'alg': alg})}.{b64(payload)}."
        problem(post(http, server, shared.token, unsigned), 400, "unsupported_algorithm")
    hs512 = f"{b64({'alg': 'HS512'})}.{b64(payload)}.c2ln"
    problem(post(http, server, shared.token, hs512), 400, "unsupported_algorithm")


def test_a_jwt_signed_by_another_client_is_the_wrong_issuer(server, http, shared):
    other = server.register(unique_name("Other Co"))
    their_key = ec_key("theirs")
    assert put_keys(http, server, other, {"jwks": public_set(their_key)}).status_code == 200
    theirs = sign(claims(server, other, shared.account), their_key)
    problem(post(http, server, shared.token, theirs), 400, "wrong_issuer")


def test_a_replayed_jwt_is_refused_and_its_jti_kept(server, http, shared):
    jwt = sign(claims(server, shared.party, shared.account, jti="replay-me"), shared.key)
    answer(post(http, server, shared.token, jwt), "basic")
    problem(post(http, server, shared.token, jwt), 400, "replayed")
    same_jti = sign(
        claims(server, shared.party, shared.account, "invoice", "x", jti="replay-me"), shared.key
    )
    problem(post(http, server, shared.token, same_jti), 400, "replayed")
    with server.engine.connect() as connection:
        kept = connection.scalar(
            select(func.count()).select_from(UsedJwtId).where(UsedJwtId.jti == "replay-me")
        )
    assert kept == 1


def test_size_media_type_and_token_are_checked_first(server, http, shared):
    padded = sign(claims(server, shared.party, shared.account, pad="p" * 9000), shared.key)
    problem(post(http, server, shared.token, padded), 413, "too_large")
    good = sign(claims(server, shared.party, shared.account), shared.key)
    problem(
        post(http, server, shared.token, good, "application/json"), 415, "unsupported_media_type"
    )
    missing = post(http, server, None, good)
    problem(missing, 401, "invalid_request")
    assert missing.headers["www-authenticate"] == 'Bearer realm="opencustodian"'
    unknown = post(http, server, "ocat_" + "x" * 40, good)
    problem(unknown, 401, "invalid_token")
    assert 'error="invalid_token"' in unknown.headers["www-authenticate"]


def test_accounts_outside_the_grant_look_the_same_whether_they_exist_or_not(server, http, shared):
    other = account_number(server.engine, "customer0002")
    refused = problem(ask(http, server, shared, system_account_id=other), 403, "account_not_shared")
    unknown = problem(
        ask(http, server, shared, system_account_id="9999999999"), 403, "account_not_shared"
    )
    assert refused["detail"] == unknown["detail"]


def test_invoices_of_other_accounts_are_not_shown(server, http, shared):
    with server.engine.connect() as connection:
        row = connection.execute(
            select(Account.uuid, Bill.issued_on)
            .join(Bill, Bill.account_id == Account.id)
            .where(Account.account_number == account_number(server.engine, "customer0002"))
        ).first()
    theirs = str(statement_id(row.uuid, row.issued_on))
    for invoice_id in (theirs, str(uuid.uuid4()), "not-an-invoice"):
        for request_type in ("invoice", "invoice_detail"):
            body = problem(
                ask(http, server, shared, request_type, invoice_id), 404, "unknown_invoice"
            )
            assert "invoice_total" not in json.dumps(body)


def test_without_amounts_only_the_basic_request_is_answered(server, http):
    party = server.register(unique_name("No Cost Co"))
    key = ec_key()
    assert put_keys(http, server, party, {"jwks": public_set(key)}).status_code == 200
    token = customer_tokens(http, server, party, WITHOUT_COST, username="customer0003")[
        "access_token"
    ]
    number = account_number(server.engine, "customer0003")
    basic = answer(post(http, server, token, sign(claims(server, party, number), key)), "basic")
    for request_type in ("invoice", "invoice_detail"):
        payload = claims(server, party, number, request_type, basic["system_invoice_ids"][0])
        refused = post(http, server, token, sign(payload, key))
        problem(refused, 403, "insufficient_scope")
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]


def test_revoked_tokens_and_suspended_clients_are_refused(server, http):
    party = server.register(unique_name("Revoked Co"))
    key = ec_key()
    assert put_keys(http, server, party, {"jwks": public_set(key)}).status_code == 200
    tokens = customer_tokens(http, server, party, WITH_COST, username="customer0003")
    number = account_number(server.engine, "customer0003")
    answer(
        post(http, server, tokens["access_token"], sign(claims(server, party, number), key)),
        "basic",
    )
    revoke(http, server, party, tokens["refresh_token"])
    problem(
        post(http, server, tokens["access_token"], sign(claims(server, party, number), key)),
        401,
        "invalid_token",
    )

    suspended = server.register(unique_name("Suspended Co"))
    assert put_keys(http, server, suspended, {"jwks": public_set(key)}).status_code == 200
    live = customer_tokens(http, server, suspended, WITH_COST, username="customer0003")[
        "access_token"
    ]
    answer(post(http, server, live, sign(claims(server, suspended, number), key)), "basic")
    with transaction(session_factory(server.engine)) as session:
        session.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.client_id == suspended.client_id)
            .values(status="suspended")
        )
    body = problem(
        post(http, server, live, sign(claims(server, suspended, number), key)), 401, "invalid_token"
    )
    assert "suspended" in body["detail"]
    problem(get_keys(http, server, suspended), 401, "invalid_client")


def test_a_client_token_reads_every_customer_who_shared_and_no_crossed_invoice(server, http):
    party = server.register(
        unique_name("Query Co"), scopes=("cds_bill_statements cds_query_bill_statements",)
    )
    key = ec_key()
    assert put_keys(http, server, party, {"jwks": public_set(key)}).status_code == 200
    for username in ("customer0001", "customer0002"):
        with httpx.Client(timeout=30) as browser:
            customer_tokens(browser, server, party, "cds_bill_statements", username=username)
    token = client_tokens(http, server, party, "cds_query_bill_statements")["access_token"]
    mine, theirs = (
        account_number(server.engine, name) for name in ("customer0001", "customer0002")
    )
    ids = {}
    for number in (mine, theirs):
        basic = answer(post(http, server, token, sign(claims(server, party, number), key)), "basic")
        assert basic["system_account_id"] == number
        ids[number] = basic["system_invoice_ids"]
    # Another customer's invoice is never confirmed to exist, even to a client that sees it.
    crossed = claims(server, party, theirs, "invoice", ids[mine][0])
    problem(post(http, server, token, sign(crossed, key)), 404, "unknown_invoice")
    own = claims(server, party, mine, "invoice", ids[mine][0])
    answer(post(http, server, token, sign(own, key)), "invoice")
    third = account_number(server.engine, "customer0003")  # never shared with this party
    problem(
        post(http, server, token, sign(claims(server, party, third), key)),
        403,
        "account_not_shared",
    )


# -- audit ---------------------------------------------------------------------------------------


def test_answered_requests_are_audited_and_shown_in_the_customers_access_log(server, http):
    name = unique_name("Audited Solar")
    party = server.register(name)
    key = ec_key()
    assert put_keys(http, server, party, {"jwks": public_set(key)}).status_code == 200
    token = customer_tokens(http, server, party, WITH_COST, username="customer0001")["access_token"]
    number = account_number(server.engine, "customer0001")
    basic = answer(post(http, server, token, sign(claims(server, party, number), key)), "basic")
    payload = claims(server, party, number, "invoice_detail", basic["system_invoice_ids"][0])
    answer(post(http, server, token, sign(payload, key)), "invoice_detail")
    refused = claims(server, party, number, "invoice", str(uuid.uuid4()))
    problem(post(http, server, token, sign(refused, key)), 404, "unknown_invoice")
    with server.engine.connect() as connection:
        grant_uuid = connection.scalar(
            select(Grant.uuid)
            .join(ThirdPartyApplication, ThirdPartyApplication.id == Grant.application_id)
            .where(ThirdPartyApplication.client_id == party.client_id)
        )
        events = connection.execute(
            select(AuditEvent.tag, AuditEvent.actor, AuditEvent.data)
            .where(AuditEvent.subject == f"grant:{grant_uuid}", AuditEvent.tag == "ecis:data:read")
            .order_by(AuditEvent.id)
        ).all()
    assert [event.data["request_type"] for event in events] == ["basic", "invoice_detail"]
    assert all(event.data["api"] == "ecis" for event in events)
    assert all(event.actor == f"client:{party.client_id}" for event in events)
    assert len(events[0].data["usage_points"]) == 2  # the account's electric and gas points

    page = http.get(f"{server.base_url}/portal/access-log")  # ``http`` is customer0001's browser
    assert page.status_code == 200, page.text
    rows = [row for row in log_rows(page.text) if name in row]
    assert len(rows) == 2
    assert "One bill in detail" in rows[0]
    assert "Your account summary" in rows[1]
    assert all('<td class="api">ECIS</td>' in row for row in rows)
    assert all("Electricity at " in row and "Gas at " in row for row in rows)


def test_cds_reads_are_audited_as_cds_and_shown_too(server, http):
    name = unique_name("CDS Reader")
    party = server.register(name, scopes=("cds_bill_statements",))
    token = customer_tokens(http, server, party, "cds_bill_statements", username="customer0001")[
        "access_token"
    ]
    listed = http.get(
        f"{server.base_url}/cds/v1/bill-statements", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200, listed.text
    with server.engine.connect() as connection:
        tags = set(
            connection.scalars(
                select(AuditEvent.tag).where(AuditEvent.actor == f"client:{party.client_id}")
            )
        )
    assert "cds:data:read" in tags
    assert "espi:data:read" not in tags
    rows = [
        row
        for row in log_rows(http.get(f"{server.base_url}/portal/access-log").text)
        if name in row
    ]
    assert len(rows) == 1
    assert "Your bills" in rows[0]
    assert '<td class="api">CDS</td>' in rows[0]
