"""Account changes that end data sharing: move-out and account closure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from opencustodian.storage.models import Account, AccountServicePoint

if TYPE_CHECKING:
    from datetime import date

    from sqlalchemy.orm import Session


class SqlAccountStore:
    """Account tenure and status over one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    def account_id(self, account_number: str) -> int | None:
        """The id of the account with this number."""
        return self._session.scalar(
            select(Account.id).where(Account.account_number == account_number)
        )

    def end_tenure(self, account_id: int, day: date) -> int:
        """Move the account out of every service point it holds on ``day``; returns how many."""
        result = self._session.execute(
            update(AccountServicePoint)
            .where(
                AccountServicePoint.account_id == account_id,
                AccountServicePoint.move_in < day,
                (AccountServicePoint.move_out.is_(None)) | (AccountServicePoint.move_out > day),
            )
            .values(move_out=day)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def close(self, account_id: int, day: date) -> None:
        """Mark the account closed on ``day``."""
        account = self._session.get(Account, account_id)
        if account is not None:
            account.status = "closed"
            account.closed_on = day
