"""Stream a Green Button ESPI usage feed into source records, with flat memory.

The import reads a whole Download My Data file: an Atom feed (RFC 4287 §4.1.1) of ESPI 3.x/4.0
resources, or a bare ``atom:entry`` document (§4.1.2). The file is untrusted: it is parsed
with entities, DTDs and network access disabled and a byte limit, and a DOCTYPE is refused
before anything is yielded. Only one entry is ever held as a tree: each is cleared once read,
with the siblings before it. How entries are linked and in which order records come out is
``graph.FeedGraph``'s business.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Final

from lxml import etree

from opencustodian.domain.ingest import ImportRejectedError
from opencustodian.kit.xml import (
    DEFAULT_MAX_BYTES,
    SizeLimitedReader,
    UnsafeXmlError,
    hardened_iterparse,
)
from opencustodian.protocols.espi.graph import FeedGraph
from opencustodian.protocols.espi.links import read_entry
from opencustodian.protocols.espi.names import ENTRY, FEED, ID, local_name

if TYPE_CHECKING:
    from collections.abc import Iterator

    from opencustodian.domain.ingest import SourceRecord

_HEAD_BYTES: Final = 64 * 1024
_DOCTYPE_REFUSED: Final = (
    "documents with a DOCTYPE are refused: entity declarations (billion laughs, external "
    "entities) are never expanded in imported files"
)


class _RecordingReader(SizeLimitedReader):
    """A size-limited reader that keeps the first bytes, to explain a failed parse."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit)
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        """Read like the wrapped stream, keeping a copy of the document's first bytes."""
        chunk = super().read(size)
        if len(self.head) < _HEAD_BYTES:
            self.head += chunk[: _HEAD_BYTES - len(self.head)]
        return chunk


def parse_espi_feed(
    stream: IO[bytes], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[SourceRecord]:
    """Yield the records of an ESPI usage feed in dependency order.

    A ``SourceServicePoint`` comes before any ``SourceMeterReading`` naming it, and a
    ``SourceMeterReading`` (with its ReadingType) before any ``SourceReadings`` for it; one
    ``SourceReadings`` per IntervalBlock, readings in file order. Keys are the resources'
    ``self`` hrefs; uuids are the entries' ``urn:uuid`` ids, or ``stable_uuid("espi-import",
    <self href>)`` with a warning when an id is missing, not a uuid, or reused in the file.

    Tolerated, with a ``SourceWarning``: an empty or unknown ``ServiceCategory/kind`` (commodity
    None), a ReadingType without ``uom``, fractional epoch starts (truncated to whole seconds),
    unknown quality codes (None), repeated starts in one MeterReading (counted; the consumer
    keeps the last, see ``graph``), resources of other kinds beside usage data. Tolerated
    silently: ``<updated>`` without a zone, a missing link ``type``, summaries and
    LocalTimeParameters (never read). Rejected with ``ImportRejectedError`` naming the problem
    and, where known, the line: a DOCTYPE, malformed or truncated XML, input over ``max_bytes``,
    a document with no UsagePoint (naming what it is instead), readings that cannot be placed
    under a MeterReading, UsagePoint and ReadingType, and non-integer or out-of-range values.
    The error may come after records were yielded (a truncated file fails where it ends): the
    caller imports the whole file in one transaction.
    """
    reader = _RecordingReader(stream, max_bytes)
    try:
        yield from _records(reader)
    except UnsafeXmlError as error:
        raise ImportRejectedError(str(error)) from error
    except etree.XMLSyntaxError as error:
        raise ImportRejectedError(_syntax_message(error, reader)) from error


def _records(reader: _RecordingReader) -> Iterator[SourceRecord]:
    """The parse loop: ``iterparse`` filtered in C to feed and entry events."""
    events = hardened_iterparse(reader, tag=(FEED, ENTRY))
    graph = FeedGraph()
    root: etree._Element | None = None
    feed_id_noted = False
    for event, element in events:
        if root is None:
            root = _checked_root(element)
        if event == "start":
            continue
        if element is root and element.tag == FEED:
            continue
        if not feed_id_noted and root.tag == FEED:
            # The feed's id precedes its entries; read it before the siblings are dropped.
            graph.note_feed_id(root.findtext(ID))
            feed_id_noted = True
        if _is_top_level(element):
            facts, resources = read_entry(element)
            yield from graph.add_entry(facts, resources)
            _release(element)
    if root is None:
        _refuse_non_atom(events.root)
    yield from graph.finish("entry" if root is not None and root.tag == ENTRY else "feed")


def _is_top_level(entry: etree._Element) -> bool:
    """Whether an entry is the document or a child of the feed (not one nested in content)."""
    parent = entry.getparent()
    return parent is None or parent.getparent() is None


def _checked_root(element: etree._Element) -> etree._Element:
    """The document root, once it is known to be an Atom feed or entry without a DOCTYPE."""
    tree = element.getroottree()
    if tree.docinfo.doctype:  # type: ignore[attr-defined]  # lxml-stubs lack DocInfo.doctype
        raise ImportRejectedError(_DOCTYPE_REFUSED)
    root = tree.getroot()
    if root.tag not in (FEED, ENTRY):
        _refuse_non_atom(root)
    return root


def _refuse_non_atom(root: etree._Element | None) -> None:
    """Reject a well-formed document that is not an Atom feed or entry (RFC 4287 §4.1)."""
    if root is not None and root.getroottree().docinfo.doctype:  # type: ignore[attr-defined]
        raise ImportRejectedError(_DOCTYPE_REFUSED)
    name = "nothing" if root is None else f"<{local_name(root.tag)}> in {_namespace(root)}"
    msg = (
        f"the document is not a Green Button feed: its root element is {name}, not an Atom "
        "feed or entry (http://www.w3.org/2005/Atom)"
    )
    raise ImportRejectedError(msg)


def _namespace(element: etree._Element) -> str:
    namespace = etree.QName(element).namespace
    return f"namespace {namespace}" if namespace else "no namespace"


def _release(entry: etree._Element) -> None:
    """Free an entry that has been read, and everything before it (flat memory)."""
    entry.clear(keep_tail=True)  # type: ignore[call-arg]  # lxml-stubs lack keep_tail
    parent = entry.getparent()
    if parent is not None:
        while entry.getprevious() is not None:
            del parent[0]


def _syntax_message(error: etree.XMLSyntaxError, reader: _RecordingReader) -> str:
    """A precise message for a parse failure: empty, DOCTYPE, or where the XML breaks."""
    if reader.bytes_read == 0:
        return "the file is empty"
    if b"<!DOCTYPE" in reader.head:
        # Entity loops abort inside libxml2 before any element event reaches us.
        return _DOCTYPE_REFUSED
    line = error.lineno or 0
    where = f" at line {line}" if line > 0 else ""
    return (
        f"the file is not well-formed XML{where} (truncated or not a Green Button feed): "
        f"{error.msg}"
    )
