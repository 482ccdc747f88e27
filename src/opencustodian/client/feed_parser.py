"""A defensive, incremental parser of ESPI usage feeds (Atom, RFC 4287; NAESB REQ.21 ESPI).

The body comes from the network and is untrusted. It is fed to lxml in chunks as it arrives;
entity substitution, DTD loading and network access are off, a DOCTYPE or entity declaration
is refused (by a byte scan before the parser sees it, and again from the parsed document's own
record, which also catches encodings the scan misses), and the bytes of all pages together are
capped. Each top-level ``atom:entry`` is handed to :class:`~.feed_graph.FeedCollector` and then
dropped, so the tree never holds more than one entry. The feed's ``link rel="next"`` (RFC 5005
§3) is remembered for the fetcher.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin

from lxml import etree

from opencustodian.client.errors import FeedError
from opencustodian.client.feed_graph import ATOM, FeedCollector

if TYPE_CHECKING:
    from collections.abc import Iterable

    from opencustodian.client.usage_data import UsageFeed

FEED: Final = f"{{{ATOM}}}feed"
ENTRY: Final = f"{{{ATOM}}}entry"
LINK: Final = f"{{{ATOM}}}link"
DEFAULT_MAX_BYTES: Final = 256 * 1024 * 1024
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_OVERLAP: Final = 16  # bytes kept between chunks so a declaration split by a chunk is seen


class ByteBudget:
    """The bytes all pages of one feed may still take."""

    def __init__(self, max_bytes: int) -> None:
        """Allow ``max_bytes`` in total."""
        self.max_bytes = max_bytes
        self.used = 0

    def spend(self, count: int) -> None:
        """Count ``count`` more bytes.

        Raises:
            FeedError: the feed is now larger than allowed.
        """
        self.used += count
        if self.used > self.max_bytes:
            msg = f"the usage feed is larger than {self.max_bytes:,} bytes"
            raise FeedError(msg)


def _parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(
        events=("start", "end"),
        tag=(FEED, ENTRY, LINK),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _refuse_doctype(element: etree._Element) -> None:
    if element.getroottree().docinfo.doctype:  # type: ignore[attr-defined]  # lxml-stubs lack it
        msg = "usage feeds with a DOCTYPE are refused (no entity is ever expanded)"
        raise FeedError(msg)


class PageParser:
    """One page of a feed, fed in chunks; collects its entries and its ``next`` link."""

    def __init__(self, collector: FeedCollector, budget: ByteBudget, base_url: str = "") -> None:
        """Parse into ``collector``, charging ``budget``; hrefs resolve against ``base_url``."""
        self.collector = collector
        self.budget = budget
        self.base_url = base_url
        self.next_href: str | None = None
        self._parser = _parser()
        self._root: etree._Element | None = None
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        """Parse the next bytes of the page.

        Raises:
            FeedError: the page is unsafe, malformed or over the budget.
        """
        if not chunk:
            return
        self.budget.spend(len(chunk))
        if self._root is None and _DECLARATION.search(self._tail + chunk):
            msg = "usage feeds with a DOCTYPE or entity declaration are refused"
            raise FeedError(msg)
        self._tail = chunk[-_OVERLAP:]
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as error:
            raise _syntax(error) from error
        self._drain()

    def close(self) -> str | None:
        """Finish the page; returns its ``next`` href (absolute), if any.

        Raises:
            FeedError: the page is truncated, not an Atom feed or entry, or unsafe.
        """
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as error:
            raise _syntax(error) from error
        self._drain()
        _refuse_doctype(root)
        if root.tag not in {FEED, ENTRY}:
            msg = f"expected an Atom feed or entry, got <{etree.QName(root).localname}>"
            raise FeedError(msg)
        if root.tag == ENTRY:
            self.collector.add_entry(root, self.base_url)
        return self.next_href

    def _drain(self) -> None:
        for event, element in self._parser.read_events():
            if not isinstance(element, etree._Element):  # noqa: SLF001 - lxml's public element type
                continue  # only start-ns events yield tuples; none are asked for
            if self._root is None:
                self._take_root(element)
            parent = element.getparent()
            if event != "end" or parent is None or parent is not self._root:
                continue
            if parent.tag == FEED:
                self._read_child(element, parent)

    def _take_root(self, element: etree._Element) -> None:
        _refuse_doctype(element)
        if element.getparent() is not None:
            msg = "expected an Atom feed or entry at the document's root"
            raise FeedError(msg)
        self._root = element

    def _read_child(self, element: etree._Element, feed: etree._Element) -> None:
        """A feed's ``link`` (remember ``next``) or ``entry`` (read it, then drop the tree)."""
        if element.tag == LINK:
            href = (element.get("href") or "").strip()
            if element.get("rel") == "next" and href:
                self.next_href = urljoin(self.base_url, href)
        elif element.tag == ENTRY:
            self.collector.add_entry(element, self.base_url)
            # Drop what was read: the tree never holds more than the entry being parsed.
            element.clear()
            while element.getprevious() is not None:
                del feed[0]


def _syntax(error: etree.XMLSyntaxError) -> FeedError:
    return FeedError(f"the usage feed is not well-formed XML: {error}")


def parse_usage_feed(
    document: bytes | Iterable[bytes], *, base_url: str = "", max_bytes: int = DEFAULT_MAX_BYTES
) -> UsageFeed:
    """Read a whole usage feed (a Download My Data file, or one fetched page) into series.

    Args:
        document: the bytes, or chunks of them as they arrive.
        base_url: what relative hrefs resolve against (the URL it came from).
        max_bytes: refuse documents larger than this.

    Raises:
        FeedError: unsafe, malformed, oversized, or readings that cannot be placed.
    """
    collector = FeedCollector()
    page = PageParser(collector, ByteBudget(max_bytes), base_url)
    for chunk in [document] if isinstance(document, bytes) else document:
        page.feed(chunk)
    page.close()
    return collector.finish()
