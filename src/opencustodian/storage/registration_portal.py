"""A customer of record registering for the portal (seed 003 FR 6, FR 15).

The utility already knows every customer of record (they have accounts, meters and bills); a
customer who never registered has no login (``RetailCustomer.username`` is None). Registering
does not create a customer: it proves the registrant *holds an account* and attaches a login
to that account's customer.

The proof is three things the holder has and a stranger does not have together: the ESIID and
the meter number (printed on the bill and on the meter) must be held today by an open account,
and that account's **billing ZIP code** — the mailing address the bill goes to, not the
premises address a passer-by can read off the house — must match. It is the same proof the
sign-in page accepts with an account number (``web.pages.sign_in``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.storage.models import Account, RetailCustomer

if TYPE_CHECKING:
    from datetime import date

    from sqlalchemy.orm import Session

#: ZIP codes compare on their five-digit part (ZIP+4 on the bill or in the form is optional).
ZIP_DIGITS = 5


class RegistrationRefusedError(ValueError):
    """The registration cannot go ahead; ``message`` is what the registrant is shown.

    ``conflict`` marks refusals about the state of the records (already registered, user id
    taken: HTTP 409) as opposed to details that do not match (HTTP 400).
    """

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.conflict = conflict


#: Deliberately one message for "no such pair", "account closed" and "wrong ZIP": a registrant
#: must not learn which of the three facts they got right.
NOT_MATCHED = (
    "The ESIID, meter number and billing ZIP code do not match an open account in our "
    "records. Copy them from your latest bill."
)
ALREADY_REGISTERED = (
    "This account's customer is already registered. Sign in, or reset your password with "
    "the utility."
)
USERNAME_TAKEN = "That user ID is taken: choose another one."


@dataclass(frozen=True, slots=True)
class NewLogin:
    """A validated registration: the account proof and what the login will hold."""

    esiid: str
    meter_number: str
    billing_zip: str
    username: str
    password_hash: str
    email: str
    phone: str
    #: ``None`` leaves the stored preference as it is (the business page does not ask, FR 1).
    language: str | None


def agreement_customer_registered(session: Session, number: str) -> bool | None:
    """Whether the customer an agreement names has a login *now* (None: no such agreement).

    The agreement's own ``customer_registered`` says what was true when it was initiated;
    the confirmation page (FR 6) must follow the customer's state today.
    """
    state = SqlAgreementStore(session).state_by_number(number)
    if state is None:
        return None
    person = session.get(RetailCustomer, state.customer_id)
    return person is not None and person.registered


def agreement_account(session: Session, number: str) -> int | None:
    """The account an agreement was initiated against (None: no such agreement)."""
    state = SqlAgreementStore(session).state_by_number(number)
    return None if state is None else state.account_id


def register_login(session: Session, login: NewLogin, today: date) -> int:
    """Attach ``login`` to the customer holding the account it proves; the customer's id.

    Checks in this order, writing nothing when one fails: the account proof (400, one message
    for every mismatch), the customer not registered yet (409), the user ID free (409). The
    final update is conditional on ``username IS NULL`` so two registrations racing for one
    customer cannot both win; the user ID's unique index settles a race for one user ID (the
    caller turns that ``IntegrityError`` at commit into ``USERNAME_TAKEN``).
    """
    holder = SqlAgreementStore(session).meter_holder(login.esiid, login.meter_number, today)
    if holder is None:
        raise RegistrationRefusedError(NOT_MATCHED)
    account = session.get(Account, holder.account_id)
    if account is None or not _same_zip(account.billing_zip, login.billing_zip):
        raise RegistrationRefusedError(NOT_MATCHED)
    if holder.registered:
        raise RegistrationRefusedError(ALREADY_REGISTERED, conflict=True)
    if username_taken(session, login.username):
        raise RegistrationRefusedError(USERNAME_TAKEN, conflict=True)
    values: dict[str, object] = {
        "username": login.username,
        "password_hash": login.password_hash,
        "email": login.email,
        "phone": login.phone or None,
    }
    if login.language is not None:
        values["language"] = login.language
    result = session.execute(
        update(RetailCustomer)
        .where(RetailCustomer.id == holder.customer_id, RetailCustomer.username.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise RegistrationRefusedError(ALREADY_REGISTERED, conflict=True)
    return holder.customer_id


def username_taken(session: Session, username: str) -> bool:
    """Whether a login already uses ``username``, ignoring case.

    Sign-in matches user IDs exactly, but two customers ``Chika`` and ``chika`` would be one
    typo away from each other's sign-in page, so a user ID differing only in case is taken.
    """
    found = session.scalar(
        select(RetailCustomer.id).where(func.lower(RetailCustomer.username) == username.lower())
    )
    return found is not None


def _same_zip(on_file: str, given: str) -> bool:
    return on_file.strip()[:ZIP_DIGITS] == given.strip()[:ZIP_DIGITS]
