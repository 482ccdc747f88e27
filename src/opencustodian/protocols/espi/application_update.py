"""A third party's ``PUT /espi/1_1/resource/ApplicationInformation/{id}`` body, read safely.

The body is an Atom entry whose ``content`` holds an espi.xsd ``ApplicationInformation``, or
that element alone. Only the elements a third party describes itself with are read (names,
links, contacts, redirect URIs, scopes, phone); the custodian's own values (``client_id``,
``client_secret``, statuses, endpoints, ``dataCustodianId`` ...) are never taken from it, and
their names are reported in ``ignored_fields``. Elements absent from the body stay ``None``:
"unchanged".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lxml import etree

from opencustodian.domain.parties import RegistrationError, check_callback_uri
from opencustodian.domain.scopes import ScopeError
from opencustodian.protocols.espi.documents import (
    EspiDocumentError,
    check_web_uri,
    describe_element,
    read_untrusted,
    text_of,
)
from opencustodian.protocols.espi.names import (
    ATOM_NS,
    CONTENT,
    ENTRY,
    ESPI_NS,
    espi,
    local_name,
)
from opencustodian.protocols.espi.oauth_resources import APPLICATION_INFORMATION_FIELDS
from opencustodian.protocols.espi.scope import parse_scope
from opencustodian.protocols.espi.wire_fields import Kind, WireField

MAX_BYTES: Final = 256 * 1024
APPLICATION_INFORMATION: Final = espi("ApplicationInformation")
_WHAT: Final = "an Atom entry holding an espi ApplicationInformation"
# Elements whose value a third party owns; every other element is the custodian's.
CHANGEABLE: Final = frozenset(
    {
        "client_name",
        "third_party_application_description",
        "client_uri",
        "logo_uri",
        "redirect_uris",
        "third_party_notify_uri",
        "third_party_scope_selection_screen_uri",
        "contacts",
        "scopes",
        "third_party_phone",
        "tos_uri",
        "policy_uri",
    }
)
_FIELDS: Final = {field.wire: field for field in APPLICATION_INFORMATION_FIELDS}
_CHANGEABLE_FIELDS: Final = {wire: f for wire, f in _FIELDS.items() if f.attr in CHANGEABLE}


@dataclass(frozen=True, slots=True)
class ApplicationInformationUpdate:
    """What a third party asked to change; ``None`` leaves a field as it is.

    An optional single value given as an empty element (``<espi:logo_uri/>``) is ``""``:
    "clear it". ``contacts`` given only as empty elements is ``()``. ``ignored_fields`` names,
    in document order, the elements that were present but are not the third party's to set
    (``client_id``, ``client_secret``, ``dataCustodianApplicationStatus`` ...); elements from
    other namespaces (extensions) appear in Clark notation, ``{urn:example}colour``.
    """

    client_name: str | None = None
    third_party_application_description: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    redirect_uris: tuple[str, ...] | None = None
    third_party_notify_uri: str | None = None
    third_party_scope_selection_screen_uri: str | None = None
    contacts: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    third_party_phone: str | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    ignored_fields: tuple[str, ...] = ()


def parse_application_information_update(
    body: bytes, *, max_bytes: int = MAX_BYTES
) -> ApplicationInformationUpdate:
    """The changes a third party's ApplicationInformation PUT body asks for.

    Raises `EspiDocumentError` (a ``ValueError``) naming the problem: a body that is empty,
    not well-formed, over ``max_bytes`` or carries a DOCTYPE; a root that is neither an Atom
    ``entry`` nor ``ApplicationInformation`` in the ESPI namespace; a changeable element given
    twice, too long (espi.xsd ``StringNN``), not an absolute https URI (http only on loopback,
    no fragment, RFC 9700 §4.1.1), or a scope that does not parse.
    """
    resource = _resource(read_untrusted(body, max_bytes=max_bytes, what=_WHAT))
    texts: dict[str, list[str]] = {}
    ignored: list[str] = []
    for child in resource.iterchildren("*"):
        name = local_name(child.tag)
        namespace = etree.QName(child).namespace
        if namespace != ESPI_NS and name in _FIELDS:
            msg = (
                f"ApplicationInformation element {describe_element(child.tag)} must be in the "
                f"ESPI namespace {ESPI_NS}"
            )
            raise EspiDocumentError(msg)
        if name in _CHANGEABLE_FIELDS:
            texts.setdefault(name, []).append(text_of(child))
        else:
            ignored.append(name if namespace == ESPI_NS else child.tag)
    read = _Reader(texts)
    return ApplicationInformationUpdate(
        client_name=read.one("client_name"),
        third_party_application_description=read.one("thirdPartyApplicationDescription"),
        client_uri=read.one("client_uri"),
        logo_uri=read.one("logo_uri"),
        redirect_uris=read.several("redirect_uri"),
        third_party_notify_uri=read.one("thirdPartyNotifyUri"),
        third_party_scope_selection_screen_uri=read.one("thirdPartyScopeSelectionScreenURI"),
        contacts=read.several("contacts"),
        scopes=read.several("scope"),
        third_party_phone=read.one("thirdPartyPhone"),
        tos_uri=read.one("tos_uri"),
        policy_uri=read.one("policy_uri"),
        ignored_fields=tuple(dict.fromkeys(ignored)),
    )


def _resource(root: etree._Element) -> etree._Element:
    """The ApplicationInformation element: the root, or inside the entry's ``content``."""
    if root.tag == APPLICATION_INFORMATION:
        return root
    if root.tag == ENTRY:
        for content in root.iterchildren(CONTENT):
            for element in content:
                if element.tag == APPLICATION_INFORMATION:
                    return element
                if isinstance(element.tag, str):
                    msg = (
                        f"the entry's content holds {describe_element(element.tag)}, not an "
                        f"ApplicationInformation in namespace {ESPI_NS}"
                    )
                    raise EspiDocumentError(msg)
        msg = "the entry has no content holding an ApplicationInformation"
        raise EspiDocumentError(msg)
    msg = (
        f"the root element is {describe_element(root.tag)}; expected {_WHAT} (Atom namespace "
        f"{ATOM_NS}, ESPI namespace {ESPI_NS})"
    )
    raise EspiDocumentError(msg)


@dataclass(frozen=True, slots=True)
class _Reader:
    """Checked values of the changeable elements, from their texts in document order."""

    texts: dict[str, list[str]]

    def one(self, wire: str) -> str | None:
        """A single-valued element's value, ``""`` when given empty, ``None`` when absent."""
        given = self.texts.get(wire)
        if given is None:
            return None
        field = _CHANGEABLE_FIELDS[wire]
        if len(given) > 1:
            msg = f"{wire} is given {len(given)} times; it takes one value"
            raise EspiDocumentError(msg)
        return _single(field, given[0].strip())

    def several(self, wire: str) -> tuple[str, ...] | None:
        """A repeated element's non-empty values, ``None`` when absent."""
        given = self.texts.get(wire)
        if given is None:
            return None
        field = _CHANGEABLE_FIELDS[wire]
        if wire == "scope":
            # espi.xsd: "Space separated list of scope values"; ESPI scopes never hold spaces.
            given = [scope for text in given for scope in text.split()]
        values = tuple(text.strip() for text in given if text.strip())
        if field.min_occurs and not values:
            msg = f"{wire} needs at least one non-empty value"
            raise EspiDocumentError(msg)
        return tuple(_item(field, value) for value in values)


def _single(field: WireField, text: str) -> str:
    if not text:
        if field.min_occurs:
            msg = f"{field.wire} may not be empty"
            raise EspiDocumentError(msg)
        return ""
    return _item(field, text)


def _item(field: WireField, text: str) -> str:
    if field.max_length is not None and len(text) > field.max_length:
        msg = f"{field.wire} is {len(text)} characters long; espi.xsd allows {field.max_length}"
        raise EspiDocumentError(msg)
    if field.kind is Kind.URI:
        text = check_web_uri(field.wire, text)
        try:
            check_callback_uri(field.wire, text)
        except RegistrationError as error:
            raise EspiDocumentError(str(error)) from error
    elif field.wire == "scope":
        try:
            parse_scope(text)
        except ScopeError as error:
            msg = f"scope {text!r} is not an ESPI scope: {error}"
            raise EspiDocumentError(msg) from error
    return text
