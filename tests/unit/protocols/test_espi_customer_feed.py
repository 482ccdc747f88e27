"""The retail-customer (customer.xsd) feed writer: schema, link rules, escaping, ids, members.

Feeds are validated against the ESPI 4.0 atom, espi and customer schemas together
(``tests/xsd.customer_schema_errors``) and checked with the certification link rules
(``tests/conformance/link_rules.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from opencustodian.kit.ids import stable_uuid
from opencustodian.protocols.espi.customer_feed import (
    AccountInfo,
    AccountNode,
    Address,
    AgreementInfo,
    AgreementNode,
    CustomerFeedMeta,
    CustomerInfo,
    CustomerNode,
    LocationInfo,
    LocationNode,
    MeterInfo,
    MeterNode,
    SupplierInfo,
    SupplierNode,
    Telephone,
    collection_at,
    customer_entries,
    customer_feed,
    entry_at,
    entry_document,
)
from opencustodian.services.usage_feeds import local_time_node
from tests.conformance.link_rules import certification_problems
from tests.xsd import customer_schema_errors

ATOM = "{http://www.w3.org/2005/Atom}"
CUST = "{http://naesb.org/espi/customer}"
ROOT = "https://dc.example/espi/1_1/resource"
WHEN = datetime(2024, 12, 1, 12, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
HOSTILE = '<&"\'> ]]> &amp; O\'Brien & "Sons" <script>'
POINT = stable_uuid("usage-point", 1)
OTHER_POINT = stable_uuid("usage-point", 2)


def meta() -> CustomerFeedMeta:
    return CustomerFeedMeta(
        feed_id=stable_uuid("customer-feed"),
        title="Green Button Retail Customer Feed",
        self_href=f"{ROOT}/Batch/RetailCustomer/sub-1?depth=5&x=<1>",
        updated=WHEN,
        resource_root=ROOT,
        retail_customer_id="sub-1",
        subscription_id="sub-1",
        certification_href="https://cert.example/certificate/1?a=1&b=2",
    )


def tree(text: str = "Ada Lovelace", *, shown: bool = True) -> CustomerNode:
    """A customer with one account, one agreement, one location and two meters."""
    address = Address(street=text, city=text, state="NY", postal_code="10001", country="US")
    meters = [
        MeterNode(
            stable_uuid("meter", number),
            WHEN,
            MeterInfo(f"{text}-{number}", "electricity meter", 1_600_000_000, removed)
            if shown
            else None,
            point,
        )
        for number, point, removed in ((1, POINT, None), (2, OTHER_POINT, 1_700_000_000))
    ]
    location = LocationNode(
        stable_uuid("location"),
        WHEN,
        LocationInfo(address, (POINT, OTHER_POINT)) if shown else None,
        meters,
    )
    agreement = AgreementNode(
        stable_uuid("agreement"),
        WHEN,
        AgreementInfo(text, 1_600_000_000, (text, "E-TOU"), 840) if shown else None,
        [location],
    )
    account = AccountNode(
        stable_uuid("account"),
        WHEN,
        AccountInfo(text, "residential", 1_600_000_000, "10001-1234") if shown else None,
        [agreement],
    )
    info = CustomerInfo(
        name=text, business=True, email=f"{text}@example.com", phone=Telephone("555-0101", "212")
    )
    return CustomerNode(stable_uuid("customer"), WHEN, info if shown else None, [account])


def supplier(name: str = "Demo Utility") -> SupplierNode:
    return SupplierNode(stable_uuid("supplier"), WHEN, SupplierInfo(name))


def document(customer: CustomerNode, *, with_supplier: bool = True) -> bytes:
    entries = customer_entries(
        meta(),
        local_time_node(NEW_YORK, WHEN),
        supplier() if with_supplier else None,
        customer,
    )
    return customer_feed(meta(), entries)


def resource_of(entry: etree._Element) -> str:
    """The customer.xsd resource an entry holds."""
    content = entry.find(f"{ATOM}content")
    assert content is not None
    return etree.QName(content[0]).localname


def resources(feed: bytes) -> list[str]:
    """The customer.xsd resource of every entry, in order."""
    return [resource_of(entry) for entry in etree.fromstring(feed).iter(f"{ATOM}entry")]


def entry_selfs(root: etree._Element) -> list[str | None]:
    """The ``self`` hrefs of the entries (not the feed's), in order."""
    return [
        link.get("href")
        for entry in root.iter(f"{ATOM}entry")
        for link in entry.iter(f"{ATOM}link")
        if link.get("rel") == "self"
    ]


def test_a_full_feed_is_valid_espi_4_and_passes_the_link_rules():
    feed = document(tree())
    assert customer_schema_errors(feed) == []
    assert certification_problems(feed) == []
    assert resources(feed) == [
        "LocalTimeParameters",
        "ServiceSupplier",
        "Customer",
        "CustomerAccount",
        "CustomerAgreement",
        "ServiceLocation",
        "Meter",
        "Meter",
    ]


def test_hrefs_nest_as_real_custodians_publish_them():
    selfs = entry_selfs(etree.fromstring(document(tree())))
    customer = f"{ROOT}/RetailCustomer/sub-1/Customer/{stable_uuid('customer')}"
    account = f"{customer}/CustomerAccount/{stable_uuid('account')}"
    agreement = f"{account}/CustomerAgreement/{stable_uuid('agreement')}"
    location = f"{agreement}/ServiceLocation/{stable_uuid('location')}"
    assert selfs == [
        f"{ROOT}/LocalTimeParameters/{local_time_node(NEW_YORK, WHEN).entry_id}",
        f"{ROOT}/RetailCustomer/sub-1/ServiceSupplier/{stable_uuid('supplier')}",
        customer,
        account,
        agreement,
        location,
        f"{location}/Meter/{stable_uuid('meter', 1)}",
        f"{location}/Meter/{stable_uuid('meter', 2)}",
    ]


def test_parents_link_their_child_collections_and_locations_name_usage_points():
    root = etree.fromstring(document(tree()))
    entries = {resource_of(entry): entry for entry in root.iter(f"{ATOM}entry")}

    def related(resource: str) -> list[tuple[str | None, str | None]]:
        return [
            (link.get("href"), link.get("type"))
            for link in entries[resource].iter(f"{ATOM}link")
            if link.get("rel") == "related"
        ]

    def self_of(resource: str) -> str:
        links = entries[resource].iter(f"{ATOM}link")
        return next(str(link.get("href")) for link in links if link.get("rel") == "self")

    assert (f"{self_of('Customer')}/CustomerAccount", "cust-feed/CustomerAccount") in related(
        "Customer"
    )
    assert (self_of("LocalTimeParameters"), "cust-entry/LocalTimeParameters") in related("Customer")
    assert related("CustomerAgreement") == [
        (f"{self_of('CustomerAgreement')}/ServiceLocation", "cust-feed/ServiceLocation"),
        (self_of("ServiceSupplier"), "cust-entry/ServiceSupplier"),
    ]
    points = [point.text for point in entries["ServiceLocation"].iter(f"{CUST}UsagePoint")]
    assert points == [
        f"{ROOT}/Subscription/sub-1/UsagePoint/{POINT}",
        f"{ROOT}/Subscription/sub-1/UsagePoint/{OTHER_POINT}",
    ]


def test_hostile_text_is_escaped_and_read_back_exactly():
    feed = document(tree(HOSTILE))
    assert customer_schema_errors(feed) == []
    assert b"<script>" not in feed
    root = etree.fromstring(feed)
    assert root.findtext(f".//{CUST}customerName") == HOSTILE
    assert root.findtext(f".//{CUST}Customer/{CUST}Organisation/{CUST}organisationName") == HOSTILE
    assert root.findtext(f".//{CUST}email1") == f"{HOSTILE}@example.com"
    assert root.findtext(f".//{CUST}accountId") == HOSTILE
    assert root.findtext(f".//{CUST}CustomerAgreement/{CUST}title") == HOSTILE
    assert root.findtext(f".//{CUST}addressGeneral") == HOSTILE
    assert root.findtext(f".//{CUST}townDetail/{CUST}name") == HOSTILE
    assert root.findtext(f".//{CUST}serialNumber") == f"{HOSTILE}-1"
    # Attribute values too: the feed's own self link carries the request's query.
    feed_self = root.find(f"{ATOM}link[@rel='self']")
    assert feed_self is not None
    assert feed_self.get("href") == meta().self_href


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")), max_size=40
    )
)
def test_any_printable_text_survives_the_round_trip(text: str):
    feed = document(tree(text))
    root = etree.fromstring(feed)
    assert root.findtext(f".//{CUST}customerName") == text
    assert root.findtext(f".//{CUST}accountId") == text


@pytest.mark.parametrize("bad", ["nul\x00byte", "bell\x07", "form\x0cfeed", "lone\ud800half"])
def test_characters_xml_cannot_carry_become_replacement_characters(bad: str):
    feed = document(tree(bad))
    assert customer_schema_errors(feed) == []
    name = etree.fromstring(feed).findtext(f".//{CUST}customerName")
    assert name is not None
    assert "\ufffd" in name
    assert name.replace("\ufffd", "") == "".join(c for c in bad if c.isprintable())


def test_rate_plans_become_valid_uris():
    feed = document(tree("plan with spaces/and#hash"))
    assert customer_schema_errors(feed) == []
    plans = etree.fromstring(feed).findall(f".//{CUST}PricingStructures")
    assert [plan.text for plan in plans] == ["plan%20with%20spaces%2Fand%23hash", "E-TOU"]


def test_the_same_input_writes_the_same_bytes():
    assert document(tree()) == document(tree())


def test_entry_ids_are_the_given_ones():
    root = etree.fromstring(document(tree()))
    ids = [entry.findtext(f"{ATOM}id") for entry in root.iter(f"{ATOM}entry")]
    assert ids[2:] == [
        stable_uuid(key).urn for key in ("customer", "account", "agreement", "location")
    ] + [stable_uuid("meter", 1).urn, stable_uuid("meter", 2).urn]


def test_nodes_without_info_write_no_entry_but_keep_their_childrens_hrefs():
    shown = tree()
    hidden_parents = CustomerNode(
        shown.entry_id,
        WHEN,
        None,
        [
            AccountNode(
                account.entry_id,
                WHEN,
                None,
                [
                    AgreementNode(agreement.entry_id, WHEN, None, agreement.locations)
                    for agreement in account.agreements
                ],
            )
            for account in shown.accounts
        ],
    )
    full = etree.fromstring(document(shown))
    partial_feed = document(hidden_parents, with_supplier=False)
    assert customer_schema_errors(partial_feed) == []
    assert certification_problems(partial_feed) == []
    assert resources(partial_feed) == ["LocalTimeParameters", "ServiceLocation", "Meter", "Meter"]
    assert set(entry_selfs(etree.fromstring(partial_feed))) < set(entry_selfs(full))


def test_a_parent_links_no_child_collection_it_shows_nothing_of():
    feed = document(tree(shown=False))
    assert resources(feed) == ["LocalTimeParameters", "ServiceSupplier"]
    customer = CustomerNode(
        stable_uuid("customer"),
        WHEN,
        CustomerInfo("Ada", business=False),
        tree(shown=False).accounts,
    )
    root = etree.fromstring(document(customer))
    related = [
        link.get("type") for link in root.iter(f"{ATOM}link") if link.get("rel") == "related"
    ]
    assert "cust-feed/CustomerAccount" not in related
    assert (
        root.find(f".//{CUST}Customer/{CUST}Organisation") is None
    )  # no contact details were given
    assert root.findtext(f".//{CUST}Customer/{CUST}kind") == "residential"


def test_members_and_collections_are_found_by_their_relative_path():
    entries = customer_entries(meta(), None, supplier(), tree())
    customer_path = f"RetailCustomer/sub-1/Customer/{stable_uuid('customer')}"
    customer = entry_at(entries, f"/{customer_path}/")
    assert customer is not None
    assert customer.resource == "Customer"
    member = entry_document(customer)
    assert customer_schema_errors(member) == []
    assert etree.fromstring(member).tag == f"{ATOM}entry"
    meters = [entry for entry in entries if entry.resource == "Meter"]
    assert collection_at(entries, meters[0].collection) == meters
    assert entry_at(entries, f"{customer_path}/nothing") is None
    assert collection_at(entries, "RetailCustomer/sub-2/Customer") == []
    # Serving a member leaves the entries usable for the whole feed afterwards.
    assert customer_schema_errors(customer_feed(meta(), entries)) == []
    assert customer_schema_errors(entry_document(customer)) == []
