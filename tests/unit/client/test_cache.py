"""The token cache: reuse until the margin, refresh with rotation, persist through a store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from opencustodian.client import (
    ClientCredentials,
    InMemoryTokenStore,
    OAuthError,
    TokenCache,
    TokenClient,
    TokenResponse,
    TokenUnavailableError,
    build_authorization_request,
)
from tests.fake_custodian import FakeCustodian
from tests.live import serving

START = datetime(2025, 3, 9, 6, 0, tzinfo=UTC)
KEY = "https://dc.example/espi/1_1/resource/Authorization/7"


@dataclass
class MovableClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class StubRefresher:
    clock: MovableClock
    calls: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def refresh(
        self, refresh_token: str, *, scope: str | None = None, redirect_uri: str | None = None
    ) -> TokenResponse:
        self.calls.append((refresh_token, scope, redirect_uri))
        n = len(self.calls)
        return TokenResponse(
            access_token=f"access-{n}",
            token_type="Bearer",
            obtained_at=self.clock(),
            expires_in=3600,
            refresh_token=f"refresh-{n}",
        )


def issued(clock: MovableClock) -> TokenResponse:
    return TokenResponse(
        access_token="access-0",
        token_type="Bearer",
        obtained_at=clock(),
        expires_in=3600,
        refresh_token="refresh-0",
        scope="FB=1_3_4_5",
        authorization_uri=KEY,
        resource_uri="https://dc.example/Batch/Subscription/7",
    )


def test_reuses_the_token_until_the_margin_then_refreshes_with_rotation():
    clock = MovableClock()
    refresher = StubRefresher(clock)
    store = InMemoryTokenStore()
    cache = TokenCache(store, refresher, clock=clock, redirect_uri="https://tp/cb")
    cache.put(KEY, issued(clock))

    clock.advance(minutes=58, seconds=59)  # 61 s left: still outside the 60 s margin
    assert cache.access_token(KEY) == "access-0"
    assert refresher.calls == []

    clock.advance(seconds=1)  # 60 s left: refresh now
    assert cache.access_token(KEY) == "access-1"
    assert refresher.calls == [("refresh-0", "FB=1_3_4_5", "https://tp/cb")]
    stored = store.load(KEY)
    assert stored is not None
    assert stored.refresh_token == "refresh-1"  # the rotated token replaced the old one
    assert stored.obtained_at == clock.now
    assert stored.expires_at == clock.now + timedelta(hours=1)
    assert stored.authorization_uri == KEY  # kept from the first grant
    assert stored.scope == "FB=1_3_4_5"

    clock.advance(minutes=30)
    assert cache.access_token(KEY) == "access-1"
    clock.advance(minutes=29)
    assert cache.access_token(KEY) == "access-2"
    assert refresher.calls[-1][0] == "refresh-1"


def test_margin_is_configurable():
    clock = MovableClock()
    refresher = StubRefresher(clock)
    cache = TokenCache(InMemoryTokenStore(), refresher, clock=clock, margin=timedelta(minutes=10))
    cache.put(KEY, issued(clock))
    clock.advance(minutes=49)
    assert cache.access_token(KEY) == "access-0"
    clock.advance(minutes=1)
    assert cache.access_token(KEY) == "access-1"


def test_forced_refresh_and_forget():
    clock = MovableClock()
    refresher = StubRefresher(clock)
    cache = TokenCache(InMemoryTokenStore(), refresher, clock=clock, send_scope=False)
    cache.put(KEY, issued(clock))
    assert cache.refresh(KEY).access_token == "access-1"
    assert refresher.calls == [("refresh-0", None, None)]
    cache.forget(KEY)
    assert cache.get(KEY) is None
    with pytest.raises(TokenUnavailableError, match="no token"):
        cache.access_token(KEY)


def test_expired_token_without_refresh_token_is_unavailable():
    clock = MovableClock()
    cache = TokenCache(InMemoryTokenStore(), StubRefresher(clock), clock=clock)
    cache.put(KEY, TokenResponse("client-token", "Bearer", clock(), expires_in=3600))
    assert cache.access_token(KEY) == "client-token"
    clock.advance(hours=1)
    with pytest.raises(TokenUnavailableError, match="no refresh token"):
        cache.access_token(KEY)


def test_token_without_expiry_is_never_refreshed():
    clock = MovableClock()
    refresher = StubRefresher(clock)
    cache = TokenCache(InMemoryTokenStore(), refresher, clock=clock)
    cache.put(KEY, TokenResponse("forever", "Bearer", clock(), refresh_token="r"))
    clock.advance(days=400)
    assert cache.access_token(KEY) == "forever"
    assert refresher.calls == []


def test_naive_clocks_are_refused():
    cache = TokenCache(
        InMemoryTokenStore(),
        StubRefresher(MovableClock()),
        clock=lambda: datetime(2025, 1, 1),  # noqa: DTZ001 - the point of the test
    )
    cache.put(KEY, issued(MovableClock()))
    with pytest.raises(ValueError, match="naive"):
        cache.access_token(KEY)


def test_refreshes_against_a_real_server_keep_working_across_rotations():
    custodian = FakeCustodian(expires_in=3600)
    clock = MovableClock()
    with serving(custodian.app()) as base, httpx.Client(timeout=5) as http:
        request = build_authorization_request(
            f"{base}/oauth/authorize",
            client_id=custodian.client_id,
            redirect_uri="https://tp/cb",
            scopes=["FB=1_3_4_5"],
        )
        code = parse_qs(urlsplit(http.get(request.url).headers["location"]).query)["code"][0]
        client = TokenClient(
            token_endpoint=f"{base}/oauth/token",
            credentials=ClientCredentials(custodian.client_id, custodian.client_secret),
            http=http,
            clock=clock,
        )
        first = client.exchange_code(
            code, redirect_uri="https://tp/cb", code_verifier=request.code_verifier
        )
        assert first.authorization_uri is not None
        cache = TokenCache(InMemoryTokenStore(), client, clock=clock)
        cache.put(first.authorization_uri, first)

        seen = {first.access_token}
        for _ in range(3):
            clock.advance(minutes=59, seconds=30)
            seen.add(cache.access_token(first.authorization_uri))
        assert len(seen) == 4  # three refreshes, each a new access token
        assert len(custodian.token_calls) == 4
        stored = cache.get(first.authorization_uri)
        assert stored is not None
        assert stored.refresh_token in custodian.refresh_tokens  # the live, latest one
        assert first.refresh_token not in custodian.refresh_tokens
        assert first.refresh_token is not None
        with pytest.raises(OAuthError, match="invalid_grant"):
            client.refresh(first.refresh_token)
