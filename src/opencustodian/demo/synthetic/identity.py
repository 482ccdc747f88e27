"""Fictional identities and utility identifiers, derived from a customer's index.

Identifiers encode the customer index, so they are unique without a lookup and the same
customer always gets the same ones: 10-digit account numbers with a Luhn check digit,
Texas-style 18-digit ESIIDs (``10443720000`` + 7 digits) and meter numbers. Phones use the
fictional 555-01xx block; e-mail addresses use the reserved ``example.com`` domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from opencustodian.demo.synthetic import names

if TYPE_CHECKING:
    import random

MAX_CUSTOMERS = 999_999  # the ESIID keeps six digits for the customer index
ESIID_PREFIX = "10443720000"
_APARTMENT_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class Person:
    """A retail customer's login and contact details."""

    username: str
    first_name: str
    last_name: str
    email: str
    phone: str
    business_name: str | None = None

    @property
    def is_business(self) -> bool:
        """Whether the customer is a business (its contact person holds the login)."""
        return self.business_name is not None


@dataclass(frozen=True, slots=True)
class Address:
    """A premises address in the fictional territory."""

    street: str
    city: str
    state: str
    zip_code: str


def username(index: int, *, former: bool = False) -> str:
    """``customer0001`` for customer 1; a former tenant of the premises gets ``-prev``."""
    return f"customer{index:04d}" + ("-prev" if former else "")


#: Every tenth customer of record never registered for the portal (seed 003 FR 6): they can
#: still share data through an emailed Energy Data Agreement, then register.
UNREGISTERED_EVERY = 10


def registers(index: int) -> bool:
    """Whether customer ``index`` has a portal login (``customer0010``, ``…0020`` have none)."""
    return index % UNREGISTERED_EVERY != 0


def draw_person(rng: random.Random, login: str, *, business: bool) -> Person:
    """A fictional person (and business name) for ``login``."""
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    business_name = (
        f"{rng.choice(names.BUSINESS_WORDS)} {rng.choice(names.BUSINESS_KINDS)}"
        if business
        else None
    )
    local_part = f"{first}.{last}.{login}".lower().replace("'", "")
    phone = f"{rng.choice(names.AREA_CODES)}-555-01{rng.randrange(100):02d}"
    return Person(login, first, last, f"{local_part}@example.com", phone, business_name)


def draw_address(rng: random.Random, state: str, *, business: bool) -> Address:
    """A fictional street address in one of the territory's towns."""
    town, zip_code = rng.choice(names.TOWNS)
    if business:
        street = f"{rng.randint(1, 400)} {rng.choice(names.COMMERCIAL_STREETS)}"
    else:
        street = (
            f"{rng.randint(1, 999)} {rng.choice(names.STREET_NAMES)} "
            f"{rng.choice(names.STREET_SUFFIXES)}"
        )
        apartment = f"Apt {rng.randint(1, 6)}{'ABCD'[rng.randrange(4)]}"
        if rng.random() < _APARTMENT_SHARE:
            street = f"{street}, {apartment}"
    return Address(street, town, state, zip_code)


def account_number(index: int, holder: int) -> str:
    """A 10-digit account number: ``4``, the index, the holder (0 former, 1 current), check."""
    body = f"4{index:07d}{holder}"
    return body + str(luhn_check_digit(body))


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit that makes ``digits`` + it pass the mod-10 check (catches typos)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value  # noqa: PLR2004 - Luhn's digit sum
    return (10 - total % 10) % 10


def esiid(index: int, service: int) -> str:
    """An 18-digit ESIID: the utility prefix, the customer index and the service number."""
    return f"{ESIID_PREFIX}{index:06d}{service}"


def meter_number(index: int, service: int, *, electric: bool) -> str:
    """A meter number: ``E`` or ``G``, the customer index and the service number."""
    return f"{'E' if electric else 'G'}{index:07d}{service}"
