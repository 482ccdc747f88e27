"""Atom entries and feeds of ESPI's ApplicationInformation and Authorization resources.

RFC 4287 §4.1.2 entry: ``id`` (a ``urn:uuid:``), ``link rel="self"`` and ``rel="up"``
(typed ``espi-entry/<Resource>`` and ``espi-feed/<Resource>`` as real custodians do, and as
the ESPI 3.3 atom.xsd requires), ``title``, ``published``, ``updated`` and a ``content``
holding the resource. The Atom namespace is the default one and ESPI is bound to ``espi:``, as
in the GBA samples. Output is deterministic: the same values give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from lxml import etree

from opencustodian.kit.time import require_aware
from opencustodian.protocols.espi.names import ATOM_NS, ESPI_NS, atom
from opencustodian.protocols.espi.oauth_codes import (
    AuthorizationStatus,
    DataCustodianApplicationStatus,
    ThirdPartyApplicationStatus,
    ThirdPartyApplicationType,
    ThirdPartyApplicationUse,
)
from opencustodian.protocols.espi.oauth_resources import (
    ApplicationInformationEntry,
    AuthorizationEntry,
    Period,
    application_information_element,
    authorization_element,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import datetime

__all__ = [
    "ApplicationInformationEntry",
    "AtomHead",
    "AuthorizationEntry",
    "AuthorizationStatus",
    "DataCustodianApplicationStatus",
    "FeedHead",
    "Period",
    "RelatedLink",
    "ThirdPartyApplicationStatus",
    "ThirdPartyApplicationType",
    "ThirdPartyApplicationUse",
    "application_information_entry",
    "atom_time",
    "authorization_entry",
    "entry_feed",
]

NSMAP: Final[dict[str | None, str]] = {None: ATOM_NS, "espi": ESPI_NS}
OAuthResource: TypeAlias = ApplicationInformationEntry | AuthorizationEntry


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """An extra ``link rel="related"`` (e.g. a certification link, typed ``text/xml``)."""

    href: str
    type: str


@dataclass(frozen=True, slots=True)
class AtomHead:
    """The Atom metadata of one entry; ``title`` may be empty (the GBA sample's is)."""

    entry_id: uuid.UUID
    self_href: str
    up_href: str
    published: datetime
    updated: datetime
    title: str = ""
    related: tuple[RelatedLink, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedHead:
    """The Atom metadata of a feed (RFC 4287 §4.1.1: id, title, updated, self link).

    ``resource`` types the self link ``espi-feed/<resource>``, also when the feed is empty.
    """

    feed_id: uuid.UUID
    title: str
    self_href: str
    updated: datetime
    resource: Literal["ApplicationInformation", "Authorization"] = "Authorization"
    related: tuple[RelatedLink, ...] = ()


def application_information_entry(info: ApplicationInformationEntry, head: AtomHead) -> bytes:
    """A UTF-8 ``<entry>`` document holding one espi ``ApplicationInformation``."""
    return _document(_entry(head, info))


def authorization_entry(authorization: AuthorizationEntry, head: AtomHead) -> bytes:
    """A UTF-8 ``<entry>`` document holding one espi ``Authorization``."""
    return _document(_entry(head, authorization))


def entry_feed(head: FeedHead, entries: Iterable[tuple[AtomHead, OAuthResource]]) -> bytes:
    """A UTF-8 ``<feed>`` of entries, e.g. ``GET /espi/1_1/resource/Authorization``.

    Entries keep the given order; each is typed by its own resource.
    """
    feed = etree.Element(atom("feed"), nsmap=NSMAP)  # type: ignore[arg-type]  # None: default ns
    etree.SubElement(feed, atom("id")).text = head.feed_id.urn
    etree.SubElement(feed, atom("title")).text = head.title
    etree.SubElement(feed, atom("updated")).text = atom_time(head.updated)
    _link(feed, "self", head.self_href, f"espi-feed/{head.resource}")
    _related(feed, head.related)
    for entry_head, resource in entries:
        _entry(entry_head, resource, parent=feed)
    return _document(feed)


def atom_time(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z`` and whole seconds (RFC 4287 §3.3 date construct)."""
    return require_aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kind(resource: OAuthResource) -> str:
    if isinstance(resource, ApplicationInformationEntry):
        return "ApplicationInformation"
    return "Authorization"


def _content(resource: OAuthResource) -> etree._Element:
    if isinstance(resource, ApplicationInformationEntry):
        return application_information_element(resource)
    return authorization_element(resource)


def _entry(
    head: AtomHead, resource: OAuthResource, *, parent: etree._Element | None = None
) -> etree._Element:
    """The ``entry`` element, alone (with the namespace map) or appended to ``parent``."""
    if parent is None:
        entry = etree.Element(atom("entry"), nsmap=NSMAP)  # type: ignore[arg-type]  # None: default ns
    else:
        entry = etree.SubElement(parent, atom("entry"))
    kind = _kind(resource)
    etree.SubElement(entry, atom("id")).text = head.entry_id.urn
    _link(entry, "self", head.self_href, f"espi-entry/{kind}")
    _link(entry, "up", head.up_href, f"espi-feed/{kind}")
    _related(entry, head.related)
    etree.SubElement(entry, atom("title")).text = head.title
    etree.SubElement(entry, atom("published")).text = atom_time(head.published)
    etree.SubElement(entry, atom("updated")).text = atom_time(head.updated)
    etree.SubElement(entry, atom("content")).append(_content(resource))
    return entry


def _link(parent: etree._Element, rel: str, href: str, kind: str | None) -> etree._Element:
    if not href.strip():
        msg = f"the {rel} link needs an href"
        raise ValueError(msg)
    link = etree.SubElement(parent, atom("link"), rel=rel, href=href)
    if kind is not None:
        link.set("type", kind)
    return link


def _related(parent: etree._Element, links: tuple[RelatedLink, ...]) -> None:
    for link in links:
        _link(parent, "related", link.href, link.type)


def _document(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
