"""The token response (RFC 6749 §5.1) with the ESPI additions.

Besides ``access_token``, ``token_type``, ``expires_in``, ``refresh_token`` and ``scope``, an ESPI
custodian returns ``resourceURI`` (the Batch/Subscription or Bulk URI the token reads),
``authorizationURI`` (the ESPI Authorization resource) and, in ESPI 4.0 and at the utilities of
seed 000, ``customerResourceURI`` (the RetailCustomer resource).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from opencustodian.client.authorize import split_scopes
from opencustodian.client.clock import aware_utc
from opencustodian.client.errors import InvalidResponseError

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A token as issued, with the moment it was obtained; the tokens never appear in repr."""

    access_token: str = field(repr=False)
    token_type: str
    obtained_at: datetime
    expires_in: int | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None
    resource_uri: str | None = None
    authorization_uri: str | None = None
    customer_resource_uri: str | None = None

    @property
    def expires_at(self) -> datetime | None:
        """When the access token expires (``obtained_at + expires_in``), if the server said."""
        if self.expires_in is None:
            return None
        return self.obtained_at + timedelta(seconds=self.expires_in)

    @property
    def scopes(self) -> list[str]:
        """The granted scope strings (a ``|``-joined ``scope`` split apart)."""
        return split_scopes(self.scope or "")

    def expires_within(self, now: datetime, margin: timedelta) -> bool:
        """True if the access token is expired at ``now + margin`` (never, without expiry)."""
        expires_at = self.expires_at
        return expires_at is not None and expires_at <= now + margin

    def succeeding(self, previous: TokenResponse) -> TokenResponse:
        """This refreshed token, keeping what the refresh response left out from ``previous``.

        RFC 6749 §6: a new refresh token replaces the old one (rotation); when the server sends
        none, the old one stays valid. The ESPI URIs and scope do not change on refresh.
        """
        return dataclasses.replace(
            self,
            refresh_token=self.refresh_token or previous.refresh_token,
            scope=self.scope or previous.scope,
            resource_uri=self.resource_uri or previous.resource_uri,
            authorization_uri=self.authorization_uri or previous.authorization_uri,
            customer_resource_uri=self.customer_resource_uri or previous.customer_resource_uri,
        )


def _optional_str(body: Mapping[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        msg = f"token response field {key!r} is not a string"
        raise InvalidResponseError(msg)
    return value


def _expires_in(body: Mapping[str, object]) -> int | None:
    value = body.get("expires_in")
    if value is None:
        return None
    if isinstance(value, bool):
        msg = "token response field 'expires_in' is not a number"
        raise InvalidResponseError(msg)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value)  # some servers send a string; RFC 6749 §5.1 says a number
    elif isinstance(value, float) and value.is_integer():
        seconds = int(value)
    else:
        msg = "token response field 'expires_in' is not a whole number of seconds"
        raise InvalidResponseError(msg)
    if seconds < 0:
        msg = "token response field 'expires_in' is negative"
        raise InvalidResponseError(msg)
    return seconds


def parse_token_response(body: Mapping[str, object], obtained_at: datetime) -> TokenResponse:
    """A :class:`TokenResponse` from a decoded JSON body (RFC 6749 §5.1).

    Raises:
        InvalidResponseError: ``access_token`` or ``token_type`` missing, or a field mistyped.
    """
    access_token = _optional_str(body, "access_token")
    token_type = _optional_str(body, "token_type")
    if access_token is None or token_type is None:
        msg = "token response lacks access_token or token_type (RFC 6749 §5.1)"
        raise InvalidResponseError(msg)
    return TokenResponse(
        access_token=access_token,
        token_type=token_type,
        obtained_at=aware_utc(obtained_at),
        expires_in=_expires_in(body),
        refresh_token=_optional_str(body, "refresh_token"),
        scope=_optional_str(body, "scope"),
        resource_uri=_optional_str(body, "resourceURI"),
        authorization_uri=_optional_str(body, "authorizationURI"),
        customer_resource_uri=_optional_str(body, "customerResourceURI"),
    )
