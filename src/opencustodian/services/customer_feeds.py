"""Connect My Data retail-customer feeds: what a grant shows of its customer (customer.xsd).

``plan_customer_feed`` runs after ``services.access.check_bearer`` accepted the token. The
token's scope decides what goes in (``domain.customer_facts.customer_rights``): without FB 53
nothing (``AccessDeniedError``, 403 ``insufficient_scope``); otherwise each resource only
when its own block is granted — Customer 54 (its mailing ZIP on the accounts also needs 55),
CustomerAccount 56, CustomerAgreement 57, ServiceLocation 58, ServiceSupplier 59, Meter 60.
The storage port reads only what the grant covers (the customer, the accounts its live
service points were shared from, their locations and current meters).

The data model has no agreement table: a service agreement is an account's supply at one
location, covering the grant's service points there (its rate plans are their tariffs and
it was signed when the tenure began). Ids are UUID v5 of the rows' own ids, so the same
account or meter has the same id in every feed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from opencustodian.domain.customer_facts import CustomerPart, CustomerRights, customer_rights
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import from_epoch, local_midnight, to_epoch
from opencustodian.protocols.espi.customer_feed import (
    AccountInfo,
    AccountNode,
    Address,
    AgreementInfo,
    AgreementNode,
    CustomerEntry,
    CustomerFeedMeta,
    CustomerInfo,
    CustomerNode,
    LocationInfo,
    LocationNode,
    MeterInfo,
    MeterNode,
    SupplierInfo,
    SupplierNode,
    Telephone,
    customer_entries,
)
from opencustodian.protocols.espi.uris import resource_root
from opencustodian.protocols.scopes import grant_scopes
from opencustodian.services.access import AccessDeniedError
from opencustodian.services.usage_feeds import ISO_CURRENCIES, local_time_node

if TYPE_CHECKING:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.consent import AccessRecord
    from opencustodian.domain.customer_facts import (
        AccountFacts,
        CustomerFacts,
        CustomerRecord,
        HeldPointFacts,
        LocationFacts,
        MeterFacts,
    )
    from opencustodian.domain.ports import CustomerReader

#: ``212-555-0101``, ``(212) 555-0101``, ``212.555.0101``: North American numbers, split.
_NANP: Final = re.compile(r"\(?(\d{3})\)?[-. ]?(\d{3}[-. ]?\d{4})")


@dataclass(frozen=True, slots=True)
class CustomerFeedSettings:
    """The custodian's side of every retail-customer feed."""

    base_url: str
    zone: ZoneInfo
    supplier_name: str  # the utility, as ServiceSupplier (FB 59)
    currency: str  # ISO 4217 letters of the agreements' currency
    certification_href: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerFeedPlan:
    """The feed's metadata and every entry the grant may see, in tree order."""

    meta: CustomerFeedMeta
    entries: list[CustomerEntry]


def rights_of(record: AccessRecord) -> CustomerRights:
    """What the token's scope releases; raises ``AccessDeniedError`` (403) without FB 53.

    An unparsable stored scope releases nothing.
    """
    blocks = [block for scope in grant_scopes(record.scope) for block in scope.function_blocks]
    rights = customer_rights(blocks)
    if rights is None:
        description = "retail customer data needs function block 53 in the authorization's scope"
        code = "insufficient_scope"
        raise AccessDeniedError(code, description, 403)
    return rights


def plan_customer_feed(
    reader: CustomerReader,
    record: AccessRecord,
    settings: CustomerFeedSettings,
    *,
    now: datetime,
    self_href: str,
) -> CustomerFeedPlan:
    """The ``Batch/RetailCustomer/{subscription}`` feed of the token's grant."""
    rights = rights_of(record)
    customer_id = record.retail_customer_id
    if customer_id is None:  # a third party's own (client) grant has no customer behind it
        code, description = "insufficient_scope", "retail customer data needs a customer token"
        raise AccessDeniedError(code, description, 403)
    facts = reader.customer_record(record.grant_id, customer_id, record.held_since)
    meta = CustomerFeedMeta(
        feed_id=stable_uuid("customer-feed", record.subscription_uuid, self_href),
        title="Green Button Retail Customer Feed",
        self_href=self_href,
        updated=now,
        resource_root=resource_root(settings.base_url),
        retail_customer_id=record.subscription_uuid,
        subscription_id=record.subscription_uuid,
        certification_href=settings.certification_href,
    )
    builder = _TreeBuilder(rights, settings, facts)
    supplier = (
        SupplierNode(
            stable_uuid("ServiceSupplier", settings.supplier_name),
            now,
            SupplierInfo(settings.supplier_name),
        )
        if rights.allows(CustomerPart.SUPPLIER)
        else None
    )
    entries = customer_entries(
        meta,
        local_time_node(settings.zone, now),
        supplier,
        builder.customer(facts.customer, record.subscription_uuid),
    )
    return CustomerFeedPlan(meta, entries)


def telephone(number: str) -> Telephone:
    """A stored telephone number, split into area code and local number when it is NANP."""
    match = _NANP.fullmatch(number.strip())
    if match is None:
        return Telephone(number.strip())
    return Telephone(match.group(2), area_code=match.group(1))


@dataclass(frozen=True, slots=True)
class _TreeBuilder:
    """Turns a grant's customer record into the writer's tree, block by block."""

    rights: CustomerRights
    settings: CustomerFeedSettings
    facts: CustomerRecord

    def shows(self, part: CustomerPart) -> bool:
        return self.rights.allows(part)

    def epoch(self, day: date) -> int:
        return to_epoch(self.midnight(day))

    def midnight(self, day: date) -> datetime:
        return local_midnight(day, self.settings.zone)

    def customer(self, facts: CustomerFacts | None, subscription_uuid: str) -> CustomerNode:
        accounts = [self.account(account) for account in self.facts.accounts]
        if facts is None:  # the customer row is gone: place the accounts, show no one
            return CustomerNode(
                stable_uuid("Customer", subscription_uuid), from_epoch(0), None, accounts
            )
        info = None
        if self.shows(CustomerPart.CONTACT):
            info = CustomerInfo(
                name=f"{facts.first_name} {facts.last_name}".strip(),
                business=facts.is_business,
                email=facts.email or None,
                phone=telephone(facts.phone) if facts.phone else None,
            )
        return CustomerNode(stable_uuid("Customer", facts.uuid), facts.created_at, info, accounts)

    def account(self, account: AccountFacts) -> AccountNode:
        info = None
        if self.shows(CustomerPart.ACCOUNTS):
            mailing = account.billing_zip if self.shows(CustomerPart.MAILING_ADDRESS) else None
            info = AccountInfo(
                number=account.number,
                account_class=account.account_class.value,
                opened=self.epoch(account.opened_on),
                mailing_postal_code=mailing,
            )
        by_location: dict[int | None, list[HeldPointFacts]] = defaultdict(list)
        for point in self.facts.service_points:
            if point.account_id == account.id:
                by_location[point.location_id].append(point)
        locations = {location.id: location for location in self.facts.locations}
        agreements = [
            self.agreement(
                account,
                locations.get(location_id) if location_id is not None else None,
                points,
            )
            for location_id, points in by_location.items()
        ]
        return AccountNode(
            stable_uuid("CustomerAccount", account.uuid),
            self.midnight(account.opened_on),
            info,
            agreements,
        )

    def agreement(
        self,
        account: AccountFacts,
        location: LocationFacts | None,
        points: list[HeldPointFacts],
    ) -> AgreementNode:
        began = min(point.held_since for point in points)
        location_key = location.uuid if location is not None else "no-location"
        info = None
        if self.shows(CustomerPart.AGREEMENTS):
            commodities = sorted({point.commodity.value for point in points})
            info = AgreementInfo(
                title=f"Service agreement: {' and '.join(commodities)}",
                signed=self.epoch(began),
                rate_plans=tuple(sorted({p.rate_plan for p in points if p.rate_plan})),
                currency=ISO_CURRENCIES.get(self.settings.currency),
            )
        locations = [] if location is None else [self.location(account, location, points)]
        return AgreementNode(
            stable_uuid("CustomerAgreement", account.uuid, location_key),
            self.midnight(began),
            info,
            locations,
        )

    def location(
        self, account: AccountFacts, location: LocationFacts, points: list[HeldPointFacts]
    ) -> LocationNode:
        info = None
        if self.shows(CustomerPart.SERVICE_LOCATIONS):
            address = Address(
                street=location.street,
                city=location.city,
                state=location.state,
                postal_code=location.zip_code,
                country="US",
            )
            info = LocationInfo(address, tuple(point.uuid for point in points))
        held = {point.id: point for point in points}
        meters = [
            self.meter(meter, held[meter.service_point_id])
            for meter in self.facts.meters
            if meter.service_point_id in held
        ]
        began = min(point.held_since for point in points)
        # One location may be served under two accounts: the id names both.
        return LocationNode(
            stable_uuid("ServiceLocation", location.uuid, account.uuid),
            self.midnight(began),
            info,
            meters,
        )

    def meter(self, meter: MeterFacts, point: HeldPointFacts) -> MeterNode:
        info = None
        if self.shows(CustomerPart.METERS):
            info = MeterInfo(
                serial_number=meter.number,
                kind=f"{point.commodity.value} meter",
                installed=self.epoch(meter.installed_on),
                removed=self.epoch(meter.removed_on) if meter.removed_on else None,
            )
        return MeterNode(
            stable_uuid("Meter", meter.uuid), self.midnight(meter.installed_on), info, point.uuid
        )
