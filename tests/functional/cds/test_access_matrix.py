"""The CDS access matrix (issue 5 "Must show"): every listing × every kind of caller.

Customers X (customer0001) and Y (customer0002) share everything with third parties A and B
respectively; Z (customer0003) with M, until Z moves out. Each third party also holds a
client-credentials ``cds_query_*`` token. The matrix below names every caller once, with what
it must get from each of the nine listings:

- ``reads``: 200, a listing valid against its schema holding exactly the customer-specific
  objects of ``own`` (nothing when ``own`` is None), never one of a ``foreign`` customer's,
  and every listing filtered by a foreign customer's ids or numbers comes back empty — not an
  error that would confirm the objects exist;
- ``insufficient_scope``: 403 with an RFC 9457 problem, the RFC 6750 challenge, and no data;
- ``invalid_token``: 401, the same way.

A customer's objects are the ones its own token lists; utility-wide energy attribute
certificates and the public aggregation are everybody's, and the confidential aggregation
(grouping one of X's service points) is nobody's to list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from opencustodian.demo.synthetic import DEMO_PASSWORD
from opencustodian.jobs.work import lifecycle_for
from opencustodian.kit.time import utc_now
from opencustodian.services.accounts import record_move_out
from opencustodian.storage.accounts import SqlAccountStore
from opencustodian.storage.admins import create_admin
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Aggregation,
    AggregationMember,
    EnergyAttributeCertificate,
    Grant,
    OAuthToken,
    RetailCustomer,
)
from tests.cds_schemas import assert_valid
from tests.custodian import form_value
from tests.functional.admin.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, csrf_of, sign_in_admin
from tests.functional.cds.helpers import (
    EVERY_QUERY,
    EVERYTHING,
    LISTINGS,
    body_of,
    cds_party,
    get,
)
from tests.functional.oauth.flows import client_tokens, customer_tokens, stored_hash

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tests.custodian import LiveCustodian, ThirdParty

CUSTOMERS = {"X": "customer0001", "Y": "customer0002", "Z": "customer0003"}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}
ID_FIELDS = {
    "accounts": "cds_account_id",
    "service-contracts": "cds_servicecontract_id",
    "service-points": "cds_servicepoint_id",
    "meter-devices": "cds_meterdevice_id",
    "bill-statements": "cds_billstatement_id",
    "bill-sections": "cds_billsection_id",
    "eacs": "cds_eac_id",
    "aggregations": "cds_aggregation_id",
    "usage-segments": "cds_usagesegment_id",
}
#: The filters a foreign caller tries with the victim's values, per listing (§10 filters).
PROBES = {
    "accounts": ("cds_account_ids", "account_numbers"),
    "service-contracts": ("cds_servicecontract_ids", "account_numbers"),
    "service-points": ("cds_servicepoint_ids", "current_servicecontracts"),
    "meter-devices": ("cds_meterdevice_ids", "current_servicepoints"),
    "bill-statements": ("cds_billstatement_ids", "cds_account_ids", "account_numbers"),
    "bill-sections": ("cds_billsection_ids", "cds_billstatement_ids", "cds_account_ids"),
    "eacs": ("cds_eac_ids", "beneficiaries"),
    "aggregations": ("cds_aggregation_ids", "aggregation_numbers"),
    "usage-segments": ("cds_usagesegment_ids", "cds_servicepoint_ids", "account_numbers"),
}
#: Where a filter's values come from: (listing, field) of the victim's own objects.
PROBE_VALUES = {
    "cds_account_ids": ("accounts", "cds_account_id"),
    "beneficiaries": ("accounts", "cds_account_id"),
    "account_numbers": ("accounts", "account_number"),
    "cds_servicecontract_ids": ("service-contracts", "cds_servicecontract_id"),
    "current_servicecontracts": ("service-contracts", "cds_servicecontract_id"),
    "cds_servicepoint_ids": ("service-points", "cds_servicepoint_id"),
    "current_servicepoints": ("service-points", "cds_servicepoint_id"),
    "cds_meterdevice_ids": ("meter-devices", "cds_meterdevice_id"),
    "cds_billstatement_ids": ("bill-statements", "cds_billstatement_id"),
    "cds_billsection_ids": ("bill-sections", "cds_billsection_id"),
    "cds_eac_ids": ("eacs", "cds_eac_id"),
    "cds_usagesegment_ids": ("usage-segments", "cds_usagesegment_id"),
}
#: Usage is read over the seeded history's last days only: validating 75 days of 15-minute
#: rows against the schema takes seconds per call (test_customer_data validates them whole),
#: and who may read a segment does not depend on how long it is.
USAGE_WINDOW = {"after": "2026-10-28"}
PUBLIC_AGGREGATION = "BLD-PUBLIC-1"
SECRET_AGGREGATION = "BLD-SECRET-1"


@dataclass(frozen=True)
class Caller:
    """One row of the matrix: a token and what every listing must answer it."""

    name: str
    token: str
    outcome: str  # "reads" | "insufficient_scope" | "invalid_token"
    own: str | None = None
    foreign: tuple[str, ...] = ("X", "Y", "Z")


READS, FORBIDDEN, INVALID = "reads", "insufficient_scope", "invalid_token"
CALLERS = (
    # X's own third party, by customer token and by query token: X's objects only.
    Caller("A-customer-token-of-X", "a_x", READS, own="X", foreign=("Y", "Z")),
    Caller("A-query-token", "a_query", READS, own="X", foreign=("Y", "Z")),
    # Another client, holding only Y: never X's (and, seen from X, another customer's).
    Caller("B-customer-token-of-Y", "b_y", READS, own="Y", foreign=("X", "Z")),
    Caller("B-query-token", "b_query", READS, own="Y", foreign=("X", "Z")),
    # Missing scope: a grant (or client token) without the scope this listing needs.
    Caller("A-grant-without-the-scope", "missing_consent", FORBIDDEN),
    Caller("A-query-token-without-the-scope", "missing_query", FORBIDDEN),
    Caller("A-client-admin-token", "a_admin", FORBIDDEN),
    # Refused tokens: every one a grant of X (Z for the move-out) that once read everything.
    Caller("expired-access-token", "expired", INVALID),
    Caller("grant-revoked-by-customer", "revoked", INVALID),
    Caller("party-suspended-by-operator", "suspended", INVALID),
    Caller("suspended-party-query-token", "suspended_query", INVALID),
    Caller("authorization-past-its-end", "ended", INVALID),
    Caller("customer-moved-out", "moved_out", INVALID),
    Caller("no-token", "", INVALID),
    # The query tokens of parties whose only grant ended: they read nobody now.
    Caller("revoked-party-query-token", "revoked_query", READS),
    Caller("ended-party-query-token", "ended_query", READS),
    Caller("moved-out-party-query-token", "moved_out_query", READS),
)


@dataclass
class World:
    """Tokens, and each customer's objects as its own token listed them first."""

    server: LiveCustodian
    tokens: dict[str, str]
    #: customer → listing → customer-specific objects
    objects: dict[str, dict[str, list[dict[str, Any]]]]
    #: listing → ids every caller may see (utility-wide certificates, the public aggregation)
    shared: dict[str, set[str]]
    secret_aggregation: tuple[str, str]

    def ids(self, customer: str, path: str) -> set[str]:
        return {item[ID_FIELDS[path]] for item in self.objects[customer][path]}

    def probe_values(self, customer: str, name: str) -> set[str]:
        if name == "cds_aggregation_ids":
            return {self.secret_aggregation[0]}
        if name == "aggregation_numbers":
            return {self.secret_aggregation[1]}
        path, field = PROBE_VALUES[name]
        return {str(item[field]) for item in self.objects[customer][path]}


def listing_pages(
    http: httpx.Client, server: LiveCustodian, path: str, token: str, **params: str
) -> list[dict[str, Any]]:
    """Every page of a listing (following ``next``), each checked against its schema."""
    key, schema = LISTINGS[path]
    if path == "usage-segments":
        params = {**USAGE_WINDOW, **params}
    response = get(http, server, path, token, **params)
    objects: list[dict[str, Any]] = []
    while True:
        page = body_of(response)
        assert_valid(schema, page)
        objects.extend(page[key])
        if page["next"] is None:
            return objects
        response = http.get(page["next"], headers={"Authorization": f"Bearer {token}"})


def account_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(RetailCustomer.username, Account.id).join(
                Account, Account.customer_id == RetailCustomer.id
            )
        ).all()
    by_username = dict(rows)
    return {label: by_username[username] for label, username in CUSTOMERS.items()}


def publish_catalog(engine: Engine) -> tuple[str, str]:
    """One certificate per customer account, one utility-wide; a public and a secret building."""
    accounts = account_ids(engine)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    secret = uuid.uuid4()
    with engine.begin() as connection:
        for label, account in [*accounts.items(), ("utility", None)]:
            connection.execute(
                insert(EnergyAttributeCertificate).values(
                    uuid=uuid.uuid4(),
                    account_id=account,
                    beneficiary_type="account" if account else "general",
                    eac_numbers=[f"EAC-{label}-1"],
                    eac_format="I-REC",
                    eac_data_url=f"https://registry.example/eac/{label}",
                    period_start=start,
                    period_end=start + timedelta(days=30),
                    created_at=start,
                    updated_at=start,
                )
            )
        for number, types, ident in (
            (PUBLIC_AGGREGATION, ["public", "building"], uuid.uuid4()),
            (SECRET_AGGREGATION, ["confidential", "building"], secret),
        ):
            connection.execute(
                insert(Aggregation).values(
                    uuid=ident,
                    aggregation_number=number,
                    types=types,
                    name=f"Building {number}",
                    regions=[],
                    consent_requirements=[],
                    created_at=start,
                    updated_at=start,
                )
            )
        aggregation = connection.scalar(select(Aggregation.id).where(Aggregation.uuid == secret))
        point = connection.scalar(
            select(AccountServicePoint.service_point_id).where(
                AccountServicePoint.account_id == accounts["X"]
            )
        )
        connection.execute(
            insert(AggregationMember).values(aggregation_id=aggregation, service_point_id=point)
        )
    return str(secret), SECRET_AGGREGATION


def consent(server: LiveCustodian, party: ThirdParty, scope: str, customer: str) -> dict[str, Any]:
    with httpx.Client(timeout=30) as browser:
        return customer_tokens(browser, server, party, scope, username=CUSTOMERS[customer])


def grant_uuid(tokens: dict[str, Any]) -> str:
    return str(tokens["authorizationURI"]).rsplit("/", 1)[1]


def revoke_in_portal(server: LiveCustodian, customer: str, grant: str) -> None:
    """The customer signs in and revokes on the connected-apps page."""
    base = server.base_url
    with httpx.Client(timeout=30) as browser:
        page = browser.get(f"{base}/login").text
        signed_in = browser.post(
            f"{base}/login",
            data={
                "csrf": form_value(page, "csrf"),
                "next": "/portal/connected-apps",
                "username": CUSTOMERS[customer],
                "password": DEMO_PASSWORD,
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        apps = browser.get(f"{base}/portal/connected-apps").text
        assert f'data-grant="{grant}"' in apps
        revoked = browser.post(
            f"{base}/portal/connected-apps/{grant}/revoke", data={"csrf": form_value(apps, "csrf")}
        )
        assert revoked.status_code == 303, revoked.text


def suspend_by_operator(server: LiveCustodian, party: ThirdParty) -> None:
    with transaction(session_factory(server.engine)) as session:
        create_admin(session, ADMIN_USERNAME, ADMIN_PASSWORD)
    url = f"{server.base_url}/admin/apps/{party.application_id}"
    with httpx.Client(timeout=30) as operator:
        sign_in_admin(operator, server.base_url)
        response = operator.post(f"{url}/suspend", data={"csrf": csrf_of(operator, url)})
        assert response.status_code == 303, response.text


def end_authorization(engine: Engine, grant: str) -> None:
    with engine.begin() as connection:
        changed = connection.execute(
            update(Grant)
            .where(Grant.uuid == uuid.UUID(grant))
            .values(authorized_end=utc_now() - timedelta(seconds=1))
        )
        assert changed.rowcount == 1


def expire_access_token(engine: Engine, token: str) -> None:
    with engine.begin() as connection:
        changed = connection.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == stored_hash(token))
            .values(access_expires_at=utc_now() - timedelta(seconds=1))
        )
        assert changed.rowcount == 1


def move_out(server: LiveCustodian, customer: str) -> None:
    with server.engine.connect() as connection:
        number = connection.scalar(
            select(Account.account_number).where(Account.id == account_ids(server.engine)[customer])
        )
    assert number is not None
    sessions = session_factory(server.engine)
    with transaction(sessions) as session:
        ended = record_move_out(
            SqlAccountStore(session),
            lifecycle_for(server.base_url)(session),
            number,
            day=utc_now().date(),
            now=utc_now(),
        )
    assert ended


@pytest.fixture(scope="module")
def world(server: LiveCustodian) -> World:
    secret = publish_catalog(server.engine)
    registered = f"{EVERYTHING} {EVERY_QUERY}"
    a, b, revoking, suspended, ending, moving = (cds_party(server, registered) for _ in range(6))
    grants = {
        "a_x": consent(server, a, EVERYTHING, "X"),
        "a_x_usage": consent(server, a, "cds_usage", "X"),
        "a_x_accounts": consent(server, a, "cds_accounts", "X"),
        "expired": consent(server, a, EVERYTHING, "X"),
        "b_y": consent(server, b, EVERYTHING, "Y"),
        "revoked": consent(server, revoking, EVERYTHING, "X"),
        "suspended": consent(server, suspended, EVERYTHING, "X"),
        "ended": consent(server, ending, EVERYTHING, "X"),
        "moved_out": consent(server, moving, EVERYTHING, "Z"),
    }
    tokens = {name: value["access_token"] for name, value in grants.items()}
    with httpx.Client(timeout=30) as http:
        for name, party, scope in (
            ("a_query", a, EVERY_QUERY),
            ("a_query_aggregations", a, "cds_query_aggregations"),
            ("a_query_usage", a, "cds_query_usage"),
            ("a_admin", a, "cds_client_admin"),
            ("b_query", b, EVERY_QUERY),
            ("revoked_query", revoking, EVERY_QUERY),
            ("suspended_query", suspended, EVERY_QUERY),
            ("ended_query", ending, EVERY_QUERY),
            ("moved_out_query", moving, EVERY_QUERY),
        ):
            tokens[name] = client_tokens(http, server, party, scope)["access_token"]
        owners = {"X": tokens["a_x"], "Y": tokens["b_y"], "Z": tokens["moved_out"]}
        seen = {
            label: {path: listing_pages(http, server, path, token) for path in LISTINGS}
            for label, token in owners.items()
        }
        # Every refused token read everything before it was refused.
        for name in ("expired", "revoked", "suspended", "ended", "suspended_query"):
            assert get(http, server, "accounts", tokens[name]).status_code == 200, name
    shared = {
        "eacs": {e["cds_eac_id"] for e in seen["X"]["eacs"] if not e["beneficiaries"]},
        "aggregations": {a["cds_aggregation_id"] for a in seen["X"]["aggregations"]},
    }
    objects = {
        label: {
            path: [item for item in items if item[ID_FIELDS[path]] not in shared.get(path, ())]
            for path, items in listings.items()
        }
        for label, listings in seen.items()
    }
    expire_access_token(server.engine, tokens["expired"])
    revoke_in_portal(server, "X", grant_uuid(grants["revoked"]))
    suspend_by_operator(server, suspended)
    end_authorization(server.engine, grant_uuid(grants["ended"]))
    move_out(server, "Z")
    return World(server, tokens, objects, shared, secret)


def test_the_cast_has_data_in_every_listing(world: World) -> None:
    """Without objects to protect the matrix would prove nothing: each customer has them."""
    for label in ("X", "Y", "Z"):
        for path in LISTINGS:
            if path != "aggregations":
                assert world.ids(label, path), (label, path)
    assert len(world.shared["eacs"]) == 1
    assert len(world.shared["aggregations"]) == 1  # the public one, never the secret one
    assert world.secret_aggregation[0] not in world.shared["aggregations"]
    for path in LISTINGS:
        assert not world.ids("X", path) & world.ids("Y", path), path


def token_for(world: World, caller: Caller, path: str) -> str:
    """The caller's token; the missing-scope rows pick one lacking this listing's scope."""
    if caller.token == "missing_consent":
        # cds_usage opens only usage segments; cds_accounts opens accounts and EACs.
        return world.tokens["a_x_accounts" if path == "usage-segments" else "a_x_usage"]
    if caller.token == "missing_query":
        return world.tokens["a_query_usage" if path == "aggregations" else "a_query_aggregations"]
    return world.tokens[caller.token] if caller.token else ""


def expected_outcome(caller: Caller, path: str) -> str:
    """The aggregations listing needs no consent scope: public aggregations are no one's data."""
    if path == "aggregations" and caller.token == "missing_consent":
        return READS
    return caller.outcome


def assert_refused(response: httpx.Response, status: int, error: str, world: World) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert_valid("Problem", body)
    assert set(body) <= PROBLEM_FIELDS, body
    assert body["status"] == status
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    if error:
        assert f'error="{error}"' in challenge
    for label in CUSTOMERS:
        for path in LISTINGS:
            assert not any(ident in response.text for ident in world.ids(label, path))


@pytest.mark.parametrize("path", list(LISTINGS))
@pytest.mark.parametrize("caller", CALLERS, ids=[caller.name for caller in CALLERS])
def test_access_matrix(world: World, caller: Caller, path: str) -> None:
    server = world.server
    token = token_for(world, caller, path)
    outcome = expected_outcome(caller, path)
    with httpx.Client(timeout=30) as http:
        if outcome != READS:
            status = 401 if outcome == INVALID else 403
            error = outcome if caller.token else ""  # no token: a bare challenge
            assert_refused(get(http, server, path, token), status, error, world)
            return
        listed = listing_pages(http, server, path, token)
        ids = [item[ID_FIELDS[path]] for item in listed]
        assert len(ids) == len(set(ids)), f"{path} lists an object twice"
        own = world.ids(caller.own, path) if caller.own else set()
        assert set(ids) - world.shared.get(path, set()) == own
        if caller.own:
            # Utility-wide certificates come with a customer's own; a caller reading no
            # customer gets neither.
            assert world.shared.get(path, set()) <= set(ids)
        assert world.secret_aggregation[0] not in ids
        for victim in caller.foreign:
            for name in PROBES[path]:
                values = world.probe_values(victim, name)
                assert values, (victim, name)
                probed = listing_pages(http, server, path, token, **{name: " ".join(values)})
                assert probed == [], f"{caller.name} found {victim}'s {path} by {name}"
