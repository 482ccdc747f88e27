"""Grants: a customer's consent to share data with one third party, and how it ends.

Glossary: a *grant* is ESPI's Authorization (with its Subscription) and CDS's grant. It starts
*pending* when the customer accepts on the consent page, becomes *active* when the third party
trades the authorization code for tokens (seed 000 §3.1: the token call "activates the
authorization record"), and ends by revocation, by expiry, or when its service points leave
the account (move-out, account closure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from opencustodian.kit.time import require_aware


class GrantStatus(StrEnum):
    """Where a grant stands; only ``active`` grants let data flow."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    ENDED = "ended"

    @property
    def is_final(self) -> bool:
        """Whether the grant can never be used again."""
        return self in {GrantStatus.REVOKED, GrantStatus.EXPIRED, GrantStatus.ENDED}


class GrantKind(StrEnum):
    """Who a grant's tokens act for: one customer, or the third party itself (bulk)."""

    CUSTOMER = "customer"
    CLIENT = "client"


class EndReason(StrEnum):
    """Why a grant stopped; each maps to the status it leaves behind."""

    CUSTOMER_REVOKED = "customer_revoked"
    THIRD_PARTY_REVOKED = "third_party_revoked"
    ADMIN_REVOKED = "admin_revoked"
    EXPIRED = "expired"
    MOVE_OUT = "move_out"
    ACCOUNT_CLOSED = "account_closed"
    CODE_REUSED = "code_reused"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"  # noqa: S105 - a reason, not a secret

    @property
    def status(self) -> GrantStatus:
        """The final status a grant ends in for this reason."""
        if self is EndReason.EXPIRED:
            return GrantStatus.EXPIRED
        if self in {EndReason.MOVE_OUT, EndReason.ACCOUNT_CLOSED}:
            return GrantStatus.ENDED
        return GrantStatus.REVOKED

    @property
    def sentence(self) -> str:
        """Plain words for customers and third parties."""
        return _END_SENTENCES[self]


_END_SENTENCES = {
    EndReason.CUSTOMER_REVOKED: "The customer revoked this authorization.",
    EndReason.THIRD_PARTY_REVOKED: "The third party revoked this authorization.",
    EndReason.ADMIN_REVOKED: "The utility revoked this authorization.",
    EndReason.EXPIRED: "The authorization reached the end of the period the customer chose.",
    EndReason.MOVE_OUT: "The service point left the customer's account (move-out).",
    EndReason.ACCOUNT_CLOSED: "The customer's account was closed.",
    EndReason.CODE_REUSED: "An authorization code was presented twice; its tokens were revoked.",
    EndReason.REFRESH_TOKEN_REUSED: (
        "A refresh token was presented after it had been replaced; every token was revoked."
    ),
}


DAYS_PER_YEAR = 365


@dataclass(frozen=True, slots=True)
class DurationChoice:
    """One option of the consent page's duration picker."""

    days: int
    label: str


_DURATIONS = (
    DurationChoice(30, "1 month"),
    DurationChoice(91, "3 months"),
    DurationChoice(182, "6 months"),
    DurationChoice(365, "1 year"),
    DurationChoice(730, "2 years"),
    DurationChoice(1826, "5 years"),
)


def duration_choices(max_days: int) -> tuple[DurationChoice, ...]:
    """The durations a customer may pick, bounded by the utility's policy (seed 000 §3.1)."""
    choices = tuple(choice for choice in _DURATIONS if choice.days <= max_days)
    return choices or (DurationChoice(max_days, f"{max_days} days"),)


def default_duration(max_days: int) -> DurationChoice:
    """The pre-selected duration: one year, or the longest allowed when that is shorter."""
    choices = duration_choices(max_days)
    return next((choice for choice in choices if choice.days == DAYS_PER_YEAR), choices[-1])


def checked_duration(days: int, max_days: int) -> int:
    """``days`` when the policy allows it; raises ``ValueError`` otherwise (never widened)."""
    if days not in {choice.days for choice in duration_choices(max_days)}:
        msg = f"duration of {days} days is not one the utility offers"
        raise ValueError(msg)
    return days


def authorization_end(start: datetime, days: int) -> datetime:
    """When a grant accepted at ``start`` for ``days`` days expires."""
    return require_aware(start) + timedelta(days=days)


def requested_authorization_end(
    start: datetime, requested: datetime | None, max_days: int
) -> datetime:
    """The end a third party asked for (None: as long as allowed), never past the policy.

    CDS-WG3-01 §7.3 ``expires``; the utility's longest duration still bounds it (seed 000 §3.1).
    """
    longest = authorization_end(start, max_days)
    return longest if requested is None else min(require_aware(requested), longest)


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """What the access choke point knows about a presented access token."""

    token_id: int
    grant_id: int
    grant_uuid: str
    subscription_uuid: str
    grant_kind: GrantKind
    grant_status: GrantStatus
    scope: str
    application_id: int
    application_uuid: str
    client_id: str
    application_may_act: bool
    retail_customer_id: int | None
    access_expires_at: datetime
    revoked: bool
    authorized_end: datetime | None
    #: (service point id, first day of the sharing account's current tenure) per covered
    #: service point still held, today, by the open account it was shared from.
    held_since: tuple[tuple[int, date], ...]

    @property
    def live_service_point_ids(self) -> tuple[int, ...]:
        """The covered service points still held by the account they were shared from."""
        return tuple(point for point, _ in self.held_since)


@dataclass(frozen=True, slots=True)
class EndedGrant:
    """A grant that just ended, with what its third party must be told."""

    grant_id: int
    grant_uuid: str
    application_id: int
    reason: EndReason
