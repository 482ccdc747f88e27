"""The hardened XML parser refuses entity tricks, DTDs and oversize input."""

from __future__ import annotations

import io

import pytest
from lxml import etree

from opencustodian.kit.xml import UnsafeXmlError, iter_elements, parse_document

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<feed><title>&lol3;</title></feed>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed><title>&xxe;</title></feed>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_documents_with_a_doctype_are_refused(document):
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        parse_document(document)
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        list(iter_elements(io.BytesIO(document), ("title",)))


def test_oversize_input_is_refused_while_streaming():
    document = b"<feed>" + b"<title>x</title>" * 10_000 + b"</feed>"
    with pytest.raises(UnsafeXmlError, match="larger than the limit"):
        list(iter_elements(io.BytesIO(document), ("title",), max_bytes=4096))
    with pytest.raises(UnsafeXmlError, match="larger than the limit"):
        parse_document(document, max_bytes=4096)


def test_streaming_yields_requested_elements():
    document = b"<feed><entry><title>a</title></entry><entry><title>b</title></entry></feed>"
    titles = [element.text for element in iter_elements(io.BytesIO(document), ("title",))]
    assert titles == ["a", "b"]


def test_truncated_input_is_a_syntax_error():
    with pytest.raises(etree.XMLSyntaxError):
        list(iter_elements(io.BytesIO(b"<feed><entry><title>a</ti"), ("title",)))
