"""Schemathesis over the nine CDS listings, driven by the custodian's own OpenAPI document.

The document is the application's (``/openapi.json``; its response schemas are the CDS JSON
Schemas of ``protocols.cds.schema_catalog``, its query parameters the listings' filters and
paging). Schemathesis's pytest integration needs it when tests are collected, before the live
server exists (its fixture-loaded schemas, ``schemathesis.pytest.from_fixture``, set
``Function._nodeid``, which pytest 9 no longer has), so it is rendered from an application
object over an unused database, and ``test_the_live_server_serves_the_fuzzed_document`` shows
the live server serves that very document.

Every generated request — valid and invalid filters, dates and pages — goes to the live, seeded
custodian with a customer token holding every CDS consent scope, and again with a
client token holding every ``cds_query_*`` scope. Each answer must be no server error, carry a
documented status and content type, and match the schema documented for that status (the
listing for 200, an RFC 9457 problem for 400/401/403); a request the declared parameters
allow must be answered, one they do not allow refused with a 4xx.

Only the GET listings of ``/cds/v1`` are run: the rest of the document is other work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from opencustodian.config import Environment, Settings
from opencustodian.storage.db import make_engine
from opencustodian.web.app import create_app
from tests.custodian import SECRET_KEY
from tests.functional.cds.helpers import EVERY_QUERY, EVERYTHING, LISTINGS, cds_party
from tests.functional.oauth.flows import client_tokens, customer_tokens
from tests.live import HEAD_LIMIT

if TYPE_CHECKING:
    from schemathesis import Case, HookContext

    from tests.custodian import LiveCustodian

LISTING_PATHS = rf"^/cds/v1/({'|'.join(LISTINGS)})$"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    # The parameters are declared exactly: what they allow is answered, the rest is a 400.
    positive_data_acceptance,
    negative_data_rejection,
]
#: Query bytes a request may carry here (h11's default head limit is 16 KiB, headers included).
MAX_REQUEST_QUERY = HEAD_LIMIT // 2
#: Bounded and repeatable: 30 generated requests per listing and token besides the coverage
#: phase's boundary cases, the same every run.
EXAMPLES = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def application_document() -> dict[str, Any]:
    """The OpenAPI document of the application (no request reaches its database)."""
    settings = Settings(
        environment=Environment.TESTING,
        database_url="sqlite://",
        secret_key=SECRET_KEY,
        base_url="http://127.0.0.1",
    )
    return create_app(settings, make_engine("sqlite://")).openapi()


DOCUMENT = application_document()
schema = schemathesis.openapi.from_dict(DOCUMENT).include(method="GET", path_regex=LISTING_PATHS)


@schema.hook
def filter_query(context: HookContext, query: dict[str, Any] | None) -> bool:
    """Only queries the test server reads whole (``tests.live.HEAD_LIMIT``, with room to spare).

    The listings take values up to ``MAX_PARAMETER_LENGTH`` characters; several of them, in
    characters percent-encoded as 6 to 12 bytes, could make request heads the HTTP server
    refuses before the application is called. Such requests test the HTTP server, not the API.
    """
    del context
    return len(urlencode(query or {}, doseq=True)) <= MAX_REQUEST_QUERY


@pytest.fixture(scope="module")
def tokens(server: LiveCustodian) -> dict[str, str]:
    """customer0001's token for every consent scope; its party's token for every query."""
    party = cds_party(server, f"{EVERYTHING} {EVERY_QUERY}")
    with httpx.Client(timeout=30) as http:
        customer = customer_tokens(http, server, party, EVERYTHING, username="customer0001")
        query = client_tokens(http, server, party, EVERY_QUERY)
    return {"customer": customer["access_token"], "query": query["access_token"]}


def call_and_check(case: Case[Any], server: LiveCustodian, token: str) -> None:
    case.call_and_validate(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
    )


def test_the_live_server_serves_the_fuzzed_document(server: LiveCustodian, http) -> None:
    served = http.get(f"{server.base_url}/openapi.json").json()
    listings = [f"/cds/v1/{path}" for path in LISTINGS]
    assert {path: served["paths"][path] for path in listings} == {
        path: DOCUMENT["paths"][path] for path in listings
    }
    used = {name for name in served["components"]["schemas"] if name.startswith("Cds")}
    assert {name: served["components"]["schemas"][name] for name in used} == {
        name: DOCUMENT["components"]["schemas"][name] for name in used
    }
    assert len(list(schema.get_all_operations())) == len(LISTINGS)


@schema.parametrize()
@EXAMPLES
def test_listings_with_a_customer_token(
    case: Case[Any], server: LiveCustodian, tokens: dict[str, str]
) -> None:
    call_and_check(case, server, tokens["customer"])


@schema.parametrize()
@EXAMPLES
def test_listings_with_a_query_token(
    case: Case[Any], server: LiveCustodian, tokens: dict[str, str]
) -> None:
    call_and_check(case, server, tokens["query"])
