"""Reading small untrusted ESPI documents: one error type, one hardened entry point.

A third party's ApplicationInformation PUT and a custodian's BatchList notification are small
documents from outside. They are parsed with ``kit.xml.parse_document`` (no DTD, no entity, no
network, a byte limit) and every failure, whatever its cause, surfaces as one
`EspiDocumentError` whose message says what is wrong, so the web layer answers 400, never 500.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from lxml import etree

from opencustodian.kit.xml import UnsafeXmlError, parse_document

if TYPE_CHECKING:
    from collections.abc import Iterable

_DOCTYPE: Final = b"<!DOCTYPE"
_WEB_SCHEMES: Final = frozenset({"http", "https"})
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


class EspiDocumentError(ValueError):
    """An ESPI document we refuse: not XML, hostile, too large, the wrong thing, or a bad value."""


def read_untrusted(body: bytes, *, max_bytes: int, what: str) -> etree._Element:
    """The root element of ``body``, parsed with the hardened parser.

    ``what`` names the expected document in messages (``"an ApplicationInformation entry"``).
    A DOCTYPE is refused whether libxml2 stops on it (entity loops) or parses past it.
    """
    if len(body) > max_bytes:
        msg = f"the body is larger than the limit of {max_bytes:,} bytes; expected {what}"
        raise EspiDocumentError(msg)
    if not body.strip():
        msg = f"the body is empty; expected {what}"
        raise EspiDocumentError(msg)
    try:
        return parse_document(body, max_bytes=max_bytes)
    except UnsafeXmlError as error:
        raise EspiDocumentError(str(error)) from error
    except (etree.LxmlError, ValueError) as error:
        if _DOCTYPE in body[:4096].upper():
            msg = "documents with a DOCTYPE are refused (entities and DTDs are not allowed)"
            raise EspiDocumentError(msg) from error
        line = getattr(error, "lineno", 0) or 0
        where = f" at line {line}" if line > 0 else ""
        msg = f"the body is not well-formed XML{where}; expected {what}: {error}"
        raise EspiDocumentError(msg) from error


def describe_element(tag: object) -> str:
    """How messages name an element: ``<BatchList> in namespace http://naesb.org/espi``."""
    if not isinstance(tag, str):
        return "a non-element node"
    qname = etree.QName(tag)
    where = f"namespace {qname.namespace}" if qname.namespace else "no namespace"
    return f"<{qname.localname}> in {where}"


def check_web_uri(field: str, uri: str) -> str:
    """``uri`` stripped, if it is an absolute ``http``/``https`` URI with a host.

    RFC 3986 §4.3 absolute-URI; spaces and control characters are not allowed anywhere in a URI
    (§2), so a value carrying them is refused rather than re-encoded.
    """
    value = uri.strip()
    if not value or any(char.isspace() or not char.isprintable() for char in value):
        msg = f"{field}: {uri!r} is not a URI (empty, or holds spaces or control characters)"
        raise EspiDocumentError(msg)
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - a bad port only raises when read
    except ValueError as error:
        msg = f"{field}: {uri!r} is not a valid URI ({error})"
        raise EspiDocumentError(msg) from error
    if _BAD_ESCAPE.search(value):
        msg = f"{field}: {uri!r} has a '%' that is not followed by two hex digits (RFC 3986 §2.1)"
        raise EspiDocumentError(msg)
    if parts.scheme.lower() not in _WEB_SCHEMES or not host:
        msg = f"{field}: {uri!r} must be an absolute http or https URI"
        raise EspiDocumentError(msg)
    return value


def check_web_uris(field: str, uris: Iterable[str]) -> tuple[str, ...]:
    """Every URI of ``uris`` checked by `check_web_uri`, in order."""
    return tuple(check_web_uri(field, uri) for uri in uris)


def text_of(element: etree._Element) -> str:
    """All the text inside ``element`` (its own and its descendants'), untrimmed."""
    return "".join(part for part in element.itertext() if isinstance(part, str))
