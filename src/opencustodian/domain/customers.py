"""Retail customers, accounts, service locations and who held which service point when.

Glossary: *retail customer* is the person or business who logs in (ESPI RetailCustomer, CDS
customer); an *account* is their billing relationship (ESPI CustomerAccount, CDS Account).
"""

from __future__ import annotations

from enum import StrEnum


class AccountClass(StrEnum):
    """Customer class, which decides metering and tariffs."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"


class AccountStatus(StrEnum):
    """Whether an account is being served."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
