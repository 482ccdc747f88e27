"""The access matrix (issue 4 "Must show"; research/espi.md §5.4): every ESPI data endpoint ×
every kind of caller → the expected status, and never a byte of someone else's data.

One customer (customer0001) shares with party A; the table's URIs are the ones A's own Batch
feed hands out. Each caller variant presents a different token (or none) to those URIs, or
the same token to another customer's URIs; the answer is checked for its status and for
every entry id of A's subscription, which no refused or foreign answer may contain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from lxml import etree
from sqlalchemy import update

from opencustodian.storage.models import OAuthToken, ThirdPartyApplication
from tests.custodian import BILLING_SCOPE, BULK_SCOPE
from tests.functional.espi.test_usage_feeds import ATOM, ESPI
from tests.functional.oauth.flows import (
    client_tokens,
    customer_tokens,
    read,
    revoke,
    stored_hash,
    unique_name,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.custodian import LiveCustodian

FULL_SCOPE = (
    "FB=1_3_4_5_15_16_51_53_56_57_58_60;IntervalDuration=900;BlockDuration=Daily;"
    "HistoryLength=63072000;"
)
SCOPES = (FULL_SCOPE, BILLING_SCOPE, BULK_SCOPE)
#: Entries that are the utility's, not the customer's: the same in every subscription.
SHARED_KINDS = {"LocalTimeParameters", "ServiceSupplier"}
REFUSED_TOKENS = {"expired", "revoked", "suspended", "none", "registration"}
FOREIGN = {"other_party", "other_customer", "foreign_ids"}


@dataclass(frozen=True)
class Endpoint:
    """One URI of A's subscription and how a caller without its data should be answered.

    ``form``: ``batch`` (a Batch or XPath URI naming the subscription), ``root_collection``
    or ``root_member`` (no subscription in the path: the token's own is read).
    ``usage``: whether it serves usage data (FB 4), which a billing-only grant lacks.
    ``customer_data``: whether it serves customer.xsd resources (FB 53), which it lacks too.
    """

    name: str
    uri: str
    form: str
    usage: bool = True
    member: bool = False
    customer_data: bool = False  # customer.xsd resources: function block 53 and up


@dataclass
class World:
    """Everything the matrix needs, built once per module."""

    server: LiveCustodian
    endpoints: list[Endpoint]
    tokens: dict[str, str]
    #: Per variant: the URI rewrite it applies (another customer's ids) — identity otherwise.
    rewrites: dict[str, Callable[[str], str]]
    protected_ids: set[str]


def entries(document: bytes) -> list[etree._Element]:
    return list(etree.fromstring(document).iter(f"{ATOM}entry"))


def self_href(entry: etree._Element) -> str:
    (href,) = [link.get("href") for link in entry.iter(f"{ATOM}link") if link.get("rel") == "self"]
    assert href is not None
    return href


def kind_of(entry: etree._Element) -> str:
    content = entry.find(f"{ATOM}content")
    assert content is not None
    return etree.QName(content[0]).localname


def entry_id(entry: etree._Element) -> str:
    return (entry.findtext(f"{ATOM}id") or "").removeprefix("urn:uuid:")


def first_of(feed: list[etree._Element], kind: str) -> etree._Element:
    return next(entry for entry in feed if kind_of(entry) == kind)


def endpoints_of(
    resource_uri: str, feed: list[etree._Element], customer_feed: list[etree._Element]
) -> list[Endpoint]:
    """Every data endpoint, spelled with the ids of this subscription's feeds."""
    root = resource_uri.split("/Batch/", maxsplit=1)[0]
    subscription = resource_uri.rsplit("/", 1)[1]
    point, reading, block = (
        first_of(feed, kind) for kind in ("UsagePoint", "MeterReading", "IntervalBlock")
    )
    reading_type, local_time = (
        first_of(feed, kind) for kind in ("ReadingType", "LocalTimeParameters")
    )
    point_href = self_href(point)
    reading_href = self_href(reading)
    return [
        Endpoint(
            "batch-retail-customer",
            f"{root}/Batch/RetailCustomer/{subscription}",
            "batch",
            usage=False,
            customer_data=True,
        ),
        Endpoint(
            "customer-account",
            self_href(first_of(customer_feed, "CustomerAccount")),
            "batch",
            usage=False,
            member=True,
            customer_data=True,
        ),
        Endpoint("batch-subscription", resource_uri, "batch"),
        Endpoint("batch-usage-points", f"{resource_uri}/UsagePoint", "batch"),
        Endpoint("batch-usage-point", f"{resource_uri}/UsagePoint/{entry_id(point)}", "batch"),
        Endpoint("batch-real-time", f"{resource_uri}/RealTime", "batch"),
        Endpoint("usage-points", point_href.rsplit("/", 1)[0], "batch", usage=False),
        Endpoint("usage-point", point_href, "batch", usage=False, member=True),
        Endpoint("meter-readings", f"{point_href}/MeterReading", "batch"),
        Endpoint("meter-reading", reading_href, "batch", member=True),
        Endpoint("interval-blocks", f"{reading_href}/IntervalBlock", "batch"),
        Endpoint("interval-block", self_href(block), "batch", member=True),
        Endpoint("usage-summaries", f"{point_href}/UsageSummary", "batch", usage=False),
        Endpoint("root-usage-points", f"{root}/UsagePoint", "root_collection", usage=False),
        Endpoint(
            "root-usage-point",
            f"{root}/UsagePoint/{entry_id(point)}",
            "root_member",
            usage=False,
            member=True,
        ),
        Endpoint("root-meter-readings", f"{root}/MeterReading", "root_collection"),
        Endpoint(
            "root-meter-reading",
            f"{root}/MeterReading/{entry_id(reading)}",
            "root_member",
            member=True,
        ),
        Endpoint(
            "root-interval-block",
            f"{root}/IntervalBlock/{entry_id(block)}",
            "root_member",
            member=True,
        ),
        Endpoint("root-reading-types", f"{root}/ReadingType", "root_collection"),
        Endpoint("root-reading-type", self_href(reading_type), "root_member", member=True),
        Endpoint(
            "root-local-time",
            self_href(local_time),
            "root_member",
            usage=False,
            member=True,
        ),
    ]


def batch_feed(
    http: httpx.Client, tokens: dict[str, str], uri_key: str = "resourceURI"
) -> list[etree._Element]:
    response = read(http, tokens[uri_key], tokens["access_token"])
    assert response.status_code == 200, response.text
    return entries(response.content)


def tokens_for(server: LiveCustodian, party, scope: str, username: str) -> dict[str, str]:
    with httpx.Client(timeout=30) as browser:
        return customer_tokens(browser, server, party, scope, username=username)


def rewrite_ids(mine: list[etree._Element], theirs: list[etree._Element]) -> Callable[[str], str]:
    """A URI rewrite: each id of my feed replaced by the same kind's id of theirs."""
    pairs = {}
    for kind in ("UsagePoint", "MeterReading", "IntervalBlock", "ReadingType"):
        pairs[entry_id(first_of(mine, kind))] = entry_id(first_of(theirs, kind))

    def rewrite(uri: str) -> str:
        for old, new in pairs.items():
            uri = uri.replace(old, new)
        return uri

    return rewrite


@pytest.fixture(scope="module")
def world(server: LiveCustodian) -> World:
    party = server.register(unique_name("Matrix"), scopes=SCOPES)
    other_party = server.register(unique_name("Other"), scopes=SCOPES)
    suspended = server.register(unique_name("Suspended"), scopes=SCOPES)
    valid = tokens_for(server, party, FULL_SCOPE, "customer0001")
    others = {
        "other_party": tokens_for(server, other_party, FULL_SCOPE, "customer0002"),
        "other_customer": tokens_for(server, party, FULL_SCOPE, "customer0002"),
        "missing_fb": tokens_for(server, party, BILLING_SCOPE, "customer0001"),
        "expired": tokens_for(server, party, FULL_SCOPE, "customer0001"),
        "revoked": tokens_for(server, party, FULL_SCOPE, "customer0001"),
        "suspended": tokens_for(server, suspended, FULL_SCOPE, "customer0001"),
    }
    with httpx.Client(timeout=30) as http:
        mine = batch_feed(http, valid)
        my_customer = batch_feed(http, valid, "customerResourceURI")
        theirs = batch_feed(http, others["other_customer"])
        client = client_tokens(http, server, party)
        assert revoke(http, server, party, others["revoked"]["access_token"]).status_code == 200
    with server.engine.begin() as connection:
        connection.execute(
            update(OAuthToken)
            .where(OAuthToken.access_token_hash == stored_hash(others["expired"]["access_token"]))
            .values(access_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        connection.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.client_id == suspended.client_id)
            .values(status="suspended")
        )
    subscription = valid["resourceURI"].rsplit("/", 1)[1]
    their_subscription = others["other_customer"]["resourceURI"].rsplit("/", 1)[1]
    to_theirs = rewrite_ids(mine, theirs)

    def foreign(uri: str) -> str:
        return to_theirs(uri.replace(subscription, their_subscription))

    def same_customer_other_grant(name: str) -> Callable[[str], str]:
        own = others[name]["resourceURI"].rsplit("/", 1)[1]
        return lambda uri: uri.replace(subscription, own)

    tokens = {name: value["access_token"] for name, value in others.items()}
    tokens |= {
        "valid": valid["access_token"],
        "foreign_ids": valid["access_token"],
        "client": client["access_token"],
        "registration": party.registration_token,
        "none": "",
    }
    return World(
        server=server,
        endpoints=endpoints_of(valid["resourceURI"], mine, my_customer),
        tokens=tokens,
        rewrites={
            "foreign_ids": foreign,
            # A grant's own URIs: their subscription ids differ from A's, their other ids not.
            "missing_fb": same_customer_other_grant("missing_fb"),
            "suspended": same_customer_other_grant("suspended"),
        },
        protected_ids={
            entry_id(entry) for entry in mine + my_customer if kind_of(entry) not in SHARED_KINDS
        },
    )


VARIANTS = (
    "valid",
    "other_party",
    "other_customer",
    "foreign_ids",
    "expired",
    "revoked",
    "suspended",
    "missing_fb",
    "client",
    "registration",
    "none",
)
ENDPOINT_NAMES = (
    "batch-retail-customer",
    "customer-account",
    "batch-subscription",
    "batch-usage-points",
    "batch-usage-point",
    "batch-real-time",
    "usage-points",
    "usage-point",
    "meter-readings",
    "meter-reading",
    "interval-blocks",
    "interval-block",
    "usage-summaries",
    "root-usage-points",
    "root-usage-point",
    "root-meter-readings",
    "root-meter-reading",
    "root-interval-block",
    "root-reading-types",
    "root-reading-type",
    "root-local-time",
)


def expected_status(endpoint: Endpoint, variant: str) -> int:
    """What the custodian must answer (research/espi.md §5.4: 401 bad token, 403 not yours)."""
    if variant in REFUSED_TOKENS:
        return 401
    if variant == "client":
        return 403  # a valid token, but not a customer's: insufficient scope
    if variant in FOREIGN:
        return foreign_status(endpoint)
    if variant == "missing_fb":
        return missing_block_status(endpoint)
    return 200


def foreign_status(endpoint: Endpoint) -> int:
    """Another party's or customer's token, or my token on another customer's ids."""
    if endpoint.name == "root-local-time":
        return 200  # the territory's time zone rules: one entry for every subscription
    if endpoint.form == "batch":
        return 403  # the path names a subscription the token is not for
    return 404 if endpoint.form == "root_member" else 200  # the token's own, which lacks it


def missing_block_status(endpoint: Endpoint) -> int:
    """The customer's own billing-only grant (FB 1_3_15_16) on its own URIs."""
    if endpoint.customer_data:
        return 403  # no FB 53: the customer feed is refused whole
    # Usage entries are not served to a billing grant: naming one finds nothing.
    names_usage = endpoint.member or "/MeterReading/" in endpoint.uri
    return 404 if endpoint.usage and names_usage else 200


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_access_matrix(world: World, name: str, variant: str) -> None:
    (endpoint,) = [candidate for candidate in world.endpoints if candidate.name == name]
    uri = world.rewrites.get(variant, lambda same: same)(endpoint.uri)
    token = world.tokens[variant]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(uri, headers=headers, timeout=30)
    assert response.status_code == expected_status(endpoint, variant), response.text
    body = response.text
    if variant == "foreign_ids" and endpoint.form == "root_collection":
        variant = "valid"  # the root forms read the token's own subscription: A's data, rightly
    if variant == "valid":
        if endpoint.name == "root-local-time":  # the utility's entry, no customer's
            assert "LocalTimeParameters" in body
        else:
            assert any(identifier in body for identifier in world.protected_ids)
        return
    leaked = {identifier for identifier in world.protected_ids if identifier in body}
    if variant in {"missing_fb", "suspended"} and response.status_code == 200:
        # The customer's own grant: usage point ids may show, usage data may not.
        assert f"{ESPI}IntervalReading" not in body
        assert "IntervalReading" not in body
        return
    assert not leaked, f"{variant} saw {sorted(leaked)[:3]} at {uri}"
    if response.status_code != 200:
        assert "IntervalReading" not in body
