"""Hardened XML parsing for untrusted documents.

Every document a third party or a file import hands us is untrusted: DTDs, entity expansion
(billion laughs), external entities (XXE) and network access are all refused, and input size is
capped before lxml sees it.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024
_CHUNK = 1024 * 1024


class UnsafeXmlError(ValueError):
    """The document uses a construct we refuse (DTD, entity) or is larger than allowed."""


class SizeLimitedReader:
    """A binary file wrapper that raises once more than ``limit`` bytes have been read."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        """Wrap ``stream`` so reading past ``limit`` bytes fails."""
        self._stream = stream
        self._limit = limit
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        """Read like ``stream.read``, counting bytes against the limit."""
        chunk = self._stream.read(size if size and size > 0 else _CHUNK)
        self.bytes_read += len(chunk)
        if self.bytes_read > self._limit:
            msg = f"document is larger than the limit of {self._limit:,} bytes"
            raise UnsafeXmlError(msg)
        return chunk


def hardened_parser() -> etree.XMLParser:
    """An lxml parser that resolves no entities, loads no DTD and never touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def hardened_iterparse(source: object, *, tag: tuple[str, ...] | None = None) -> etree.iterparse:
    """``start`` and ``end`` events from lxml's streaming parser, with nothing resolved.

    No entity is expanded, no DTD loaded, nothing fetched from the network, and lxml's default
    limits on text and depth stay on (``huge_tree=False``). ``tag`` filters events in C.
    """
    return etree.iterparse(
        source,
        events=("start", "end"),
        tag=tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_document(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse a small untrusted document held in memory, refusing DTDs and oversize input."""
    if len(data) > max_bytes:
        msg = f"document is larger than the limit of {max_bytes:,} bytes"
        raise UnsafeXmlError(msg)
    root = etree.fromstring(data, parser=hardened_parser())
    _refuse_doctype(root.getroottree())
    return root


def _refuse_doctype(tree: etree._ElementTree) -> None:
    if tree.docinfo.doctype:  # type: ignore[attr-defined]  # lxml-stubs lack DocInfo.doctype
        msg = "documents with a DOCTYPE are refused (entities and DTDs are not allowed)"
        raise UnsafeXmlError(msg)


def iter_elements(
    stream: IO[bytes],
    tags: tuple[str, ...],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[etree._Element]:
    """Stream ``end`` events for ``tags`` from an untrusted file with flat memory.

    The caller must ``clear()`` each yielded element (and may drop earlier siblings); a DOCTYPE
    anywhere in the prolog aborts the parse before any entity could be expanded.
    """
    events = hardened_iterparse(SizeLimitedReader(stream, max_bytes))
    checked = False
    for event, element in events:
        if not checked:
            _refuse_doctype(element.getroottree())
            checked = True
        if event == "end" and element.tag in tags:
            yield element
