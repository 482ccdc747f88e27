"""The ESPI notification body a custodian POSTs to the third party's notification URI.

NAESB REQ.21 ESPI (FB_39, PUSH model): ``BatchList`` of type ``BatchListType``, a sequence of
``resources`` elements (``xs:anyURI``) in the namespace ``http://naesb.org/espi``; each URI is a
Batch/Subscription, Batch/Bulk, Authorization or ApplicationInformation resource to GET with the
matching token. Some custodians (the CMD test harness mock) send the elements in no namespace.

The body is untrusted: it is size-limited before parsing, DTDs and entities are refused, nothing
is fetched from the network, and only absolute ``http``/``https`` URIs are accepted.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from opencustodian.client.errors import BatchListError

ESPI_NAMESPACE = "http://naesb.org/espi"
MAX_BATCH_LIST_BYTES = 1024 * 1024
MAX_URI_LENGTH = 8192
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _root(body: bytes, max_bytes: int) -> etree._Element:
    if len(body) > max_bytes:
        msg = f"BatchList body is larger than {max_bytes:,} bytes"
        raise BatchListError(msg)
    if _DECLARATION.search(body):
        msg = "BatchList bodies with a DOCTYPE or entity declaration are refused"
        raise BatchListError(msg)
    try:
        root = etree.fromstring(body, parser=_parser())
    except etree.XMLSyntaxError as error:
        msg = f"BatchList body is not well-formed XML: {error}"
        raise BatchListError(msg) from error
    if root is None:
        msg = "BatchList body is empty"
        raise BatchListError(msg)
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]  # lxml-stubs lack it
        msg = "BatchList bodies with a DOCTYPE are refused"  # e.g. UTF-16 hides it from the scan
        raise BatchListError(msg)
    return root


def _uri(text: str | None) -> str:
    uri = (text or "").strip()
    if not uri:
        msg = "a BatchList resources element is empty"
        raise BatchListError(msg)
    if len(uri) > MAX_URI_LENGTH or any(char.isspace() or ord(char) < 0x20 for char in uri):  # noqa: PLR2004 - 0x20 ends the C0 control characters
        msg = "a BatchList resource URI is too long or contains whitespace or control characters"
        raise BatchListError(msg)
    parts = urlsplit(uri)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        msg = f"a BatchList resource is not an absolute http(s) URI: {uri[:200]!r}"
        raise BatchListError(msg)
    return uri


def parse_batch_list(body: bytes, *, max_bytes: int = MAX_BATCH_LIST_BYTES) -> list[str]:
    """The resource URIs of an ESPI ``BatchList`` notification, in document order.

    Args:
        body: the raw request body.
        max_bytes: refuse larger bodies (1 MiB by default).

    Raises:
        BatchListError: oversize, not XML, a DOCTYPE or entity, another root element, an
            unexpected child element, or a resource that is not an absolute http(s) URI.
    """
    root = _root(body, max_bytes)
    qname = etree.QName(root)
    if qname.localname != "BatchList" or qname.namespace not in {ESPI_NAMESPACE, None}:
        msg = f"expected an ESPI BatchList, got <{qname.text}>"
        raise BatchListError(msg)
    expected = etree.QName(qname.namespace, "resources").text
    uris: list[str] = []
    for child in root:
        if child.tag != expected:
            msg = f"unexpected element in BatchList: <{child.tag}>"
            raise BatchListError(msg)
        if len(child):
            msg = "a BatchList resources element holds elements instead of a URI"
            raise BatchListError(msg)
        uris.append(_uri(child.text))
    return uris
