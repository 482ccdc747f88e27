"""The ESPI retail-customer feed (customer.xsd): ``Batch/RetailCustomer/{id}`` and its members.

The caller describes what a grant shows with the plain-word values below: a tree of customer
→ accounts → service agreements → service locations → meters, where every node has its id
(hrefs are built from them) and, when its function block is granted, its ``info``; a node
without ``info`` gets no entry but still places its children. The writer turns them into
Atom entries holding customer.xsd resources (namespace ``http://naesb.org/espi/customer``,
bound to ``cust:`` as in the GBA sample feed): Customer, CustomerAccount, CustomerAgreement,
ServiceLocation, Meter, ServiceSupplier and the territory's LocalTimeParameters (FB 51
"needs cust:LocalTimeParameters", research/espi.md §11).

Hrefs follow the shapes real custodians publish (research/espi.md §2.4 and the GBA sample
``Customer-Subscription-Feed-Anonymized.xml``)::

    {root}/RetailCustomer/{rc}/Customer/{customer}
      …/CustomerAccount/{account}/CustomerAgreement/{agreement}
      …/ServiceLocation/{location}/Meter/{meter}
    {root}/RetailCustomer/{rc}/ServiceSupplier/{supplier}
    {root}/LocalTimeParameters/{id}

Each entry's ``up`` is its collection (its ``self`` minus the id) and a parent links each
child collection it has entries in (``rel="related"``, typed ``cust-feed/<Resource>``), so
the certification link rules (research/espi.md §4) hold by construction. A ServiceLocation
names its usage points by the hrefs the usage feed gives them
(``{root}/Subscription/{subscription}/UsagePoint/{id}``); a Meter links its usage point.

The document is built with lxml, which escapes every text and attribute (XML 1.0 §2.4,
§3.1): customer names and addresses are untrusted text. Characters XML cannot carry at all
(§2.2) are replaced by U+FFFD in resource texts. Elements follow each customer.xsd
``xs:sequence``; database column widths keep every text within the schema's ``String256``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import quote

from lxml import etree

from opencustodian.protocols.espi.entries import atom_time
from opencustodian.protocols.espi.names import ATOM_NS, CUSTOMER_NS, atom

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import datetime

    from opencustodian.protocols.espi.usage_feed import LocalTimeNode

__all__ = [
    "AccountInfo",
    "AccountNode",
    "Address",
    "AgreementInfo",
    "AgreementNode",
    "CustomerEntry",
    "CustomerFeedMeta",
    "CustomerInfo",
    "CustomerNode",
    "LocationInfo",
    "LocationNode",
    "MeterInfo",
    "MeterNode",
    "SupplierInfo",
    "SupplierNode",
    "Telephone",
    "collection_at",
    "customer_entries",
    "customer_feed",
    "entry_at",
    "entry_document",
]

NSMAP: Final[dict[str | None, str]] = {None: ATOM_NS, "cust": CUSTOMER_NS}


def cust(local: str) -> str:
    """The Clark name of a customer.xsd element."""
    return f"{{{CUSTOMER_NS}}}{local}"


# -- what the caller says, in plain words ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Telephone:
    """A telephone number, split when its shape is known (customer.xsd TelephoneNumber)."""

    local_number: str
    area_code: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; any part may be unknown (customer.xsd StreetAddress)."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    """The customer's name and contact details (FB 54)."""

    name: str
    business: bool
    email: str | None = None
    phone: Telephone | None = None
    status: str = "active"


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """An account (FB 56); its mailing postal code only with FB 55."""

    number: str
    account_class: str  # "residential", "commercial"
    opened: int  # epoch seconds
    mailing_postal_code: str | None = None
    status: str = "active"


@dataclass(frozen=True, slots=True)
class AgreementInfo:
    """The service agreement of an account at one location (FB 57)."""

    title: str
    signed: int  # epoch seconds: the start of the tenure it covers
    rate_plans: tuple[str, ...] = ()
    currency: int | None = None  # ISO 4217 numeric
    status: str = "active"


@dataclass(frozen=True, slots=True)
class LocationInfo:
    """A premises (FB 58) and the usage points the grant covers there."""

    address: Address
    usage_point_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """A meter (FB 60)."""

    serial_number: str
    kind: str  # e.g. "electricity meter"
    installed: int | None = None  # epoch seconds
    removed: int | None = None


@dataclass(frozen=True, slots=True)
class SupplierInfo:
    """The utility serving the customer (FB 59)."""

    name: str
    kind: str = "utility"  # customer.xsd SupplierKind


@dataclass(frozen=True, slots=True)
class MeterNode:
    """A meter; ``published`` is also its ``updated`` (no edit history is kept)."""

    entry_id: uuid.UUID
    published: datetime
    info: MeterInfo | None
    usage_point_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class LocationNode:
    """A service location and the meters placed under it."""

    entry_id: uuid.UUID
    published: datetime
    info: LocationInfo | None
    meters: Sequence[MeterNode] = ()


@dataclass(frozen=True, slots=True)
class AgreementNode:
    """A service agreement and its locations."""

    entry_id: uuid.UUID
    published: datetime
    info: AgreementInfo | None
    locations: Sequence[LocationNode] = ()


@dataclass(frozen=True, slots=True)
class AccountNode:
    """An account and its agreements."""

    entry_id: uuid.UUID
    published: datetime
    info: AccountInfo | None
    agreements: Sequence[AgreementNode] = ()


@dataclass(frozen=True, slots=True)
class CustomerNode:
    """The customer and their accounts: the root of the tree."""

    entry_id: uuid.UUID
    published: datetime
    info: CustomerInfo | None
    accounts: Sequence[AccountNode] = ()


@dataclass(frozen=True, slots=True)
class SupplierNode:
    """The service supplier agreements link to."""

    entry_id: uuid.UUID
    published: datetime
    info: SupplierInfo


@dataclass(frozen=True, slots=True)
class CustomerFeedMeta:
    """The feed's own Atom metadata and the ids its hrefs are built on."""

    feed_id: uuid.UUID
    title: str
    self_href: str  # the URL the client asked for
    updated: datetime
    resource_root: str  # ``https://host/espi/1_1/resource`` (no trailing slash)
    retail_customer_id: str  # the ``{rc}`` of ``…/RetailCustomer/{rc}/…`` hrefs
    subscription_id: str  # the ``{id}`` of the usage feed's ``…/Subscription/{id}/UsagePoint``
    certification_href: str | None = None


# -- what the writer gives back --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerEntry:
    """One written entry and where it lives.

    ``path`` and ``collection`` are its ``self`` and ``up`` hrefs relative to the resource
    root (``RetailCustomer/{rc}/Customer/{id}``), the form a request path is matched in.
    """

    resource: str
    path: str
    collection: str
    element: etree._Element


def customer_entries(
    meta: CustomerFeedMeta,
    local_time: LocalTimeNode | None,
    supplier: SupplierNode | None,
    customer: CustomerNode,
) -> list[CustomerEntry]:
    """Every entry the tree holds, in tree order (a parent before its children).

    LocalTimeParameters comes first and the supplier next, so each precedes the entries that
    link to it.
    """
    writer = _Writer(meta, local_time, supplier)
    return list(writer.tree(customer))


def customer_feed(meta: CustomerFeedMeta, entries: Iterable[CustomerEntry]) -> bytes:
    """The UTF-8 Atom ``feed`` document (RFC 4287 §4.1.1) of ``entries``."""
    feed = etree.Element(atom("feed"), nsmap=NSMAP)  # type: ignore[arg-type]  # None: default ns
    etree.SubElement(feed, atom("id")).text = meta.feed_id.urn
    etree.SubElement(feed, atom("title")).text = meta.title
    etree.SubElement(feed, atom("updated")).text = atom_time(meta.updated)
    _link(feed, "self", meta.self_href, "cust-feed/Customer")
    if meta.certification_href is not None:
        _link(feed, "related", meta.certification_href, "text/html")
    for entry in entries:
        # A copy: an lxml element has one parent, and the entries stay usable afterwards.
        feed.append(copy.deepcopy(entry.element))
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8")


def entry_document(entry: CustomerEntry) -> bytes:
    """One entry as a UTF-8 Atom ``entry`` document (a member form's answer)."""
    return etree.tostring(entry.element, xml_declaration=True, encoding="UTF-8")


def entry_at(entries: Iterable[CustomerEntry], path: str) -> CustomerEntry | None:
    """The entry whose ``self`` is ``path`` (relative to the resource root), if any."""
    wanted = path.strip("/")
    return next((entry for entry in entries if entry.path == wanted), None)


def collection_at(entries: Iterable[CustomerEntry], path: str) -> list[CustomerEntry]:
    """The entries whose ``up`` is ``path`` (relative to the resource root)."""
    wanted = path.strip("/")
    return [entry for entry in entries if entry.collection == wanted]


# -- entries ---------------------------------------------------------------------------------

_TITLES: Final = {
    "Customer": "Customer",
    "CustomerAccount": "Customer Account",
    "CustomerAgreement": "Customer Agreement",
    "ServiceLocation": "Service Location",
    "Meter": "Meter",
    "ServiceSupplier": "Service Supplier",
    "LocalTimeParameters": "Local Time Parameters",
}


class _Stamped(Protocol):
    """What every node gives its entry: an id and a publication time."""

    @property
    def entry_id(self) -> uuid.UUID: ...

    @property
    def published(self) -> datetime: ...


class _Shown(Protocol):
    """A child node: it has an entry when it carries ``info``."""

    @property
    def info(self) -> object | None: ...


class _Writer:
    """Builds the entries of one feed; hrefs are absolute, ``path``s relative to the root."""

    def __init__(
        self,
        meta: CustomerFeedMeta,
        local_time: LocalTimeNode | None,
        supplier: SupplierNode | None,
    ) -> None:
        self.root = meta.resource_root.rstrip("/")
        self.subscription_id = meta.subscription_id
        self.retail_customer = f"RetailCustomer/{meta.retail_customer_id}"
        self.local_time = local_time
        self.supplier = supplier

    def href(self, path: str) -> str:
        return f"{self.root}/{path}"

    def usage_point_href(self, usage_point_id: uuid.UUID) -> str:
        return self.href(f"Subscription/{self.subscription_id}/UsagePoint/{usage_point_id}")

    def entry(
        self,
        resource: str,
        node: _Stamped,
        path: str,
        content: etree._Element,
        related: Sequence[tuple[str, str]] = (),
    ) -> CustomerEntry:
        """RFC 4287 §4.1.2 entry; ``related`` holds (absolute href, type) pairs."""
        collection = path.rpartition("/")[0]
        element = etree.Element(atom("entry"), nsmap=NSMAP)  # type: ignore[arg-type]  # None: default ns
        etree.SubElement(element, atom("id")).text = node.entry_id.urn
        _link(element, "self", self.href(path), f"cust-entry/{resource}")
        _link(element, "up", self.href(collection), f"cust-feed/{resource}")
        for href, kind in related:
            _link(element, "related", href, kind)
        etree.SubElement(element, atom("title")).text = _TITLES[resource]
        etree.SubElement(element, atom("published")).text = atom_time(node.published)
        etree.SubElement(element, atom("updated")).text = atom_time(node.published)
        etree.SubElement(element, atom("content")).append(content)
        return CustomerEntry(resource, path, collection, element)

    def children_link(
        self, path: str, resource: str, children: Sequence[_Shown]
    ) -> list[tuple[str, str]]:
        """A ``related`` link to the child collection, when it holds an entry."""
        if any(child.info is not None for child in children):
            return [(self.href(f"{path}/{resource}"), f"cust-feed/{resource}")]
        return []

    def tree(self, customer: CustomerNode) -> Iterator[CustomerEntry]:
        related = []
        if self.local_time is not None:
            path = f"LocalTimeParameters/{self.local_time.entry_id}"
            related.append((self.href(path), "cust-entry/LocalTimeParameters"))
            content = _local_time(self.local_time)
            yield self.entry("LocalTimeParameters", self.local_time, path, content)
        supplier_link = []
        if self.supplier is not None:
            path = f"{self.retail_customer}/ServiceSupplier/{self.supplier.entry_id}"
            supplier_link.append((self.href(path), "cust-entry/ServiceSupplier"))
            yield self.entry("ServiceSupplier", self.supplier, path, _supplier(self.supplier.info))
        path = f"{self.retail_customer}/Customer/{customer.entry_id}"
        if customer.info is not None:
            related[:0] = self.children_link(path, "CustomerAccount", customer.accounts)
            yield self.entry("Customer", customer, path, _customer(customer.info), related)
        for account in customer.accounts:
            account_path = f"{path}/CustomerAccount/{account.entry_id}"
            yield from self.account(account_path, account, supplier_link)

    def account(
        self, path: str, account: AccountNode, supplier_link: list[tuple[str, str]]
    ) -> Iterator[CustomerEntry]:
        if account.info is not None:
            related = self.children_link(path, "CustomerAgreement", account.agreements)
            yield self.entry("CustomerAccount", account, path, _account(account.info), related)
        for agreement in account.agreements:
            agreement_path = f"{path}/CustomerAgreement/{agreement.entry_id}"
            if agreement.info is not None:
                related = self.children_link(agreement_path, "ServiceLocation", agreement.locations)
                content = _agreement(agreement.info)
                yield self.entry(
                    "CustomerAgreement", agreement, agreement_path, content, related + supplier_link
                )
            for location in agreement.locations:
                yield from self.location(
                    f"{agreement_path}/ServiceLocation/{location.entry_id}", location
                )

    def location(self, path: str, location: LocationNode) -> Iterator[CustomerEntry]:
        if location.info is not None:
            hrefs = [self.usage_point_href(point) for point in location.info.usage_point_ids]
            related = self.children_link(path, "Meter", location.meters)
            content = _location(location.info, hrefs)
            yield self.entry("ServiceLocation", location, path, content, related)
        for meter in location.meters:
            if meter.info is None:
                continue
            meter_link = []
            if meter.usage_point_id is not None:
                meter_link.append(
                    (self.usage_point_href(meter.usage_point_id), "espi-entry/UsagePoint")
                )
            meter_path = f"{path}/Meter/{meter.entry_id}"
            yield self.entry("Meter", meter, meter_path, _meter(meter.info), meter_link)


# -- resources (each in its customer.xsd xs:sequence order) ----------------------------------


def _link(parent: etree._Element, rel: str, href: str, kind: str) -> None:
    """An Atom ``link`` (RFC 4287 §4.2.7), always typed (the ESPI 3.3 atom.xsd wants it)."""
    etree.SubElement(parent, atom("link"), rel=rel, href=href, type=kind)


# XML 1.0 §2.2 Char: no C0 controls but tab, LF and CR; no surrogates, U+FFFE or U+FFFF.
_NOT_XML_CHAR: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _add(parent: etree._Element, local: str, value: str | int | None) -> None:
    """A ``cust:`` child holding ``value``; nothing when the value is unknown.

    A character XML cannot carry (a stray control character typed into a name) becomes
    U+FFFD: one odd character must not take a customer's whole feed down.
    """
    if value is not None:
        etree.SubElement(parent, cust(local)).text = _xml_safe(str(value))


def _xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 §2.2 forbids replaced by U+FFFD."""
    return _NOT_XML_CHAR.sub("\ufffd", text)


def _status(parent: etree._Element, local: str, value: str) -> None:
    """customer.xsd ``Status`` (value, dateTime, remark, reason): the value alone."""
    _add(etree.SubElement(parent, cust(local)), "value", value)


def _customer(info: CustomerInfo) -> etree._Element:
    """Customer: OrganisationRole's Organisation, then kind, status and customerName."""
    customer = etree.Element(cust("Customer"))
    if info.phone is not None or info.email is not None or info.business:
        organisation = etree.SubElement(customer, cust("Organisation"))
        if info.phone is not None:
            phone = etree.SubElement(organisation, cust("phone1"))
            _add(phone, "areaCode", info.phone.area_code)
            _add(phone, "localNumber", info.phone.local_number)
        if info.email is not None:
            _add(etree.SubElement(organisation, cust("electronicAddress")), "email1", info.email)
        if info.business:
            _add(organisation, "organisationName", info.name)
    _add(customer, "kind", "commercialIndustrial" if info.business else "residential")
    _status(customer, "status", info.status)
    _add(customer, "customerName", info.name)
    return customer


def _account(info: AccountInfo) -> etree._Element:
    """CustomerAccount: Document's type, createdDateTime, status; contactInfo, accountId."""
    account = etree.Element(cust("CustomerAccount"))
    _add(account, "type", info.account_class)
    _add(account, "createdDateTime", info.opened)
    _status(account, "status", info.status)
    if info.mailing_postal_code is not None:
        contact = etree.SubElement(account, cust("contactInfo"))
        postal = etree.SubElement(contact, cust("postalAddress"))
        _add(postal, "postalCode", info.mailing_postal_code)
    _add(account, "accountId", info.number)
    return account


def _agreement(info: AgreementInfo) -> etree._Element:
    """CustomerAgreement: title, status; signDate, validityInterval; PricingStructures, currency.

    A rate plan code becomes a PricingStructure (an ``xs:anyURI``) percent-encoded, so any
    code is a valid relative URI reference.
    """
    agreement = etree.Element(cust("CustomerAgreement"))
    _add(agreement, "title", info.title)
    _status(agreement, "status", info.status)
    _add(agreement, "signDate", info.signed)
    _add(etree.SubElement(agreement, cust("validityInterval")), "start", info.signed)
    for plan in info.rate_plans:
        _add(agreement, "PricingStructures", quote(_xml_safe(plan), safe=""))
    _add(agreement, "currency", info.currency)
    return agreement


def _address(parent: etree._Element, local: str, address: Address) -> None:
    """StreetAddress: streetDetail/addressGeneral, townDetail (name, state, country), postal."""
    element = etree.SubElement(parent, cust(local))
    if address.street is not None:
        _add(etree.SubElement(element, cust("streetDetail")), "addressGeneral", address.street)
    if any(part is not None for part in (address.city, address.state, address.country)):
        town = etree.SubElement(element, cust("townDetail"))
        _add(town, "name", address.city)
        _add(town, "stateOrProvince", address.state)
        _add(town, "country", address.country)
    _add(element, "postalCode", address.postal_code)


def _location(info: LocationInfo, usage_point_hrefs: Sequence[str]) -> etree._Element:
    """ServiceLocation: Location's mainAddress, then its UsagePoints (URIs)."""
    location = etree.Element(cust("ServiceLocation"))
    _address(location, "mainAddress", info.address)
    if usage_point_hrefs:
        points = etree.SubElement(location, cust("UsagePoints"))
        for href in usage_point_hrefs:
            _add(points, "UsagePoint", href)
    return location


def _meter(info: MeterInfo) -> etree._Element:
    """Meter: Asset's type, serialNumber, lifecycle (installation, removal) and status."""
    meter = etree.Element(cust("Meter"))
    _add(meter, "type", info.kind)
    _add(meter, "serialNumber", info.serial_number)
    if info.installed is not None or info.removed is not None:
        lifecycle = etree.SubElement(meter, cust("lifecycle"))
        _add(lifecycle, "installationDate", info.installed)
        _add(lifecycle, "removalDate", info.removed)
    _status(meter, "status", "removed" if info.removed is not None else "installed")
    return meter


def _supplier(info: SupplierInfo) -> etree._Element:
    """ServiceSupplier: Organisation (organisationName), then kind."""
    supplier = etree.Element(cust("ServiceSupplier"))
    _add(etree.SubElement(supplier, cust("Organisation")), "organisationName", info.name)
    _add(supplier, "kind", info.kind)
    return supplier


def _local_time(node: LocalTimeNode) -> etree._Element:
    """TimeConfiguration: dstEndRule, dstOffset, dstStartRule, tzOffset (rules as HexBinary32)."""
    params = node.params
    element = etree.Element(cust("LocalTimeParameters"))
    _add(element, "dstEndRule", f"{params.dst_end_rule:08X}")
    _add(element, "dstOffset", params.dst_offset)
    _add(element, "dstStartRule", f"{params.dst_start_rule:08X}")
    _add(element, "tzOffset", params.tz_offset)
    return element
