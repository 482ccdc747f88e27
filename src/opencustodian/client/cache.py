"""A token cache that hands out valid access tokens and refreshes them in time.

Seed 000 §3.3a asks third parties to cache access tokens (valid one hour) with a timestamp and to
reuse them until they expire, then refresh. RFC 6749 §6 lets the server rotate the refresh
token: the new one replaces the old, which the server may already have invalidated (§10.4).
Storage sits behind :class:`TokenStore` so an application can persist tokens (the demo third
party keeps them in SQLite).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from opencustodian.client.clock import Clock, aware_utc, utc_now
from opencustodian.client.errors import TokenUnavailableError

if TYPE_CHECKING:
    from opencustodian.client.tokens import TokenResponse

DEFAULT_MARGIN = timedelta(seconds=60)


class TokenStore(Protocol):
    """Where the cache keeps one token per authorization key (e.g. the authorizationURI)."""

    def load(self, key: str) -> TokenResponse | None:
        """The stored token for ``key``, or None."""

    def save(self, key: str, token: TokenResponse) -> None:
        """Store ``token`` for ``key``, replacing what was there."""

    def delete(self, key: str) -> None:
        """Forget the token of ``key`` (no error if there is none)."""


class Refresher(Protocol):
    """What the cache calls to refresh; :class:`~.token_client.TokenClient` is one."""

    def refresh(
        self, refresh_token: str, *, scope: str | None = None, redirect_uri: str | None = None
    ) -> TokenResponse:
        """Exchange ``refresh_token`` for a new token (RFC 6749 §6)."""


class InMemoryTokenStore:
    """A dict-backed :class:`TokenStore` for one process."""

    def __init__(self) -> None:
        self._tokens: dict[str, TokenResponse] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> TokenResponse | None:
        """The stored token for ``key``, or None."""
        with self._lock:
            return self._tokens.get(key)

    def save(self, key: str, token: TokenResponse) -> None:
        """Store ``token`` for ``key``."""
        with self._lock:
            self._tokens[key] = token

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._tokens.pop(key, None)


class TokenCache:
    """Valid access tokens per authorization, refreshed ``margin`` before they expire.

    Args:
        store: where tokens live.
        refresher: what performs the refresh grant.
        clock: the current time (aware); injectable so tests can move time.
        margin: refresh when the access token expires within this much time.
        redirect_uri: sent with refreshes when given (the JSON style of seed 000 names it).
        send_scope: send the granted scope with refreshes (seed 000 asks for it; RFC 6749 §6
            makes it optional and forbids widening it).
    """

    def __init__(  # noqa: PLR0913 - each is an independent, defaulted policy knob
        self,
        store: TokenStore,
        refresher: Refresher,
        *,
        clock: Clock = utc_now,
        margin: timedelta = DEFAULT_MARGIN,
        redirect_uri: str | None = None,
        send_scope: bool = True,
    ) -> None:
        self.store = store
        self.refresher = refresher
        self.clock = clock
        self.margin = margin
        self.redirect_uri = redirect_uri
        self.send_scope = send_scope
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def put(self, key: str, token: TokenResponse) -> None:
        """Remember a freshly issued token for ``key``."""
        self.store.save(key, token)

    def get(self, key: str) -> TokenResponse | None:
        """The stored token of ``key`` as it is (possibly expired), or None."""
        return self.store.load(key)

    def forget(self, key: str) -> None:
        """Drop the token of ``key`` (after revocation or disconnection)."""
        self.store.delete(key)

    def valid_token(self, key: str) -> TokenResponse:
        """A token for ``key`` whose access token outlives ``margin``, refreshing if needed.

        Raises:
            TokenUnavailableError: nothing is stored for ``key``, or it expires and has no
                refresh token.
            OAuthError: the refresh was refused.
        """
        with self._lock(key):
            token = self._stored(key)
            if not token.expires_within(aware_utc(self.clock()), self.margin):
                return token
            return self._refresh(key, token)

    def access_token(self, key: str) -> str:
        """The access token to send now for ``key`` (see :meth:`valid_token`)."""
        return self.valid_token(key).access_token

    def refresh(self, key: str) -> TokenResponse:
        """Refresh ``key`` now, whatever its expiry; the rotated refresh token is kept.

        Raises:
            TokenUnavailableError: nothing is stored for ``key`` or it has no refresh token.
            OAuthError: the refresh was refused.
        """
        with self._lock(key):
            return self._refresh(key, self._stored(key))

    def _stored(self, key: str) -> TokenResponse:
        token = self.store.load(key)
        if token is None:
            msg = f"no token is stored for {key!r}"
            raise TokenUnavailableError(msg)
        return token

    def _refresh(self, key: str, token: TokenResponse) -> TokenResponse:
        if token.refresh_token is None:
            msg = f"the token for {key!r} has expired and has no refresh token"
            raise TokenUnavailableError(msg)
        fresh = self.refresher.refresh(
            token.refresh_token,
            scope=token.scope if self.send_scope else None,
            redirect_uri=self.redirect_uri,
        ).succeeding(token)
        self.store.save(key, fresh)
        return fresh
