"""CDS Customer Data listings over real HTTP: content, schemas, scopes, refusals."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from opencustodian.storage.models import Account, Bill, Meter, RetailCustomer
from tests.cds_schemas import assert_valid
from tests.functional.cds.helpers import EVERYTHING, LISTINGS, body_of, cds_party, get
from tests.functional.oauth.flows import customer_tokens, revoke


@pytest.fixture(scope="module")
def shared(server):
    """customer0001 (solar and gas) shares everything with one CDS third party."""
    party = cds_party(server)
    with httpx.Client(timeout=30) as http:
        tokens = customer_tokens(http, server, party, EVERYTHING, username="customer0001")
    return party, tokens["access_token"]


@pytest.mark.parametrize("path", sorted(LISTINGS))
def test_every_listing_answers_its_schema(server, http, shared, path):
    _, token = shared
    key, schema = LISTINGS[path]
    body = body_of(get(http, server, path, token))
    assert_valid(schema, body)
    assert set(body) == {key, "next", "previous"}


def test_accounts_are_exactly_the_customers_shared_accounts(server, http, shared):
    _, token = shared
    accounts = body_of(get(http, server, "accounts", token))["accounts"]
    with server.engine.connect() as connection:
        expected = set(
            connection.scalars(
                select(Account.account_number)
                .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
                .where(RetailCustomer.username == "customer0001")
            )
        )
    assert {account["account_number"] for account in accounts} == expected
    assert all(account["account_contacts"] for account in accounts)


def test_meters_and_points_link_top_down(server, http, shared):
    _, token = shared
    contracts = body_of(get(http, server, "service-contracts", token))["service_contracts"]
    points = body_of(get(http, server, "service-points", token))["service_points"]
    meters = body_of(get(http, server, "meter-devices", token))["meter_devices"]
    contract_ids = {contract["cds_servicecontract_id"] for contract in contracts}
    assert contract_ids
    assert {c for point in points for c in point["current_servicecontracts"]} == contract_ids
    point_ids = {point["cds_servicepoint_id"] for point in points}
    assert {p for meter in meters for p in meter["current_servicepoints"]} <= point_ids
    with server.engine.connect() as connection:
        numbers = set(connection.scalars(select(Meter.meter_number)))
    assert {meter["meter_number"] for meter in meters} <= numbers
    # A filter by a parent id lists only its children.
    one = points[0]["cds_servicepoint_id"]
    filtered = body_of(get(http, server, "meter-devices", token, current_servicepoints=one))
    assert {p for m in filtered["meter_devices"] for p in m["current_servicepoints"]} == {one}


def test_bill_statements_total_the_stored_bills(server, http, shared):
    _, token = shared
    statements = body_of(get(http, server, "bill-statements", token))["bill_statements"]
    sections = body_of(get(http, server, "bill-sections", token))["bill_sections"]
    assert statements
    by_statement: dict[str, Decimal] = {}
    for section in sections:
        total = next(d["cost"] for d in section["cost_details"] if "overall_total" in d["types"])
        by_statement.setdefault(section["cds_billstatement_id"], Decimal(0))
        by_statement[section["cds_billstatement_id"]] += total
    for statement in statements:
        assert statement["amount_due"] == by_statement[statement["cds_billstatement_id"]]
    with server.engine.connect() as connection:
        stored = {
            str(row.uuid): row.total for row in connection.execute(select(Bill.uuid, Bill.total))
        }
    for section in sections:
        total = next(d["cost"] for d in section["cost_details"] if "overall_total" in d["types"])
        assert total == stored[section["cds_billsection_id"]]
    dates = [statement["statement_date"] for statement in statements]
    assert dates == sorted(dates, reverse=True)


def test_usage_segments_are_month_sized_columns_with_nulls_for_gaps(server, http, shared):
    _, token = shared
    segments = body_of(get(http, server, "usage-segments", token))["usage_segments"]
    assert segments
    for segment in segments:
        assert all(len(row) == len(segment["formats"]) for row in segment["values"])
        assert segment["interval"] > 0
    qualities = {f.get("quality") for s in segments for f in s["formats"] if "quality" in f}
    assert "raw" in qualities  # the provisional last day is its own segment
    assert "valid" in qualities


def test_listing_parameters_are_checked(server, http, shared):
    _, token = shared
    assert get(http, server, "accounts", token, nonsense="1").status_code == 400
    assert get(http, server, "accounts", token, limit="0").status_code == 400
    assert get(http, server, "accounts", token, offset="-1").status_code == 400
    assert get(http, server, "bill-statements", token, before="yesterday").status_code == 400
    response = get(http, server, "accounts", token, limit="101")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert_valid("Problem", response.json())


def test_paging_walks_every_object_once(server, http, shared):
    _, token = shared
    everything = body_of(get(http, server, "bill-sections", token))["bill_sections"]
    seen: list[str] = []
    url: str | None = f"{server.base_url}/cds/v1/bill-sections?limit=2"
    while url:
        page = body_of(http.get(url, headers={"Authorization": f"Bearer {token}"}))
        seen.extend(section["cds_billsection_id"] for section in page["bill_sections"])
        url = page["next"]
    assert seen == [section["cds_billsection_id"] for section in everything]


def test_a_scope_opens_only_its_own_records(server, http):
    party = cds_party(server, "cds_accounts")
    tokens = customer_tokens(http, server, party, "cds_accounts", username="customer0002")
    token = tokens["access_token"]
    assert get(http, server, "accounts", token).status_code == 200
    for path in ("bill-statements", "usage-segments", "meter-devices"):
        response = get(http, server, path, token)
        assert response.status_code == 403, path
        assert "insufficient_scope" in response.headers["www-authenticate"]


def test_no_token_unknown_and_revoked_tokens_are_refused(server, http):
    party = cds_party(server)
    tokens = customer_tokens(http, server, party, EVERYTHING, username="customer0003")
    assert http.get(f"{server.base_url}/cds/v1/accounts").status_code == 401
    assert get(http, server, "accounts", "ocat_not-a-real-token-at-all").status_code == 401
    revoke(http, server, party, tokens["refresh_token"])
    response = get(http, server, "accounts", tokens["access_token"])
    assert response.status_code == 401
    assert "accounts" not in response.text


def test_another_customers_token_sees_only_its_own(server, http, shared):
    _, token = shared
    party = cds_party(server)
    other = customer_tokens(http, server, party, EVERYTHING, username="customer0002")
    mine = {a["cds_account_id"] for a in body_of(get(http, server, "accounts", token))["accounts"]}
    theirs = body_of(get(http, server, "accounts", other["access_token"]))["accounts"]
    assert mine
    assert theirs
    assert not mine & {account["cds_account_id"] for account in theirs}
    for account_id in mine:
        crossed = get(http, server, "accounts", other["access_token"], cds_account_ids=account_id)
        assert body_of(crossed)["accounts"] == []
    with server.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Account)) > len(mine)
