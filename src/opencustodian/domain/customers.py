"""Retail customers, accounts, service locations and who held which service point when.

Glossary: *retail customer* is the person or business who logs in (ESPI RetailCustomer, CDS
customer); an *account* is their billing relationship (ESPI CustomerAccount, CDS Account).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date


class AccountClass(StrEnum):
    """Customer class, which decides metering and tariffs."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"


class AccountStatus(StrEnum):
    """Whether an account is being served."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Occupancy:
    """An account's tenure at a service point: move-in inclusive, move-out exclusive."""

    move_in: date
    move_out: date | None = None

    def covers(self, day: date) -> bool:
        """Whether the account held the service point on ``day``."""
        return self.move_in <= day and (self.move_out is None or day < self.move_out)


def normalize_zip(zip_code: str) -> str:
    """The five-digit ZIP used for identity checks (``12345-6789`` → ``12345``)."""
    return zip_code.strip().split("-", 1)[0][:5]
