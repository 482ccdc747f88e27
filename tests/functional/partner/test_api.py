"""The agreements API for third-party systems: client-credentials tokens, own agreements only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from opencustodian.kit.time import utc_now
from opencustodian.kit.tokens import hash_secret
from opencustodian.storage.consent import NewToken, SqlConsentStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import EnergyDataAgreement
from tests.agreements import ONGOING, UNREGISTERED, meters_of
from tests.custodian import SECRET_KEY
from tests.functional.partner.helpers import (
    answer,
    client_token,
    set_report,
    unregistered_agreement,
)

ROOT = "/agreements/v1/agreements"
PROBLEM = "application/problem+json"
CSV = b"ESIID,Meter Number,Start,End,kWh\r\n"


def get(portal, path: str, token: str | None, **params: str):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return portal.client.get(path, headers=headers, params=params)


def customer_token(portal, number: str) -> str:
    """A customer access token on the grant an accepted ongoing agreement opened."""
    token = "customer-token-for-the-agreement-grant"
    now = utc_now()
    with transaction(session_factory(portal.engine)) as session:
        grant = session.scalar(
            select(EnergyDataAgreement.grant_id).where(EnergyDataAgreement.number == number)
        )
        assert grant is not None
        SqlConsentStore(session).add_token(
            grant,
            NewToken(
                access_hash=hash_secret(token, SECRET_KEY),
                refresh_hash=None,
                scope="FB=1_3_4_5;",
                issued_at=now,
                access_expires_at=now + timedelta(hours=1),
                refresh_expires_at=None,
            ),
        )
    return token


def test_the_list_holds_only_the_companys_agreements(portal):
    one_time = unregistered_agreement(portal)
    ongoing = unregistered_agreement(portal, ONGOING)
    theirs = unregistered_agreement(portal, company=portal.other_id)
    token = client_token(portal, portal.sunny)
    response = get(portal, ROOT, token)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["total"] == 2
    assert [item["number"] for item in body["agreements"]] == [ongoing, one_time]
    assert theirs not in response.text
    item = body["agreements"][1]
    esiid, meter = meters_of(portal.engine, UNREGISTERED)[0]
    assert item["kind"] == "one_time"
    assert item["status"] == "pending"
    assert item["status_label"] == "Pending"
    assert (item["esiid"], item["meter_number"]) == (esiid, meter)
    assert item["customer"]["last_name"] == "Akin"
    assert item["third_party"]["company_name"] == "Sunny Solar"
    assert item["report_type"] == "daily"
    assert item["invitation_expires_at"].endswith("Z")
    assert item["report"] is None
    assert item["href"].endswith(f"{ROOT}/{one_time}")
    assert body["agreements"][0]["term_months"] == 12


def test_filter_by_status_and_page(portal):
    first = unregistered_agreement(portal, ONGOING)
    answer(portal, accept=True)
    second = unregistered_agreement(portal, ONGOING)
    third = unregistered_agreement(portal, ONGOING)
    token = client_token(portal, portal.sunny)
    active = get(portal, ROOT, token, status="active").json()
    assert [item["number"] for item in active["agreements"]] == [first]
    pending = get(portal, ROOT, token, status="pending", limit="1").json()
    assert pending["total"] == 2
    assert [item["number"] for item in pending["agreements"]] == [third]
    assert pending["next"].endswith(f"{ROOT}?offset=1&limit=1&status=pending")
    rest = get(portal, ROOT, token, status="pending", limit="1", offset="1").json()
    assert [item["number"] for item in rest["agreements"]] == [second]
    assert "next" not in rest


def test_bad_query_parameters_are_400_problems(portal):
    token = client_token(portal, portal.sunny)
    for params in (
        {"status": "happy"},
        {"limit": "-1"},
        {"limit": "501"},
        {"offset": "x"},
        {"colour": "blue"},
    ):
        response = get(portal, ROOT, token, **params)
        assert response.status_code == 400, params
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["status"] == 400
    twice = portal.client.get(
        f"{ROOT}?status=active&status=pending", headers={"Authorization": f"Bearer {token}"}
    )
    assert twice.status_code == 400


def test_one_agreement_and_another_companys_404(portal):
    mine = unregistered_agreement(portal)
    theirs = unregistered_agreement(portal, company=portal.other_id)
    token = client_token(portal, portal.sunny)
    response = get(portal, f"{ROOT}/{mine}", token)
    assert response.status_code == 200
    assert response.json()["number"] == mine
    for number in (theirs, "123", "999999999999"):
        for path in (f"{ROOT}/{number}", f"{ROOT}/{number}/report"):
            refused = get(portal, path, token)
            assert refused.status_code == 404, path
            assert refused.headers["content-type"] == PROBLEM
    # The other company reads its own, not ours.
    other = client_token(portal, portal.other)
    assert get(portal, f"{ROOT}/{theirs}", other).status_code == 200
    assert get(portal, f"{ROOT}/{mine}", other).status_code == 404


def test_tokens_are_checked(portal):
    number = unregistered_agreement(portal, ONGOING)
    answer(portal, accept=True)
    customer = customer_token(portal, number)
    for path in (ROOT, f"{ROOT}/{number}", f"{ROOT}/{number}/report"):
        missing = get(portal, path, None)
        assert missing.status_code == 401, path
        assert missing.headers["content-type"] == PROBLEM
        assert "Bearer" in missing.headers["www-authenticate"]
        assert get(portal, path, "not-a-token-we-ever-issued").status_code == 401
        # A customer's token (even on this very agreement's grant) is not the company's.
        refused = get(portal, path, customer)
        assert refused.status_code == 403, path
        assert "client_credentials" in refused.json()["detail"]


def test_the_report(portal):
    one_time = unregistered_agreement(portal)
    ongoing = unregistered_agreement(portal, ONGOING)
    token = client_token(portal, portal.sunny)
    pending = get(portal, f"{ROOT}/{one_time}/report", token)
    assert pending.status_code == 409
    assert "has not accepted" in pending.json()["detail"]
    assert get(portal, f"{ROOT}/{ongoing}/report", token).status_code == 404
    answer(portal, accept=False)  # the ongoing one (the latest invitation) is rejected
    assert get(portal, f"{ROOT}/{ongoing}/report", token).status_code == 404
    answer(portal, accept=True, invitation=0)  # the one-time one is accepted
    building = get(portal, f"{ROOT}/{one_time}/report", token)
    assert building.status_code == 409
    assert building.headers["retry-after"] == "60"
    item = get(portal, f"{ROOT}/{one_time}", token).json()
    assert item["status"] == "complete"
    assert item["report"] == {"status": "pending", "href": item["href"] + "/report"}
    set_report(portal.engine, one_time, "ready", CSV)
    ready = get(portal, f"{ROOT}/{one_time}/report", token)
    assert ready.status_code == 200
    assert ready.headers["content-type"] == "text/csv; charset=utf-8"
    assert ready.content == CSV
    listed = get(portal, ROOT, token).json()["agreements"]
    assert [item["report"]["status"] for item in listed if item["number"] == one_time] == ["ready"]
    other = client_token(portal, portal.other)
    assert get(portal, f"{ROOT}/{one_time}/report", other).status_code == 404
    set_report(portal.engine, one_time, "failed")
    assert get(portal, f"{ROOT}/{one_time}/report", token).status_code == 410


def test_the_routes_are_in_the_openapi_document(portal):
    paths = portal.client.get("/openapi.json").json()["paths"]
    listing = paths[ROOT]["get"]
    assert set(listing["responses"]) >= {"200", "400", "401", "403"}
    assert {parameter["name"] for parameter in listing["parameters"]} == {
        "status",
        "limit",
        "offset",
    }
    report = paths[f"{ROOT}/{{number}}/report"]["get"]["responses"]
    assert "text/csv" in report["200"]["content"]
    assert {"404", "409", "410"} <= set(report)
