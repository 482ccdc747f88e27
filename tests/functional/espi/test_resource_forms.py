"""ESPI resource-level forms over real HTTP: every href a feed holds can be fetched.

The Batch feed is the reference: each of its entries' ``self`` hrefs must answer that very
entry, and each ``up`` href a feed of exactly the entries of that kind under that parent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lxml import etree

from tests.functional.espi.test_usage_feeds import (
    ATOM,
    ESPI,
    other_customer_tokens,
)
from tests.functional.oauth.flows import customer_tokens, read
from tests.xsd import schema_errors

if TYPE_CHECKING:
    import httpx


def batch_entries(document: bytes) -> list[etree._Element]:
    """The entries of a feed document."""
    return list(etree.fromstring(document).iter(f"{ATOM}entry"))


def link(entry: etree._Element, rel: str) -> str:
    """The ``rel`` link's href (exactly one)."""
    hrefs = [node.get("href") for node in entry.iter(f"{ATOM}link") if node.get("rel") == rel]
    assert len(hrefs) == 1, (rel, hrefs)
    href = hrefs[0]
    assert href is not None
    return href


def kind_of(entry: etree._Element) -> str:
    """The ESPI resource an entry's content holds."""
    content = entry.find(f"{ATOM}content")
    assert content is not None
    return etree.QName(content[0]).localname


def canonical(element: etree._Element) -> bytes:
    """An element's C14N form, for comparing an entry served twice."""
    return etree.tostring(element, method="c14n")


def content_of(entry: etree._Element) -> bytes:
    content = entry.find(f"{ATOM}content")
    assert content is not None
    return canonical(content)


def batch_of(http: httpx.Client, tokens: dict[str, str]) -> bytes:
    response = read(http, tokens["resourceURI"], tokens["access_token"])
    assert response.status_code == 200, response.text
    return response.content


def test_every_self_href_of_the_batch_feed_answers_that_entry(server, party, http):
    tokens = customer_tokens(http, server, party)
    entries = batch_entries(batch_of(http, tokens))
    kinds = {kind_of(entry) for entry in entries}
    assert {"UsagePoint", "MeterReading", "ReadingType", "IntervalBlock"} <= kinds
    assert "LocalTimeParameters" in kinds
    for entry in entries:
        response = read(http, link(entry, "self"), tokens["access_token"])
        assert response.status_code == 200, (link(entry, "self"), response.text)
        assert response.headers["content-type"].startswith("application/atom+xml")
        assert schema_errors(response.content) == []
        member = etree.fromstring(response.content)
        assert member.tag == f"{ATOM}entry"
        assert member.findtext(f"{ATOM}id") == entry.findtext(f"{ATOM}id")
        assert content_of(member) == content_of(entry)


def test_every_up_href_answers_a_feed_of_exactly_its_entries(server, party, http):
    tokens = customer_tokens(http, server, party)
    expected: dict[str, set[str]] = defaultdict(set)
    for entry in batch_entries(batch_of(http, tokens)):
        expected[link(entry, "up")].add(entry.findtext(f"{ATOM}id") or "")
    assert len(expected) >= 5
    for up, ids in expected.items():
        response = read(http, up, tokens["access_token"])
        assert response.status_code == 200, (up, response.text)
        assert schema_errors(response.content) == []
        served = {entry.findtext(f"{ATOM}id") for entry in batch_entries(response.content)}
        assert served == ids, up


def test_root_collections_hold_only_the_token_subscription(server, party, http):
    mine = customer_tokens(http, server, party)
    theirs = other_customer_tokens(server, party)
    root = mine["resourceURI"].split("/Batch/")[0]
    my_points = {
        entry.findtext(f"{ATOM}id")
        for entry in batch_entries(batch_of(http, mine))
        if kind_of(entry) == "UsagePoint"
    }
    their_points = {
        entry.findtext(f"{ATOM}id")
        for entry in batch_entries(batch_of(http, theirs))
        if kind_of(entry) == "UsagePoint"
    }
    assert my_points
    assert their_points
    assert my_points.isdisjoint(their_points)
    response = read(http, f"{root}/UsagePoint", mine["access_token"])
    assert response.status_code == 200
    served = {entry.findtext(f"{ATOM}id") for entry in batch_entries(response.content)}
    assert served == my_points


def test_another_customers_resources_are_not_found_or_forbidden(server, party, http):
    mine = customer_tokens(http, server, party)
    theirs = other_customer_tokens(server, party)
    their_entries = batch_entries(batch_of(http, theirs))
    root = mine["resourceURI"].split("/Batch/")[0]
    my_subscription = mine["resourceURI"].rsplit("/", 1)[1]
    their_subscription = theirs["resourceURI"].rsplit("/", 1)[1]
    for entry in their_entries:
        kind = kind_of(entry)
        if kind == "LocalTimeParameters":
            continue  # the territory's one time zone entry is shared by every feed
        entry_id = (entry.findtext(f"{ATOM}id") or "").removeprefix("urn:uuid:")
        their_href = link(entry, "self")
        # Hrefs naming their subscription refuse my token outright; root ones find nothing.
        refused = read(http, their_href, mine["access_token"])
        expected = 403 if their_subscription in their_href else 404
        assert refused.status_code == expected, their_href
        assert entry_id not in refused.text
        # The same ids under my subscription, or at the root, are simply not there.
        mine_href = their_href.replace(their_subscription, my_subscription)
        for href in (mine_href, f"{root}/{kind}/{entry_id}"):
            response = read(http, href, mine["access_token"])
            assert response.status_code == 404, (href, response.text)
            assert entry_id not in response.text


def test_malformed_ids_and_queries_are_client_errors(server, party, http):
    tokens = customer_tokens(http, server, party)
    subscription = tokens["resourceURI"].rsplit("/", 1)[1]
    root = tokens["resourceURI"].split("/Batch/")[0]
    not_found = read(
        http, f"{root}/Subscription/{subscription}/UsagePoint/not-a-uuid", tokens["access_token"]
    )
    assert not_found.status_code == 404
    bad_query = read(
        http,
        f"{root}/Subscription/{subscription}/UsagePoint?published-min=yesterday",
        tokens["access_token"],
    )
    assert bad_query.status_code == 400
    assert "published-min" in bad_query.json()["error_description"]
    anonymous = http.get(f"{root}/ReadingType")
    assert anonymous.status_code == 401


def test_interval_block_collection_filters_by_data_time(server, party, http):
    tokens = customer_tokens(http, server, party)
    blocks = [
        entry
        for entry in batch_entries(batch_of(http, tokens))
        if kind_of(entry) == "IntervalBlock"
    ]
    assert len(blocks) >= 2
    starts = sorted(int(block.findtext(f".//{ESPI}interval/{ESPI}start") or 0) for block in blocks)
    latest = starts[-1]
    collection = link(blocks[-1], "up")
    after = datetime.fromtimestamp(latest, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = read(http, f"{collection}?published-min={after}", tokens["access_token"])
    assert response.status_code == 200
    served = [
        int(entry.findtext(f".//{ESPI}interval/{ESPI}start") or 0)
        for entry in batch_entries(response.content)
    ]
    assert served
    assert all(start >= latest for start in served)
