"""Batch/RetailCustomer (customer.xsd) feeds over real HTTP: content, gating, members, access."""

from __future__ import annotations

import gzip
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx
from lxml import etree
from sqlalchemy import select

from opencustodian.domain.events import EventTag
from opencustodian.kit.ids import stable_uuid
from opencustodian.profile import load_profile
from opencustodian.storage.models import (
    Account,
    AuditEvent,
    Grant,
    GrantServicePoint,
    Meter,
    RetailCustomer,
    ServiceLocation,
    ServicePoint,
)
from tests.conformance.link_rules import certification_problems
from tests.custodian import CUSTOMER_SCOPE, ELECTRIC_SCOPE
from tests.functional.oauth.flows import client_tokens, customer_tokens, read, revoke
from tests.xsd import customer_schema_errors

ATOM = "{http://www.w3.org/2005/Atom}"
CUST = "{http://naesb.org/espi/customer}"
EVERY_CUSTOMER_BLOCK = "FB=51_53_54_55_56_57_58_59_60;"
ACCOUNTS_ONLY = "FB=51_53_56;"
NO_FB_53 = "FB=51_54_56_58_60;"


def text(element: etree._Element, path: str) -> str:
    """The text at ``path`` under ``element``, which must be there."""
    found = element.findtext(path)
    assert found is not None, f"no {path}"
    return found


def entries_of(document: bytes, resource: str) -> list[etree._Element]:
    """The entries whose content holds the customer.xsd ``resource``."""
    root = etree.fromstring(document)
    return [
        entry
        for entry in root.iter(f"{ATOM}entry")
        if entry.find(f"{ATOM}content/{CUST}{resource}") is not None
    ]


def kinds_of(document: bytes) -> Counter[str]:
    """How many entries of each customer.xsd resource the document holds."""
    root = etree.fromstring(document)
    return Counter(etree.QName(content[0]).localname for content in root.iter(f"{ATOM}content"))


def link(entry: etree._Element, rel: str) -> str:
    """The href of the entry's one ``rel`` link."""
    hrefs = [str(e.get("href")) for e in entry.findall(f"{ATOM}link") if e.get("rel") == rel]
    assert len(hrefs) == 1, hrefs
    return hrefs[0]


def texts(document: bytes, path: str) -> list[str]:
    """Every text at ``path`` (an ElementPath from the root)."""
    return [str(element.text) for element in etree.fromstring(document).iterfind(path)]


@dataclass(frozen=True)
class Covered:
    """What the database says a grant covers of its customer."""

    customer: tuple[str, str, str, str | None]  # first, last, email, phone
    customer_uuid: uuid.UUID
    accounts: dict[str, uuid.UUID]  # number -> row uuid
    billing_zips: set[str]
    streets: set[str]
    meters: set[str]
    point_uuids: set[uuid.UUID]


def covered(engine, authorization_uri: str) -> Covered:
    """The grant's customer, accounts, locations, meters and points, read from the tables."""
    grant_uuid = uuid.UUID(authorization_uri.rsplit("/", 1)[1])
    with engine.connect() as connection:
        grant = connection.execute(select(Grant).where(Grant.uuid == grant_uuid)).one()
        person = connection.execute(
            select(RetailCustomer).where(RetailCustomer.id == grant.retail_customer_id)
        ).one()
        rows = connection.execute(
            select(Account.account_number, Account.uuid, Account.billing_zip, ServicePoint.uuid)
            .join(GrantServicePoint, GrantServicePoint.account_id == Account.id)
            .join(ServicePoint, ServicePoint.id == GrantServicePoint.service_point_id)
            .where(GrantServicePoint.grant_id == grant.id)
        ).all()
        streets = connection.scalars(
            select(ServiceLocation.street)
            .join(ServicePoint, ServicePoint.service_location_id == ServiceLocation.id)
            .join(GrantServicePoint, GrantServicePoint.service_point_id == ServicePoint.id)
            .where(GrantServicePoint.grant_id == grant.id)
        ).all()
        meters = connection.scalars(
            select(Meter.meter_number)
            .join(GrantServicePoint, GrantServicePoint.service_point_id == Meter.service_point_id)
            .where(GrantServicePoint.grant_id == grant.id)
        ).all()
    return Covered(
        customer=(person.first_name, person.last_name, person.email, person.phone),
        customer_uuid=person.uuid,
        accounts={row[0]: row[1] for row in rows},
        billing_zips={row[2] for row in rows},
        streets=set(streets),
        meters=set(meters),
        point_uuids={row[3] for row in rows},
    )


def customer_feed_of(server, party, scope: str, username: str = "customer0001"):
    """Tokens of ``username`` for ``scope`` and their customer feed's response."""
    with httpx.Client(timeout=30) as browser:
        tokens = customer_tokens(browser, server, party, scope, username=username)
        response = read(browser, tokens["customerResourceURI"], tokens["access_token"])
    return tokens, response


def test_the_feed_is_valid_and_holds_exactly_this_customers_accounts_locations_and_meters(
    server, party
):
    tokens, response = customer_feed_of(server, party, CUSTOMER_SCOPE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    document = response.content
    assert customer_schema_errors(document) == []
    assert certification_problems(document) == []
    mine = covered(server.engine, tokens["authorizationURI"])
    assert mine.accounts
    assert mine.meters
    assert set(texts(document, f".//{CUST}accountId")) == set(mine.accounts)
    assert set(
        texts(document, f".//{CUST}mainAddress/{CUST}streetDetail/{CUST}addressGeneral")
    ) == (mine.streets)
    assert set(texts(document, f".//{CUST}Meter/{CUST}serialNumber")) == mine.meters
    subscription = tokens["resourceURI"].rsplit("/", 1)[1]
    base = tokens["resourceURI"].split("/Batch/")[0]
    assert set(texts(document, f".//{CUST}UsagePoints/{CUST}UsagePoint")) == {
        f"{base}/Subscription/{subscription}/UsagePoint/{point}" for point in mine.point_uuids
    }
    # FB 51_53_56_57_58_60: no Customer (54), no mailing ZIP (55), no ServiceSupplier (59).
    kinds = kinds_of(document)
    assert set(kinds) == {
        "LocalTimeParameters",
        "CustomerAccount",
        "CustomerAgreement",
        "ServiceLocation",
        "Meter",
    }
    assert kinds["Meter"] == len(mine.meters)
    assert etree.fromstring(document).find(f".//{CUST}contactInfo") is None
    first, last, email, _ = mine.customer
    for private in (first, last, email):
        assert private.encode() not in document

    _, other_response = customer_feed_of(server, party, CUSTOMER_SCOPE, username="customer0002")
    other_accounts = set(texts(other_response.content, f".//{CUST}accountId"))
    other_meters = set(texts(other_response.content, f".//{CUST}serialNumber"))
    assert other_accounts
    assert other_accounts.isdisjoint(mine.accounts)
    assert other_meters.isdisjoint(mine.meters)
    for foreign in other_accounts | other_meters:
        assert foreign.encode() not in document


def test_every_customer_block_adds_the_customer_mailing_zip_and_supplier(server):
    party = server.register("Full Customer Party", scopes=(EVERY_CUSTOMER_BLOCK,))
    tokens, response = customer_feed_of(server, party, EVERY_CUSTOMER_BLOCK)
    assert response.status_code == 200, response.text
    document = response.content
    assert customer_schema_errors(document) == []
    assert certification_problems(document) == []
    mine = covered(server.engine, tokens["authorizationURI"])
    first, last, email, phone = mine.customer
    (customer,) = entries_of(document, "Customer")
    assert text(customer, f".//{CUST}customerName") == f"{first} {last}"
    assert text(customer, f".//{CUST}email1") == email
    assert phone is not None
    assert phone.endswith(text(customer, f".//{CUST}phone1/{CUST}localNumber"))
    assert text(customer, f"{ATOM}id") == stable_uuid("Customer", mine.customer_uuid).urn
    zips = set(texts(document, f".//{CUST}contactInfo/{CUST}postalAddress/{CUST}postalCode"))
    assert zips == mine.billing_zips
    (supplier,) = entries_of(document, "ServiceSupplier")
    assert text(supplier, f".//{CUST}organisationName") == load_profile().name
    for agreement in entries_of(document, "CustomerAgreement"):
        related = [e.get("href") for e in agreement.findall(f"{ATOM}link[@rel='related']")]
        assert link(supplier, "self") in related


def test_without_fb_53_nothing_is_served(server):
    party = server.register("No Retail Party", scopes=(ELECTRIC_SCOPE, NO_FB_53))
    for scope in (ELECTRIC_SCOPE, NO_FB_53):
        tokens, response = customer_feed_of(server, party, scope)
        assert response.status_code == 403, scope
        assert response.json()["error"] == "insufficient_scope"
        assert "insufficient_scope" in response.headers["www-authenticate"]
        mine = covered(server.engine, tokens["authorizationURI"])
        assert not any(number.encode() in response.content for number in mine.accounts)


def test_a_block_not_granted_leaves_its_entries_out(server):
    party = server.register("Accounts Party", scopes=(ACCOUNTS_ONLY,))
    tokens, response = customer_feed_of(server, party, ACCOUNTS_ONLY)
    assert response.status_code == 200, response.text
    document = response.content
    assert customer_schema_errors(document) == []
    assert set(kinds_of(document)) == {"LocalTimeParameters", "CustomerAccount"}
    mine = covered(server.engine, tokens["authorizationURI"])
    assert set(texts(document, f".//{CUST}accountId")) == set(mine.accounts)
    for street in mine.streets:
        assert street.encode() not in document
    for account in entries_of(document, "CustomerAccount"):
        # No agreements are shown, so none is linked.
        assert account.find(f"{ATOM}link[@rel='related']") is None


def test_ids_are_stable_and_derived_from_the_rows(server, party):
    tokens, first = customer_feed_of(server, party, CUSTOMER_SCOPE)
    with httpx.Client(timeout=30) as http:
        second = read(http, tokens["customerResourceURI"], tokens["access_token"])
    mine = covered(server.engine, tokens["authorizationURI"])

    def ids(document: bytes) -> list[str]:
        return texts(document, f"{ATOM}entry/{ATOM}id")

    assert ids(first.content) == ids(second.content)
    account_ids = {
        text(entry, f"{ATOM}id") for entry in entries_of(first.content, "CustomerAccount")
    }
    assert account_ids == {
        stable_uuid("CustomerAccount", row).urn for row in mine.accounts.values()
    }


def test_every_self_and_up_href_answers(server, party):
    tokens, response = customer_feed_of(server, party, CUSTOMER_SCOPE)
    token = tokens["access_token"]
    feed = etree.fromstring(response.content)
    with httpx.Client(timeout=30) as http:
        for entry in feed.iter(f"{ATOM}entry"):
            if entry.find(f"{ATOM}content/{CUST}LocalTimeParameters") is not None:
                continue  # a root resource, served by the resource-level forms
            member = read(http, link(entry, "self"), token)
            assert member.status_code == 200, link(entry, "self")
            assert customer_schema_errors(member.content) == []
            answered = etree.fromstring(member.content)
            assert answered.tag == f"{ATOM}entry"
            assert answered.findtext(f"{ATOM}id") == entry.findtext(f"{ATOM}id")
            collection = read(http, link(entry, "up"), token)
            assert collection.status_code == 200
            assert entry.findtext(f"{ATOM}id") in texts(collection.content, f"{ATOM}entry/{ATOM}id")
        (account,) = entries_of(response.content, "CustomerAccount")
        unknown = f"{link(account, 'self').rsplit('/', 1)[0]}/{uuid.uuid4()}"
        assert read(http, unknown, token).status_code == 404
        # FB 54 is not granted: the Customer member is not there to read.
        customer_href = link(account, "up").rsplit("/CustomerAccount", 1)[0]
        assert read(http, customer_href, token).status_code == 404


def test_access_is_refused_across_subscriptions_token_kinds_and_endings(server, party, http):
    tokens = customer_tokens(http, server, party, CUSTOMER_SCOPE)
    uri = tokens["customerResourceURI"]
    other, other_response = customer_feed_of(server, party, CUSTOMER_SCOPE, "customer0002")
    assert other_response.status_code == 200
    crossing = read(http, other["customerResourceURI"], tokens["access_token"])
    assert crossing.status_code == 403
    assert b"accountId" not in crossing.content
    (foreign,) = entries_of(other_response.content, "CustomerAccount")
    assert read(http, link(foreign, "self"), tokens["access_token"]).status_code == 403
    client = client_tokens(http, server, party)
    assert read(http, uri, client["access_token"]).status_code == 403
    assert http.get(uri).status_code == 401
    assert read(http, uri, party.registration_token).status_code == 401
    assert read(http, uri, tokens["access_token"]).status_code == 200
    assert revoke(http, server, party, tokens["access_token"]).status_code == 200
    revoked = read(http, uri, tokens["access_token"])
    assert revoked.status_code == 401
    assert b"accountId" not in revoked.content


def test_every_read_is_audited_with_the_resources_it_returned(server, party):
    tokens, response = customer_feed_of(server, party, CUSTOMER_SCOPE)
    assert response.status_code == 200
    grant = tokens["authorizationURI"].rsplit("/", 1)[1]
    with server.engine.connect() as connection:
        events = connection.execute(
            select(AuditEvent.data, AuditEvent.actor).where(
                AuditEvent.tag == EventTag.DATA_READ.value,
                AuditEvent.subject == f"grant:{grant}",
            )
        ).all()
    assert len(events) == 1
    assert events[0].actor == f"client:{party.client_id}"
    assert events[0].data["path"] == httpx.URL(tokens["customerResourceURI"]).path
    assert events[0].data["customer_resources"] == [
        "CustomerAccount",
        "CustomerAgreement",
        "LocalTimeParameters",
        "Meter",
        "ServiceLocation",
    ]


def test_refused_reads_are_not_audited(server):
    party = server.register("Refused Party", scopes=(ELECTRIC_SCOPE,))
    tokens, response = customer_feed_of(server, party, ELECTRIC_SCOPE)
    assert response.status_code == 403
    grant = tokens["authorizationURI"].rsplit("/", 1)[1]
    with server.engine.connect() as connection:
        count = connection.scalar(
            select(AuditEvent.id).where(
                AuditEvent.tag == EventTag.DATA_READ.value,
                AuditEvent.subject == f"grant:{grant}",
            )
        )
    assert count is None


def test_gzip_on_request_and_malformed_queries(server, party, http):
    tokens = customer_tokens(http, server, party, CUSTOMER_SCOPE)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept-Encoding": "gzip"}
    with http.stream("GET", tokens["customerResourceURI"], headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        compressed = b"".join(response.iter_raw())
    assert customer_schema_errors(gzip.decompress(compressed)) == []
    malformed = read(
        http, f"{tokens['customerResourceURI']}?updated-min=yesterday", tokens["access_token"]
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "invalid_request"
