"""What a signed-in customer sees of their own data: services held, meters, who read what.

Download My Data, the usage chart and the access log (seed 001, "The customer navigates to the
data"; issue 4 point 6) show a customer only the service points their open accounts hold
*today*, and of each only what was recorded since the current tenure began: earlier readings
were the previous occupant's and are never shown (the same rule the Connect My Data feeds keep).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uuid
    from datetime import date, datetime

    from opencustodian.domain.metering import Commodity


@dataclass(frozen=True, slots=True)
class ServicePointName:
    """A service point as a customer recognises it: what it delivers, and where."""

    uuid: uuid.UUID
    commodity: Commodity
    address: str

    @property
    def label(self) -> str:
        """``Electricity at 12 Main St, Springfield``."""
        return f"{self.commodity.value.capitalize()} at {self.address}"


@dataclass(frozen=True, slots=True)
class HeldServicePoint:
    """A service point one of the customer's open accounts holds today, and since when."""

    id: int
    name: ServicePointName
    net_metered: bool
    account_number: str
    #: The first day of the current tenure: readings before it were the previous occupant's.
    held_since: date

    @property
    def uuid(self) -> uuid.UUID:
        """The service point's public (ESPI UsagePoint) id."""
        return self.name.uuid

    @property
    def label(self) -> str:
        """What the customer calls this service point."""
        return self.name.label


@dataclass(frozen=True, slots=True)
class MeterFacts:
    """A meter installed at a service point, and when."""

    service_point_uuid: uuid.UUID
    meter_number: str
    installed_on: date
    removed_on: date | None


@dataclass(frozen=True, slots=True)
class DataReadEvent:
    """One audited third-party read of a customer's data (ESPI, CDS or ECIS data-read event)."""

    occurred_at: datetime
    third_party: str
    path: str
    usage_points: tuple[str, ...]
    #: Which API read: ``espi``, ``cds`` or ``ecis``.
    api: str = "espi"
    #: What an ECIS request asked (``basic``, ``invoice``, ``invoice_detail``), else None.
    request_type: str | None = None
