"""BatchList notifications: written XSD-valid, read back exactly, hostile bodies refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from opencustodian.protocols.espi.batch_list import batch_list, parse_batch_list
from opencustodian.protocols.espi.documents import EspiDocumentError
from tests.xsd import assert_valid

ESPI = "http://naesb.org/espi"
DC = "https://dc.example.com/DataCustodian/espi/1_1/resource"
URIS = [
    f"{DC}/Batch/Subscription/5?published-min=2025-01-01T00:00:00Z&published-max=2025-01-02T00:00:00Z",
    f"{DC}/Batch/Bulk/17",
    f"{DC}/ApplicationInformation/7",
    f"{DC}/Authorization/9",
]


def test_a_batch_list_is_schema_valid_and_reads_back_in_order():
    document = batch_list(URIS)
    assert_valid(document, "4.0")
    assert_valid(document, "3.3")
    root = etree.fromstring(document)
    assert root.tag == f"{{{ESPI}}}BatchList"
    assert root.nsmap == {None: ESPI}
    assert [child.text for child in root] == URIS
    assert b"&amp;published-max" in document
    assert parse_batch_list(document) == tuple(URIS)


def test_an_empty_batch_list_is_valid_and_reads_as_nothing():
    document = batch_list([])
    assert_valid(document)
    assert parse_batch_list(document) == ()


def test_the_reference_harness_form_without_a_namespace_is_read():
    body = (
        b"<BatchList><resources>http://localhost:8080/DataCustodian/espi/1_1/resource/"
        b"ApplicationInformation</resources></BatchList>"
    )
    assert parse_batch_list(body) == (
        "http://localhost:8080/DataCustodian/espi/1_1/resource/ApplicationInformation",
    )


def test_prefixes_whitespace_and_other_elements_are_tolerated():
    body = (
        f'<ns:BatchList xmlns:ns="{ESPI}">\n  <ns:resources>\n    {URIS[1]}\n  </ns:resources>\n'
        f"  <ns:note>ignored</ns:note><ns:resources>{URIS[2]}</ns:resources></ns:BatchList>"
    ).encode()
    assert parse_batch_list(body) == (URIS[1], URIS[2])


def test_the_customer_namespace_batch_list_is_read():
    body = (
        b'<BatchList xmlns="http://naesb.org/espi/customer">'
        b"<resources>https://dc.example.com/customer/espi/1_1/resource/Batch/RetailCustomer/3"
        b"</resources></BatchList>"
    )
    assert parse_batch_list(body) == (
        "https://dc.example.com/customer/espi/1_1/resource/Batch/RetailCustomer/3",
    )


@pytest.mark.parametrize(
    "uri", ["sftp://dc.example.com/export/17", "/espi/1_1/resource/Batch/Bulk/17", "", "https://"]
)
def test_the_writer_refuses_uris_that_are_not_absolute_http(uri):
    with pytest.raises(EspiDocumentError, match="resources"):
        batch_list([URIS[0], uri])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty"),
        (b"resources=https://x", "not well-formed XML"),
        (b"<BatchList><resources>https://a/b</resources>", "not well-formed XML"),
        (b'<BatchList xmlns="urn:other"/>', "<BatchList> in namespace urn:other"),
        (f'<UsagePoint xmlns="{ESPI}"/>'.encode(), "<UsagePoint> in namespace"),
        (b"<BatchList><resources>file:///etc/passwd</resources></BatchList>", "absolute http"),
        (b"<BatchList><resources>javascript:alert(1)</resources></BatchList>", "absolute http"),
        (b"<BatchList><resources>https://a b/c</resources></BatchList>", "spaces"),
        (b"<BatchList><resources/></BatchList>", "not a URI"),
        (b"<BatchList><resources>https://a/100%</resources></BatchList>", "two hex digits"),
        (
            (
                b'<!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<BatchList><resources>https://a/&x;</resources></BatchList>"
            ),
            "DOCTYPE",
        ),
        (
            (
                b'<!DOCTYPE b [<!ENTITY a "&b;"><!ENTITY b "&a;">]>'
                b"<BatchList><resources>&a;</resources></BatchList>"
            ),
            "DOCTYPE",
        ),
    ],
)
def test_bad_notifications_are_refused(body, message):
    with pytest.raises(EspiDocumentError, match=message):
        parse_batch_list(body)


def test_an_oversize_notification_is_refused():
    body = batch_list([f"{DC}/Batch/Subscription/{number}" for number in range(100)])
    assert len(parse_batch_list(body, max_bytes=len(body))) == 100
    with pytest.raises(EspiDocumentError, match="larger than the limit"):
        parse_batch_list(body, max_bytes=len(body) - 1)


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,15}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True)
segments = st.text("abcXYZ019-._~!$&'()*+,;=:@", max_size=10) | st.just("%41%c3%A9")
queries = st.text("abc019-._~&=/?<>\"'é", max_size=20)
https_uris = st.builds(
    lambda host, port, path, query: f"https://{host}{port}/{'/'.join(path)}{query}",
    hosts,
    st.sampled_from(["", ":443", ":8443"]),
    st.lists(segments, max_size=5),
    st.one_of(st.just(""), queries.map(lambda text: f"?{text}")),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(https_uris, max_size=8))
def test_any_list_of_https_uris_round_trips_through_a_valid_document(uris):
    document = batch_list(uris)
    assert_valid(document)
    assert parse_batch_list(document) == tuple(uris)
