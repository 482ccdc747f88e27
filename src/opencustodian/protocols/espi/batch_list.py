"""ESPI notifications: the ``BatchList`` a custodian POSTs to a third party's notify URI.

espi.xsd ``BatchList`` (``BatchListType``): a sequence of ``resources`` elements, each an
``xs:anyURI`` the third party should GET (Batch/Subscription with ``published-min/max``,
Batch/Bulk, ApplicationInformation, Authorization). CMD tests require every URI to be a
secured REST resource, so only absolute ``http``/``https`` URIs are written or accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from lxml import etree

from opencustodian.protocols.espi.documents import (
    EspiDocumentError,
    check_web_uri,
    check_web_uris,
    describe_element,
    read_untrusted,
    text_of,
)
from opencustodian.protocols.espi.names import CUSTOMER_NS, ESPI_NS, local_name

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_BYTES: Final = 1024 * 1024
# espi.xsd and customer.xsd each declare a BatchList; the CMD test mock sends one unqualified.
_NAMESPACES: Final = (ESPI_NS, CUSTOMER_NS, "")
_WHAT: Final = f"an espi BatchList (namespace {ESPI_NS})"


def batch_list(uris: Sequence[str]) -> bytes:
    """A UTF-8 ``<BatchList xmlns="http://naesb.org/espi">`` listing ``uris`` in order.

    Raises `EspiDocumentError` (a ``ValueError``) for a URI that is not absolute http(s).
    """
    root = etree.Element(f"{{{ESPI_NS}}}BatchList", nsmap={None: ESPI_NS})  # type: ignore[dict-item]  # default ns
    for uri in check_web_uris("resources", uris):
        etree.SubElement(root, f"{{{ESPI_NS}}}resources").text = uri
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def parse_batch_list(body: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[str, ...]:
    """The resource URIs of a BatchList notification, in document order (may be empty).

    Accepted leniently: the ESPI or customer namespace, or none (as the CMD test mock sends);
    surrounding whitespace in a URI; elements other than ``resources`` (ignored). Refused with
    `EspiDocumentError`: anything not well-formed, a DOCTYPE, more than ``max_bytes``, another
    root element, and a URI that is not absolute ``http``/``https`` with a host.
    """
    root = read_untrusted(body, max_bytes=max_bytes, what=_WHAT)
    namespace = etree.QName(root).namespace or ""
    if local_name(root.tag) != "BatchList" or namespace not in _NAMESPACES:
        msg = f"the root element is {describe_element(root.tag)}; expected {_WHAT}"
        raise EspiDocumentError(msg)
    resources = f"{{{namespace}}}resources" if namespace else "resources"
    return tuple(
        check_web_uri("resources", text_of(child)) for child in root.iterchildren(resources)
    )
