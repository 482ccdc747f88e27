"""Move-out and account closure: the customer's grants for those service points end at once.

Seed 001 / issue #3 §4: a grant covers service points *as held by the account they were
shared from*; when the account leaves them (move-out) or closes, the grant ends, the third
party is notified, and — because the access check looks at tenure on every call — no request
after the change can read the next occupant's data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencustodian.domain.consent import EndReason

if TYPE_CHECKING:
    from datetime import date, datetime

    from opencustodian.domain.consent import EndedGrant
    from opencustodian.domain.ports import AccountStore
    from opencustodian.services.consent import GrantLifecycle


class UnknownAccountError(LookupError):
    """No account has the given number."""


def record_move_out(
    accounts: AccountStore,
    lifecycle: GrantLifecycle,
    account_number: str,
    *,
    day: date,
    now: datetime,
) -> list[EndedGrant]:
    """End the account's tenure of its service points on ``day`` and the grants sharing them."""
    account = _account(accounts, account_number)
    accounts.end_tenure(account, day)
    return lifecycle.end_for_accounts([account], EndReason.MOVE_OUT, now, actor="utility")


def close_account(
    accounts: AccountStore,
    lifecycle: GrantLifecycle,
    account_number: str,
    *,
    day: date,
    now: datetime,
) -> list[EndedGrant]:
    """Close the account on ``day``; its grants end (account closure)."""
    account = _account(accounts, account_number)
    accounts.end_tenure(account, day)
    accounts.close(account, day)
    return lifecycle.end_for_accounts([account], EndReason.ACCOUNT_CLOSED, now, actor="utility")


def _account(accounts: AccountStore, account_number: str) -> int:
    account = accounts.account_id(account_number)
    if account is None:
        msg = f"no account {account_number!r}"
        raise UnknownAccountError(msg)
    return account
