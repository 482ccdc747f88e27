"""Signing ECIS requests and reading the custodian's answers over real HTTP."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from joserfc import jws
from joserfc.jwk import ECKey, OctKey, RSAKey
from sqlalchemy import select

from opencustodian.storage.models import Account, RetailCustomer
from tests.cds_schemas import assert_valid

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian, ThirdParty

REQUESTS = "/ecis/v1/requests"
KEYS = "/ecis/v1/keys"
#: Usage summaries with cost (FB 15 and 16) within the test party's registered billing scope.
WITH_COST = "FB=1_3_15_16;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63072000;"
WITHOUT_COST = "FB=1_3_15;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63072000;"
SCHEMAS = {"basic": "EcisBasic", "invoice": "EcisInvoice", "invoice_detail": "EcisInvoiceDetail"}
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "oc_code"}

DROP = object()


def ec_key(kid: str = "ec-1") -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid})


def rsa_key(kid: str = "rsa-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def public_set(*keys: Any) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def put_keys(http: httpx.Client, server: LiveCustodian, party: ThirdParty, body: object):
    return http.put(
        f"{server.base_url}{KEYS}",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
        auth=(party.client_id, party.client_secret),
    )


def get_keys(http: httpx.Client, server: LiveCustodian, party: ThirdParty):
    return http.get(f"{server.base_url}{KEYS}", auth=(party.client_id, party.client_secret))


def claims(
    server: LiveCustodian,
    party: ThirdParty,
    account: str,
    request_type: str = "basic",
    invoice: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": party.client_id,
        "aud": f"{server.base_url}{REQUESTS}",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "system_account_id": account,
        "eci_request_type": request_type,
    }
    if invoice is not None:
        base["system_invoice_id"] = invoice
    base.update(changes)
    return {name: value for name, value in base.items() if value is not DROP}


def sign(payload: dict[str, Any], key: Any, alg: str = "ES256", **header: Any) -> str:
    protected = {"alg": alg, **header}
    if "kid" not in protected and not isinstance(key, OctKey) and key.kid:
        protected["kid"] = key.kid
    return jws.serialize_compact(protected, json.dumps(payload).encode(), key, algorithms=[alg])


def post(
    http: httpx.Client,
    server: LiveCustodian,
    token: str | None,
    body: str | bytes,
    content_type: str = "application/jwt",
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.post(f"{server.base_url}{REQUESTS}", content=body, headers=headers)


def answer(response: httpx.Response, request_type: str) -> dict[str, Any]:
    """The 200 body, parsed with exact decimals and checked against its schema."""
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.text, parse_float=Decimal)
    assert_valid(SCHEMAS[request_type], json.loads(response.text))
    return body


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A problem body with exactly the problem members: no customer data rides along."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert_valid("Problem", body)
    assert set(body) == PROBLEM_MEMBERS
    assert body["oc_code"] == code, body
    assert body["status"] == status
    return body


def account_number(engine: Engine, username: str) -> str:
    with engine.connect() as connection:
        number: str = connection.execute(
            select(Account.account_number)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .where(RetailCustomer.username == username)
        ).scalar_one()
    return number
