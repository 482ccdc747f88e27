"""Energy attribute certificates and aggregations, as the custodian publishes them.

Certificates (CDS-WG3-01 §10.9) are retired for an account or, naming none, for every
customer (the utility's own supply); aggregations (§10.7) are published groups of service
points — a building, a rate plan — that hold no customer data beyond their size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """A certificate retired on a customer's (or every customer's) behalf."""

    uuid: UUID
    account_uuid: UUID | None
    beneficiary_type: str
    eac_numbers: tuple[str, ...]
    eac_format: str
    eac_data_url: str
    period_start: datetime
    period_end: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AggregationFacts:
    """A published aggregation and how many service points it groups."""

    uuid: UUID
    number: str | None
    types: tuple[str, ...]
    name: str
    regions: tuple[dict[str, Any], ...]
    consent_requirements: tuple[dict[str, Any], ...]
    members: int
    created_at: datetime
    updated_at: datetime
