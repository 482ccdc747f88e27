"""The bills a grant shows, with their sections and charges, in three queries.

A grant shows a bill when (all of them):

- its service point is one of the grant's *live* points (``AccessRecord.held_since``: still
  held today by the open account it was shared from);
- it was billed to that very account (``grant_service_points.account_id``): the previous or
  next occupant's bills at the same premises are theirs;
- its period ends after the first day of the account's current tenure of the point
  (an earlier tenure of the same account is over, and what lay between was someone else's).

One query reads the bills with their account's number and id (``bills`` joined to the grant's
rows through their primary key, then the ``bills`` unique index on account, service point and
period start); the sections and the line items are each one query filtered by the same bill
selection as a subquery (their ``bill_id``/``section_id`` indexes), so a grant with years of
history costs three round trips, never one per bill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

from opencustodian.domain.statements import BillRecord, ChargeRecord, SectionRecord
from opencustodian.storage.models import (
    Account,
    Bill,
    BillLineItem,
    BillSection,
    GrantServicePoint,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Sequence
    from datetime import date

    from sqlalchemy import ColumnElement, ScalarSelect, Select
    from sqlalchemy.orm import Session


class SqlStatementStore:
    """Bills for grants over one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    def bills_for_grant(
        self, grant_id: int, held_since: Sequence[tuple[int, date]]
    ) -> list[BillRecord]:
        """The grant's bills (see the module docstring), with sections and charges.

        Ordered newest issue day first, then account number, service point and period start
        (the order ``domain.statements.statements`` groups them in).
        """
        if not held_since:
            return []
        chosen = self._chosen(grant_id, held_since)
        heads = self._session.execute(
            chosen.add_columns(Bill, Account.uuid, Account.account_number)
            .join(Account, Account.id == Bill.account_id)
            .order_by(
                Bill.issued_on.desc(),
                Account.account_number,
                Bill.service_point_id,
                Bill.period_start,
            )
        ).all()
        if not heads:
            return []
        bill_ids = chosen.add_columns(Bill.id).scalar_subquery()
        sections = self._sections(bill_ids)
        return [
            _bill_record(bill, account_uuid, number, sections.get(bill.id, ()))
            for bill, account_uuid, number in heads
        ]

    def _chosen(self, grant_id: int, held_since: Sequence[tuple[int, date]]) -> Select[tuple[()]]:
        """The selection of the grant's bills, without columns (each query adds its own)."""
        return (
            select()
            .select_from(GrantServicePoint)
            .join(
                Bill,
                and_(
                    Bill.account_id == GrantServicePoint.account_id,
                    Bill.service_point_id == GrantServicePoint.service_point_id,
                ),
            )
            .where(GrantServicePoint.grant_id == grant_id, _tenures(held_since))
        )

    def _sections(self, bill_ids: ScalarSelect[int]) -> dict[int, tuple[SectionRecord, ...]]:
        """The sections (with charges) of the chosen bills, by bill id, in bill order."""
        rows = self._session.execute(
            select(BillSection)
            .where(BillSection.bill_id.in_(bill_ids))
            .order_by(BillSection.bill_id, BillSection.position)
        ).scalars()
        section_rows = list(rows)
        charges = self._charges(bill_ids)
        sections: dict[int, list[SectionRecord]] = {}
        for section in section_rows:
            sections.setdefault(section.bill_id, []).append(
                SectionRecord(
                    id=section.id,
                    position=section.position,
                    kind=section.kind,
                    title=section.title,
                    charges=tuple(charges.get(section.id, ())),
                )
            )
        return {bill_id: tuple(items) for bill_id, items in sections.items()}

    def _charges(self, bill_ids: ScalarSelect[int]) -> dict[int, list[ChargeRecord]]:
        """The line items of the chosen bills' sections, by section id, in section order."""
        rows = self._session.execute(
            select(BillLineItem)
            .join(BillSection, BillSection.id == BillLineItem.section_id)
            .where(BillSection.bill_id.in_(bill_ids))
            .order_by(BillLineItem.section_id, BillLineItem.position)
        ).scalars()
        charges: dict[int, list[ChargeRecord]] = {}
        for item in rows:
            charges.setdefault(item.section_id, []).append(
                ChargeRecord(
                    id=item.id,
                    position=item.position,
                    description=item.description,
                    category=item.category,
                    amount=item.amount,
                    quantity=item.quantity,
                    unit=item.unit,
                    rate=item.rate,
                )
            )
        return charges


def _tenures(held_since: Sequence[tuple[int, date]]) -> ColumnElement[bool]:
    """Bills of the live points whose period ends after the point's current tenure began."""
    return or_(
        *(
            and_(Bill.service_point_id == point, Bill.period_end > since)
            for point, since in held_since
        )
    )


def _bill_record(
    bill: Bill, account_uuid: uuid.UUID, number: str, sections: tuple[SectionRecord, ...]
) -> BillRecord:
    return BillRecord(
        id=bill.id,
        uuid=bill.uuid,
        account_id=bill.account_id,
        account_uuid=account_uuid,
        account_number=number,
        service_point_id=bill.service_point_id,
        period_start=bill.period_start,
        period_end=bill.period_end,
        issued_on=bill.issued_on,
        due_on=bill.due_on,
        paid_on=bill.paid_on,
        rate_plan=bill.rate_plan,
        usage=bill.usage,
        usage_unit=bill.usage_unit,
        total=bill.total,
        currency=bill.currency,
        created_at=bill.created_at,
        updated_at=bill.updated_at,
        sections=sections,
    )
