"""Energy attribute certificates and aggregations (CDS-WG3-01 §10.7, §10.9), read side.

Certificates are read only for the accounts a grant covers (and the utility-wide ones, which
name no account); aggregations are the utility's published groups and hold no customer data
beyond how many service points they group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from opencustodian.domain.catalog import AggregationFacts, CertificateFacts
from opencustodian.storage.models import Account, Aggregation, AggregationMember
from opencustodian.storage.models import EnergyAttributeCertificate as Certificate

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session


class SqlCdsCatalog:
    """Reads in the caller's session."""

    def __init__(self, session: Session) -> None:
        """Read through ``session``."""
        self._session = session

    def certificates(self, account_ids: Sequence[int]) -> list[CertificateFacts]:
        """Certificates of these accounts and the utility-wide ones, newest period first."""
        rows = self._session.execute(
            select(Certificate, Account.uuid)
            .outerjoin(Account, Account.id == Certificate.account_id)
            .where(
                or_(
                    Certificate.account_id.is_(None),
                    Certificate.account_id.in_(sorted(set(account_ids))),
                )
            )
            .order_by(Certificate.period_start.desc(), Certificate.id)
        ).all()
        return [
            CertificateFacts(
                row.uuid,
                account_uuid,
                row.beneficiary_type,
                tuple(row.eac_numbers),
                row.eac_format,
                row.eac_data_url,
                row.period_start,
                row.period_end,
                row.created_at,
                row.updated_at,
            )
            for row, account_uuid in rows
        ]

    def aggregations(self) -> list[AggregationFacts]:
        """Every aggregation with its member count."""
        members = (
            select(AggregationMember.aggregation_id, func.count().label("members"))
            .group_by(AggregationMember.aggregation_id)
            .subquery()
        )
        rows = self._session.execute(
            select(Aggregation, func.coalesce(members.c.members, 0))
            .outerjoin(members, members.c.aggregation_id == Aggregation.id)
            .order_by(Aggregation.id)
        ).all()
        return [
            AggregationFacts(
                row.uuid,
                row.aggregation_number,
                tuple(row.types),
                row.name,
                tuple(row.regions),
                tuple(row.consent_requirements),
                int(count),
                row.created_at,
                row.updated_at,
            )
            for row, count in rows
        ]
