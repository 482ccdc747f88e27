"""RFC 9396 authorization details at the consent page (CDS-WG3-01 §7): preselection, expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from opencustodian.profile import load_profile
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Grant,
    RetailCustomer,
    ServicePoint,
)
from tests.custodian import checkbox_values, form_value, sign_in
from tests.functional.cds.helpers import body_of, cds_party, get
from tests.functional.oauth.flows import exchange, ok, redirect_params


@pytest.fixture(scope="module")
def party(server):
    """A third party registered for every CDS consent scope."""
    return cds_party(server)


def accounts_of(server, username: str) -> dict[str, set[str]]:
    """Account number → the ESIIDs of its service points, for one customer."""
    statement = (
        select(Account.account_number, ServicePoint.esiid)
        .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
        .join(AccountServicePoint, AccountServicePoint.account_id == Account.id)
        .join(ServicePoint, ServicePoint.id == AccountServicePoint.service_point_id)
        .where(RetailCustomer.username == username)
    )
    found: dict[str, set[str]] = {}
    with server.engine.connect() as connection:
        for number, esiid in connection.execute(statement):
            found.setdefault(number, set()).add(esiid)
    return found


def authorize(http: httpx.Client, server, party, details, **extra) -> httpx.Response:
    """``GET /oauth/authorize`` with ``authorization_details`` and no scope (the types name it)."""
    query = {
        "response_type": "code",
        "client_id": party.client_id,
        "redirect_uri": party.redirect_uri,
        "state": "st-rar",
        "authorization_details": json.dumps(details),
        **extra,
    }
    return http.get(f"{server.base_url}/oauth/authorize", params=query)


def consent_page(http, server, party, details, **extra) -> str:
    """The consent page the customer sees for ``details`` (signed in as customer0001)."""
    first = authorize(http, server, party, details, **extra)
    assert first.status_code == 200, first.text
    return (
        sign_in(http, server.base_url, first.text)
        if 'name="password"' in first.text
        else first.text
    )


def accept(http, server, page: str, duration: str) -> dict[str, str]:
    """Accept the page as shown (every scope, every offered service point)."""
    data = {
        "csrf": form_value(page, "csrf"),
        "request_query": form_value(page, "request_query"),
        "decision": "accept",
        "duration": duration,
        "scope": checkbox_values(page, "scope"),
        "service_point": checkbox_values(page, "service_point"),
    }
    response = http.post(f"{server.base_url}/oauth/authorize", data=data)
    assert response.status_code == 302, response.text
    return redirect_params(response)


def latest_grant(server) -> tuple[datetime, list[dict[str, Any]]]:
    """The newest customer grant's end (aware) and granted authorization details."""
    statement = (
        select(Grant.authorized_end, Grant.authorization_details)
        .where(Grant.kind == "customer")
        .order_by(Grant.id.desc())
        .limit(1)
    )
    with server.engine.connect() as connection:
        end, details = connection.execute(statement).one()
    assert isinstance(end, datetime)
    assert isinstance(details, list)
    return end.replace(tzinfo=end.tzinfo or UTC), details


def test_preselected_service_point_and_requested_expiry_shape_the_grant(server, party):
    accounts = accounts_of(server, "customer0001")
    account, points = next(iter(sorted(accounts.items())))
    assert len(points) >= 2, "customer0001 needs two service points for this test"
    chosen, other = sorted(points)[:2]
    details = [
        {"type": "cds_accounts", "account_numbers": [account], "servicepoint_numbers": [chosen]},
        {"type": "cds_meters", "expires": "P90D"},
    ]
    with httpx.Client(timeout=30) as http:
        page = consent_page(http, server, party, details)
        assert len(checkbox_values(page, "service_point")) == 1
        assert 'value="requested" selected' in page
        started = datetime.now(UTC)
        params = accept(http, server, page, "requested")
        assert params["state"] == "st-rar"
        tokens = ok(exchange(http, server, party, params["code"]))
        listed = body_of(get(http, server, "service-points", tokens["access_token"]))
    numbers = {point["servicepoint_number"] for point in listed["service_points"]}
    assert numbers == {chosen}
    assert other not in numbers
    assert tokens["scope"] == "cds_accounts cds_meters"
    assert {detail["type"] for detail in tokens["authorization_details"]} == {
        "cds_accounts",
        "cds_meters",
    }
    end, granted_details = latest_grant(server)
    assert started + timedelta(days=90) <= end <= datetime.now(UTC) + timedelta(days=90)
    granted = {detail["type"]: detail for detail in granted_details}
    assert set(granted) == {"cds_accounts", "cds_meters"}
    for detail in granted.values():
        assert detail["account_numbers"] == [account]
        assert detail["servicepoint_numbers"] == [chosen]
        assert detail["expires"].endswith("Z")
    assert tokens["authorization_details"] == granted_details


def test_infinite_expiry_is_the_longest_the_utility_allows(server, party):
    details = [{"type": "cds_meters", "account_numbers": ["_all"], "expires": "infinite"}]
    with httpx.Client(timeout=30) as http:
        page = consent_page(http, server, party, details)
        before = datetime.now(UTC)
        accept(http, server, page, "requested")
    end, granted_details = latest_grant(server)
    limit = load_profile().limits.max_authorization_days
    assert before + timedelta(days=limit) <= end <= datetime.now(UTC) + timedelta(days=limit)
    assert set(granted_details[0]["account_numbers"]) == set(accounts_of(server, "customer0001"))


def test_a_preselection_matching_none_of_the_customers_services_offers_nothing(server, party):
    details = [{"type": "cds_accounts", "account_numbers": ["no-such-account"]}]
    with httpx.Client(timeout=30) as http:
        page = consent_page(http, server, party, details)
    assert 'id="no-preselected-service"' in page
    assert checkbox_values(page, "service_point") == []


def test_the_customer_may_still_choose_a_shorter_offered_duration(server, party):
    details = [{"type": "cds_accounts", "expires": "P2Y"}]
    with httpx.Client(timeout=30) as http:
        page = consent_page(http, server, party, details)
        accept(http, server, page, "30")
    end, granted_details = latest_grant(server)
    assert end <= datetime.now(UTC) + timedelta(days=30)
    assert granted_details[0]["expires"][:10] == end.astimezone(UTC).date().isoformat()


@pytest.mark.parametrize(
    ("details", "extra"),
    [
        pytest.param("not json", {}, id="not-json"),
        pytest.param({"type": "cds_accounts"}, {}, id="not-an-array"),
        pytest.param([], {}, id="empty-array"),
        pytest.param([{"account_numbers": ["1"]}], {}, id="no-type"),
        pytest.param([{"type": "cds_accounts", "colour": "red"}], {}, id="unknown-field"),
        pytest.param([{"type": "cds_accounts", "account_numbers": "1"}], {}, id="not-a-list"),
        pytest.param([{"type": "cds_accounts", "expires": "soon"}], {}, id="bad-expires"),
        pytest.param([{"type": "cds_accounts", "expires": "P0D"}], {}, id="zero-expires"),
        pytest.param(
            [{"type": "cds_accounts", "expires": "2020-01-01T00:00:00Z"}], {}, id="past-expires"
        ),
        pytest.param(
            [{"type": "cds_accounts", "expires": "2030-01-01T00:00:00"}], {}, id="naive-expires"
        ),
        pytest.param([{"type": "cds_usage"}], {"scope": "cds_accounts"}, id="type-not-in-scope"),
        pytest.param([{"type": "cds_accounts"}, {"type": "cds_accounts"}], {}, id="repeated"),
        pytest.param(
            [{"type": "cds_accounts", "account_numbers": ["x" * 50] * 200}], {}, id="too-big"
        ),
    ],
)
def test_unusable_details_go_back_to_the_client_as_invalid_authorization_details(
    server, party, details, extra
):
    text = details if isinstance(details, str) else json.dumps(details)
    query = {
        "response_type": "code",
        "client_id": party.client_id,
        "redirect_uri": party.redirect_uri,
        "scope": "cds_accounts",
        "state": "st-rar",
        "authorization_details": text,
        **extra,
    }
    with httpx.Client(timeout=30) as http:
        response = http.get(f"{server.base_url}/oauth/authorize", params=query)
    assert response.status_code == 302, response.text
    params = redirect_params(response)
    assert params["error"] == "invalid_authorization_details", params
    assert params["error_description"]
    assert params["state"] == "st-rar"
    assert "code" not in params
