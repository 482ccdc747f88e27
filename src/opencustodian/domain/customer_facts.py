"""What a customer grant may show of the customer behind it, and which blocks show what.

The facts are the ones a Connect My Data grant covers (research/espi.md §2.4): the grant's
customer, the accounts the shared service points were shared from (while those accounts still
hold them), those service points, their service locations and the meters installed there
during the customer's tenure. Nothing of another customer, nor of a previous occupant's meters,
is ever read for a grant.

Which of them a third party sees is decided by the grant's function blocks (NAESB REQ.21
§REQ.21.4.2.1.3.1; research/espi.md §11, and §6 for the gating the reference implementation
applies): nothing at all without FB 53 (Connect My Data, Retail Customer); then each kind of
resource only with its own block — 54 the customer's name and contact details, 55 their
mailing address, 56 accounts, 57 service agreements, 58 service locations, 59 the service
supplier, 60 meters. FB 61 (end devices) and FB 62 (program date mappings) show nothing here
because the data model holds no such data.

Glossary (wire names stay in ``protocols``): customer ↔ ESPI Customer, account ↔
CustomerAccount, service agreement ↔ CustomerAgreement, service location ↔ ServiceLocation,
supplier ↔ ServiceSupplier.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import date, datetime

    from opencustodian.domain.customers import AccountClass
    from opencustodian.domain.metering import Commodity

#: FB 53: Connect My Data (Retail Customer); without it no customer data is shared at all.
CUSTOMER_CONNECT_MY_DATA: Final = 53


class CustomerPart(StrEnum):
    """A kind of customer information a function block releases."""

    CONTACT = "contact"  # name, email, telephone
    MAILING_ADDRESS = "mailing_address"
    ACCOUNTS = "accounts"
    AGREEMENTS = "agreements"
    SERVICE_LOCATIONS = "service_locations"
    SUPPLIER = "supplier"
    METERS = "meters"


#: The block releasing each part (research/espi.md §11, FB 54–60).
PART_BLOCKS: Final[dict[CustomerPart, int]] = {
    CustomerPart.CONTACT: 54,
    CustomerPart.MAILING_ADDRESS: 55,
    CustomerPart.ACCOUNTS: 56,
    CustomerPart.AGREEMENTS: 57,
    CustomerPart.SERVICE_LOCATIONS: 58,
    CustomerPart.SUPPLIER: 59,
    CustomerPart.METERS: 60,
}


@dataclass(frozen=True, slots=True)
class CustomerRights:
    """The parts of the customer's information one grant releases."""

    parts: frozenset[CustomerPart]

    def allows(self, part: CustomerPart) -> bool:
        """Whether ``part`` may be shown."""
        return part in self.parts


def customer_rights(blocks: Iterable[int]) -> CustomerRights | None:
    """What the function blocks release; None when FB 53 is missing (nothing may be read)."""
    granted = frozenset(blocks)
    if CUSTOMER_CONNECT_MY_DATA not in granted:
        return None
    return CustomerRights(
        frozenset(part for part, block in PART_BLOCKS.items() if block in granted)
    )


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """The person or business who granted access."""

    uuid: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str | None
    is_business: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """An account a shared service point was shared from."""

    id: int
    uuid: uuid.UUID
    number: str
    account_class: AccountClass
    billing_zip: str
    opened_on: date
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class HeldPointFacts:
    """A shared service point, the account holding it and since when (its tenure's start)."""

    id: int
    uuid: uuid.UUID
    account_id: int
    location_id: int | None
    commodity: Commodity
    rate_plan: str | None
    held_since: date
    esiid: str | None
    net_metered: bool
    meter_category: str
    created_at: datetime
    updated_at: datetime
    #: When the tenure (the account holding the point since ``held_since``) was recorded.
    tenure_created_at: datetime
    tenure_updated_at: datetime


@dataclass(frozen=True, slots=True)
class LocationFacts:
    """A premises address where shared service points are."""

    id: int
    uuid: uuid.UUID
    street: str
    city: str
    state: str
    zip_code: str


@dataclass(frozen=True, slots=True)
class MeterFacts:
    """A meter of a shared service point, installed during the current tenure or still there."""

    uuid: uuid.UUID
    service_point_id: int
    number: str
    installed_on: date
    removed_on: date | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """Everything a grant covers of its customer (module docstring), in a stable order."""

    customer: CustomerFacts | None
    accounts: tuple[AccountFacts, ...]
    service_points: tuple[HeldPointFacts, ...]
    locations: tuple[LocationFacts, ...]
    meters: tuple[MeterFacts, ...]
