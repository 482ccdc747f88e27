"""The BatchList notification parser: ESPI documents in, everything unsafe refused."""

from __future__ import annotations

import pytest

from opencustodian.client import BatchListError, parse_batch_list

SUB = "https://dc.example/espi/1_1/resource/Batch/Subscription/5?published-min=1&published-max=2"
BULK = "https://dc.example/espi/1_1/resource/Batch/Bulk/1"


def test_espi_batch_list_yields_its_uris_in_order():
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<BatchList xmlns="http://naesb.org/espi">\n'
        f"  <resources>{SUB.replace('&', '&amp;')}</resources>\n"
        f"  <resources> {BULK} </resources>\n"
        "</BatchList>"
    ).encode()
    assert parse_batch_list(body) == [SUB, BULK]


def test_prefixed_and_unnamespaced_forms_are_accepted():
    prefixed = f'<espi:BatchList xmlns:espi="http://naesb.org/espi"><espi:resources>{BULK}</espi:resources></espi:BatchList>'
    bare = f"<BatchList><resources>{BULK}</resources></BatchList>"
    assert parse_batch_list(prefixed.encode()) == [BULK]
    assert parse_batch_list(bare.encode()) == [BULK]


def test_empty_batch_list_is_no_uris():
    assert parse_batch_list(b'<BatchList xmlns="http://naesb.org/espi"/>') == []


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE BatchList [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<BatchList xmlns="http://naesb.org/espi"><resources>https://x/&lol2;</resources></BatchList>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE BatchList [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<BatchList xmlns="http://naesb.org/espi"><resources>&xxe;</resources></BatchList>"""

UTF16_DOCTYPE = (
    '<?xml version="1.0" encoding="UTF-16"?>\n'
    '<!DOCTYPE BatchList [<!ENTITY e "https://evil.example/">]>\n'
    '<BatchList xmlns="http://naesb.org/espi"><resources>&e;</resources></BatchList>'
).encode("utf-16")


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL_ENTITY, UTF16_DOCTYPE], ids=["laughs", "xxe", "utf16"]
)
def test_doctype_and_entities_are_refused(body):
    with pytest.raises(BatchListError, match="DOCTYPE"):
        parse_batch_list(body)


def test_oversize_body_is_refused_before_parsing():
    body = b"<BatchList>" + f"<resources>{BULK}</resources>".encode() * 30_000 + b"</BatchList>"
    assert len(body) > 1024 * 1024
    with pytest.raises(BatchListError, match="larger than"):
        parse_batch_list(body)
    with pytest.raises(BatchListError, match="larger than"):
        parse_batch_list(
            f"<BatchList><resources>{BULK}</resources></BatchList>".encode(), max_bytes=10
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not well-formed"),
        (b"not xml at all", "not well-formed"),
        (b'{"resources": ["https://x"]}', "not well-formed"),
        (b"<BatchList><resources>https://x", "not well-formed"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "expected an ESPI BatchList"),
        (b'<BatchList xmlns="urn:other"/>', "expected an ESPI BatchList"),
        (b"<BatchList><link>https://x</link></BatchList>", "unexpected element"),
        (b"<BatchList><resources><a/></resources></BatchList>", "holds elements"),
        (b"<BatchList><resources> </resources></BatchList>", "empty"),
        (b"<BatchList><resources>file:///etc/passwd</resources></BatchList>", "http"),
        (b"<BatchList><resources>ftp://dc.example/x</resources></BatchList>", "http"),
        (b"<BatchList><resources>javascript:alert(1)</resources></BatchList>", "http"),
        (b"<BatchList><resources>/relative/path</resources></BatchList>", "http"),
        (b"<BatchList><resources>https://a b/</resources></BatchList>", "whitespace"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_malformed_bodies_raise_a_clear_error(body, message):
    with pytest.raises(BatchListError, match=message):
        parse_batch_list(body)


def test_batch_list_error_is_a_value_error():
    with pytest.raises(ValueError, match="not well-formed"):
        parse_batch_list(b"<")
