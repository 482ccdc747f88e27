"""CDS Customer Data listings over real HTTP: content, schemas, scopes, refusals."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select, update

from opencustodian.kit.time import utc_now
from opencustodian.storage.models import Account, Bill, Grant, Meter, RetailCustomer
from tests.cds_schemas import assert_valid
from tests.functional.cds.helpers import (
    EVERY_QUERY,
    EVERYTHING,
    LISTINGS,
    body_of,
    cds_party,
    get,
)
from tests.functional.oauth.flows import client_tokens, customer_tokens, revoke, unique_name


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


def test_a_client_token_lists_aggregations_only_with_their_query_scope(server, http):
    """Regression: the aggregations listing once answered any valid token, client ones too."""
    party = cds_party(server, f"{EVERYTHING} {EVERY_QUERY}")
    for scope in ("cds_client_admin", "cds_query_usage"):
        token = client_tokens(http, server, party, scope)["access_token"]
        response = get(http, server, "aggregations", token)
        assert response.status_code == 403, scope
        assert "insufficient_scope" in response.headers["www-authenticate"]
        assert "aggregations" not in response.json()
    token = client_tokens(http, server, party, "cds_query_aggregations")["access_token"]
    assert_valid("AggregationListing", body_of(get(http, server, "aggregations", token)))


def test_a_query_token_stops_reading_a_grant_at_its_end(server, http):
    """Regression: past its end (before the expiry sweep), a grant stayed open to query tokens."""
    party = cds_party(server, f"{EVERYTHING} {EVERY_QUERY}")
    granted = customer_tokens(http, server, party, EVERYTHING, username="customer0002")
    query = client_tokens(http, server, party, EVERY_QUERY)["access_token"]
    assert body_of(get(http, server, "accounts", query))["accounts"]
    grant = uuid.UUID(granted["authorizationURI"].rsplit("/", 1)[1])
    with server.engine.begin() as connection:
        connection.execute(
            update(Grant)
            .where(Grant.uuid == grant)
            .values(authorized_end=utc_now() - timedelta(seconds=1))
        )
    for path in ("accounts", "bill-sections", "usage-segments"):
        key, _ = LISTINGS[path]
        assert body_of(get(http, server, path, query))[key] == [], path


def test_a_query_token_lists_each_usage_segment_once(server, http):
    """Regression: two grants of one customer to one client listed every segment twice."""
    party = cds_party(server, f"{EVERYTHING} {EVERY_QUERY}")
    first = customer_tokens(http, server, party, "cds_usage", username="customer0003")
    customer_tokens(http, server, party, "cds_usage", username="customer0003")
    query = client_tokens(http, server, party, "cds_query_usage")["access_token"]
    window = {"after": "2026-10-25", "limit": "100"}
    own = body_of(get(http, server, "usage-segments", first["access_token"], **window))
    listed = body_of(get(http, server, "usage-segments", query, **window))
    ids = [segment["cds_usagesegment_id"] for segment in listed["usage_segments"]]
    assert ids
    assert len(ids) == len(set(ids))
    assert ids == [segment["cds_usagesegment_id"] for segment in own["usage_segments"]]


@pytest.mark.parametrize("path", ["accounts", "usage-segments"])
@pytest.mark.parametrize("value", ["²", "٣", "１"])
def test_paging_numbers_are_ascii_digits(server, http, shared, path, value):
    """Regression: str.isdigit() let "²" through to int(), a 500; "٣" was read as 3."""
    _, token = shared
    for name in ("offset", "limit"):
        response = get(http, server, path, token, **{name: value})
        assert response.status_code == 400, (name, response.text)
        assert_valid("Problem", response.json())


def test_usage_segments_of_different_intervals_have_different_ids(server, http):
    """Regression: a segment's id named its point, columns and start, not its interval.

    A client holding an hourly ESPI grant and a CDS grant (15 minutes) of one customer got,
    through its query token, two different segments under one id.
    """
    hourly = "FB=1_3_4_5_12;IntervalDuration=3600;BlockDuration=Daily;HistoryLength=63072000;"
    party = server.register(unique_name(), scopes=(hourly, f"cds_usage {EVERY_QUERY}"))
    customer_tokens(http, server, party, hourly, username="customer0003")
    customer_tokens(http, server, party, "cds_usage", username="customer0003")
    query = client_tokens(http, server, party, "cds_query_usage")["access_token"]
    listed = body_of(get(http, server, "usage-segments", query, after="2026-10-25", limit="100"))
    segments = listed["usage_segments"]
    assert {segment["interval"] for segment in segments} == {900, 3600}
    ids = [segment["cds_usagesegment_id"] for segment in segments]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", ["bill-statements", "bill-sections", "eacs", "usage-segments"])
@pytest.mark.parametrize("value", ["", " ", "2026-01-01junk", "2026-1-1"])
def test_a_malformed_date_filter_is_a_bad_request(server, http, shared, path, value):
    """Regression: ``before=`` was read as no filter and a date's trailing junk was ignored."""
    _, token = shared
    response = get(http, server, path, token, before=value)
    assert response.status_code == 400, response.text
    assert_valid("Problem", response.json())


def test_date_filters_take_rfc_3339_lower_case_letters(server, http, shared):
    """RFC 3339 §5.6 allows ``t`` and ``z``; Python's ``fromisoformat`` alone refuses them."""
    _, token = shared
    upper = body_of(get(http, server, "usage-segments", token, after="2026-10-28T06:00:00Z"))
    lower = body_of(get(http, server, "usage-segments", token, after="2026-10-28t06:00:00z"))
    assert lower["usage_segments"]
    ids = [segment["cds_usagesegment_id"] for segment in upper["usage_segments"]]
    assert [segment["cds_usagesegment_id"] for segment in lower["usage_segments"]] == ids
    statements = body_of(get(http, server, "bill-statements", token, before="2026-10-31t23:00:00z"))
    assert statements["bill_statements"]
