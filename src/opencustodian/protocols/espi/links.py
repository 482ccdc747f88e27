"""What an Atom entry says about itself: id, title, links and the resources it carries.

ESPI ties resources together only through Atom links (ESPI 4.0 §"Resource URIs"; RFC 4287
§4.2.7): a resource's ``self`` href names it, ``up`` names the collection it belongs to, and
``related`` names the collections (or, in some exports, the members) it owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opencustodian.protocols.espi.names import CONTENT, ID, LINK, TITLE, source_line

if TYPE_CHECKING:
    from lxml import etree


def normalize_href(href: str) -> str:
    """The comparable form of an href: its path, without leading or trailing slashes.

    Feeds mix absolute (``https://host/DataCustodian/espi/1_1/resource/...``), root-relative
    (``/espi/1_1/...``) and document-relative (``User/1/UsagePoint/01``) references
    (RFC 3986 §4.1); within one file they agree on the path, so the path is what is compared.
    """
    return urlsplit(href.strip()).path.strip("/")


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """The Atom metadata of one entry, with hrefs normalized for matching."""

    line: int
    atom_id: str | None
    title: str | None
    self_href: str | None
    self_path: str | None
    up_path: str | None
    related_paths: tuple[str, ...]

    def describe(self) -> str:
        """How messages name this entry: its self href, else its line."""
        if self.self_href:
            return f"{self.self_href} (line {self.line})"
        return f"the entry at line {self.line}"


def _text(element: etree._Element) -> str | None:
    """Trimmed text content (titles may be ``type="html"``; markup is irrelevant here)."""
    text = "".join(part for part in element.itertext() if isinstance(part, str)).strip()
    return text or None


def read_entry(entry: etree._Element) -> tuple[EntryFacts, list[etree._Element]]:
    """The facts of an ``atom:entry`` and the resource elements inside its ``atom:content``.

    RFC 4287 §4.2.7.2: a link without ``rel`` is ``alternate``; ``type`` is optional and never
    read (the ESPI 3.3 atom.xsd requires it, real feeds omit it).
    """
    atom_id = title = self_href = up_href = None
    related: list[str] = []
    resources: list[etree._Element] = []
    for child in entry:
        tag = child.tag
        if tag == LINK:
            href = child.get("href")
            if not href or not href.strip():
                continue
            rel = child.get("rel", "alternate").strip()
            if rel == "self" and self_href is None:
                self_href = href.strip()
            elif rel == "up" and up_href is None:
                up_href = href
            elif rel == "related":
                related.append(normalize_href(href))
        elif tag == ID:
            atom_id = _text(child)
        elif tag == TITLE:
            title = _text(child)
        elif tag == CONTENT:
            resources.extend(element for element in child if isinstance(element.tag, str))
    facts = EntryFacts(
        line=source_line(entry),
        atom_id=atom_id,
        title=title,
        self_href=self_href,
        self_path=normalize_href(self_href) if self_href else None,
        up_path=normalize_href(up_href) if up_href else None,
        related_paths=tuple(related),
    )
    return facts, resources
