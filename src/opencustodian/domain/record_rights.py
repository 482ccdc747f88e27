"""Which kinds of customer records a grant opens, decided from its canonical data scope.

Every interface reads through the same ``DataScope`` (DESIGN "One canonical scope"): an ESPI
grant with usage blocks opens the CDS usage API as well, and a CDS grant opens the Green
Button feeds its scope names the blocks of. This module says which *record kinds* a scope
opens, in the function blocks' own terms (research/espi.md §11):

- accounts need Connect My Data for customers (53) and billing information (56); names,
  e-mail addresses and telephone numbers appear only with basic information (54), the
  mailing address only with address information (55);
- service contracts need the agreements block (57); service points the service locations
  block (58); meter devices the meters block (60);
- bill statements are amounts due, so they need usage summary with cost (16) as well as
  usage summaries (15); bill sections need 15, and show their charges only with 16;
- usage needs interval metering (4) and its commodity's block (``UsageRights`` decides
  channels and history); an energy attribute certificate is account information (56).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Final

from opencustodian.domain.scopes import FunctionBlock

if TYPE_CHECKING:
    from collections.abc import Iterable

    from opencustodian.domain.scopes import DataScope


class RecordKind(StrEnum):
    """A kind of customer record an API serves (plain words; the wire names live in protocols)."""

    ACCOUNTS = "accounts"
    SERVICE_CONTRACTS = "service contracts"
    SERVICE_POINTS = "service points"
    METERS = "meters"
    BILLS = "bills"
    BILL_SECTIONS = "bill sections"
    USAGE = "usage"
    CERTIFICATES = "energy attribute certificates"


_FB = FunctionBlock
#: The blocks each record kind needs, all of them.
REQUIRED_BLOCKS: Final[dict[RecordKind, frozenset[int]]] = {
    RecordKind.ACCOUNTS: frozenset(
        {_FB.CUSTOMER_CONNECT_MY_DATA, _FB.CUSTOMER_BILLING_INFORMATION}
    ),
    RecordKind.SERVICE_CONTRACTS: frozenset({_FB.CUSTOMER_AGREEMENTS}),
    RecordKind.SERVICE_POINTS: frozenset({_FB.CUSTOMER_SERVICE_LOCATIONS}),
    RecordKind.METERS: frozenset({_FB.CUSTOMER_METERS}),
    RecordKind.BILLS: frozenset({_FB.USAGE_SUMMARY, _FB.USAGE_SUMMARY_WITH_COST}),
    RecordKind.BILL_SECTIONS: frozenset({_FB.USAGE_SUMMARY}),
    RecordKind.USAGE: frozenset({_FB.INTERVAL_METERING}),
    RecordKind.CERTIFICATES: frozenset({_FB.CUSTOMER_BILLING_INFORMATION}),
}


def granted_blocks(scopes: Iterable[DataScope]) -> frozenset[int]:
    """Every function block any of ``scopes`` names."""
    return frozenset[int]().union(*(scope.function_blocks for scope in scopes))


def readable_kinds(scopes: Iterable[DataScope]) -> frozenset[RecordKind]:
    """The record kinds ``scopes`` open together (a kind may need blocks of two scopes)."""
    blocks = granted_blocks(scopes)
    return frozenset(kind for kind, needed in REQUIRED_BLOCKS.items() if needed <= blocks)


class PersonalDetail(StrEnum):
    """Identifying details shown only with their own block."""

    NAME_AND_CONTACTS = "name and contacts"
    MAILING_ADDRESS = "mailing address"
    AMOUNTS = "amounts"


_DETAIL_BLOCKS: Final[dict[PersonalDetail, int]] = {
    PersonalDetail.NAME_AND_CONTACTS: _FB.CUSTOMER_BASIC_INFORMATION,
    PersonalDetail.MAILING_ADDRESS: _FB.CUSTOMER_ADDRESS,
    PersonalDetail.AMOUNTS: _FB.USAGE_SUMMARY_WITH_COST,
}


def shown_details(scopes: Iterable[DataScope]) -> frozenset[PersonalDetail]:
    """The identifying details ``scopes`` allow on the records they open."""
    blocks = granted_blocks(scopes)
    return frozenset(detail for detail, block in _DETAIL_BLOCKS.items() if block in blocks)
