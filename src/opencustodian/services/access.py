"""The one access choke point: may this bearer token read this data, right now?

Every read of customer data goes through ``check_bearer`` (DESIGN.md). It decides from live
state on every call — token expiry and revocation, the grant's status and period, the
application's status (suspension stops every token at once) and whether the shared service
points are still held by the account they were shared from (move-out, account closure) — so a
change takes effect on the very next call, not when a sweep job next runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from opencustodian.domain.consent import GrantKind, GrantStatus
from opencustodian.kit.tokens import hash_secret

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.consent import AccessRecord
    from opencustodian.domain.ports import AccessStore

# RFC 6750 §2.1: "Bearer" followed by the token; tokens shorter than this are never ours
# (the reference implementation ignores tokens under 12 characters too).
MIN_TOKEN_LENGTH = 12


@dataclass(frozen=True, slots=True)
class AccessDeniedError(Exception):
    """The request may not proceed: RFC 6750 §3.1 error code, description, HTTP status."""

    error: str
    description: str
    status: int = 401


def bearer_token(authorization_header: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header (RFC 6750 §2.1)."""
    scheme, _, token = (authorization_header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or len(token) < MIN_TOKEN_LENGTH:
        message = "a Bearer access token is required"
        msg = "invalid_request"
        raise AccessDeniedError(msg, message)
    return token


def check_bearer(
    store: AccessStore, token: str, *, key: str, now: datetime, zone: ZoneInfo
) -> AccessRecord:
    """The token's access record when it may be used now; raises ``AccessDeniedError``."""
    record = store.access_record(hash_secret(token, key), now.astimezone(zone).date())
    if record is None:
        message = "unknown access token"
        msg = "invalid_token"
        raise AccessDeniedError(msg, message)
    refusal = _refusal(record, now)
    if refusal:
        msg = "invalid_token"
        raise AccessDeniedError(msg, refusal)
    return record


def _refusal(record: AccessRecord, now: datetime) -> str | None:
    checks = (
        (record.revoked, "the access token was revoked or replaced"),
        (record.access_expires_at <= now, "the access token expired"),
        (not record.application_may_act, "the third party is suspended by the utility"),
        (record.grant_status is not GrantStatus.ACTIVE, "the authorization is not active"),
        (
            record.authorized_end is not None and record.authorized_end <= now,
            "the authorization reached its end date",
        ),
        (
            record.grant_kind is GrantKind.CUSTOMER and not record.live_service_point_ids,
            "the shared service points are no longer on the customer's account",
        ),
    )
    return next((message for failed, message in checks if failed), None)


def require_own_subscription(record: AccessRecord, subscription_id: str, what: str) -> None:
    """research/espi.md §5.4: ``what`` needs a customer token of that very subscription.

    Raises ``AccessDeniedError`` (403 ``insufficient_scope``, as the reference resource filter
    answers) for a client token, or a customer token of another subscription.
    """
    if record.grant_kind is not GrantKind.CUSTOMER:
        msg = "insufficient_scope"
        raise AccessDeniedError(msg, f"{what} needs a customer access token", 403)
    if subscription_id != record.subscription_uuid:
        msg = "insufficient_scope"
        raise AccessDeniedError(msg, "this token is not for that subscription", 403)
