"""Fetching Green Button Connect My Data usage feeds with a bearer token.

``GET {resourceURI}`` (``…/Batch/Subscription/{id}`` and its ``/UsagePoint[/{id}]`` forms, or
any other usage feed URI) with ``Authorization: Bearer`` (RFC 6750 §2.1), asking for gzip
(decoded as it streams). A feed cut into pages ends each page but the last with an Atom
``link rel="next"`` (RFC 5005 §3); every page is fetched and parsed into one
:class:`~.usage_data.UsageFeed`.

A custodian that prepares a large feed as a job answers ``202 Accepted`` with its
``Location``: :class:`~.errors.FeedPendingError` says so, and the job URI (which the custodian
later names in a BatchList) is fetched like any feed.

The token is asked for before every page, so passing ``lambda: cache.access_token(key)`` (a
:class:`~.cache.TokenCache`) refreshes an access token that is about to expire *before* the
request that would have used it. The bearer token never leaves the feed's origin: a ``next``
link to another scheme, host or port is refused, as are loops and more than ``max_pages``
pages. The decoded bytes of all pages together are capped (a gzip bomb stops at the cap).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin, urlsplit

from opencustodian.client._responses import retry_after_seconds
from opencustodian.client.clock import Clock, utc_now
from opencustodian.client.errors import (
    FeedError,
    FeedPendingError,
    OAuthError,
    RateLimitedError,
)
from opencustodian.client.feed_graph import FeedCollector
from opencustodian.client.feed_parser import DEFAULT_MAX_BYTES, ByteBudget, PageParser

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from opencustodian.client.usage_data import UsageFeed

DEFAULT_MAX_PAGES: Final = 1000
ATOM_ACCEPT: Final = "application/atom+xml, application/xml;q=0.9"
_ERROR_BODY_BYTES: Final = 64 * 1024
_TOO_MANY_REQUESTS: Final = 429
_ACCEPTED: Final = 202


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _checked(url: str, first: str) -> str:
    """``url`` if it may receive the bearer token sent to ``first`` (same origin, http(s))."""
    scheme, host, _ = _origin(url)
    if scheme not in {"http", "https"} or not host:
        msg = f"not an absolute http(s) URL: {url[:200]!r}"
        raise FeedError(msg)
    if _origin(url) != _origin(first):
        msg = f"a next link leaves the feed's origin: {url[:200]!r}"
        raise FeedError(msg)
    return url


def _error(response: httpx.Response, now: Clock) -> OAuthError:
    """The HTTP error of a feed request, read from at most 64 KiB of its body."""
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= _ERROR_BODY_BYTES:
            break
    try:
        body = json.loads(head)
    except ValueError:
        body = None
    fields = body if isinstance(body, dict) else {}
    error, description = fields.get("error"), fields.get("error_description")
    status = response.status_code
    kind = RateLimitedError if status == _TOO_MANY_REQUESTS else OAuthError
    return kind(
        status,
        error if isinstance(error, str) and error else f"http_{status}",
        description if isinstance(description, str) else None,
        retry_after=retry_after_seconds(response.headers.get("retry-after"), now()),
    )


def fetch_usage_feed(  # noqa: PLR0913 - each keyword is an independent, defaulted limit
    url: str,
    token: str | Callable[[], str],
    *,
    http: httpx.Client,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = DEFAULT_MAX_PAGES,
    clock: Clock = utc_now,
) -> UsageFeed:
    """Fetch every page of the usage feed at ``url`` and read it into series.

    Args:
        url: the feed URI (the token response's ``resourceURI``, or a URI from a BatchList).
        token: the access token, or a callable asked for it before each page.
        http: the httpx client to use (its timeouts, proxies and TLS settings apply).
        max_bytes: the most decoded bytes all pages together may have.
        max_pages: the most pages to follow.
        clock: the current time (for ``Retry-After`` dates).

    Raises:
        OAuthError: the custodian answered a page with an error status (401, 403, 429 …).
        FeedPendingError: the custodian answered 202: the feed will be ready at a job URI.
        FeedError: a page is unsafe or malformed, the feed is too large, or paging leaves the
            origin, loops or runs past ``max_pages``.
        httpx.HTTPError: the connection failed.
    """
    bearer: Callable[[], str] = token if callable(token) else _constant(token)
    first = _checked(url, url)
    pages = _Pages(http, FeedCollector(), ByteBudget(max_bytes), clock)
    seen: set[str] = set()
    next_url: str | None = first
    while next_url is not None:
        if next_url in seen:
            msg = f"the feed's next links loop back to {next_url[:200]!r}"
            raise FeedError(msg)
        if len(seen) >= max_pages:
            msg = f"the feed has more than {max_pages} pages"
            raise FeedError(msg)
        seen.add(next_url)
        found = pages.read(next_url, bearer())
        next_url = None if found is None else _checked(found, first)
    return pages.collector.finish(pages=len(seen))


def _constant(token: str) -> Callable[[], str]:
    return lambda: token


@dataclass(frozen=True, slots=True)
class _Pages:
    """What every page request of one feed shares."""

    http: httpx.Client
    collector: FeedCollector
    budget: ByteBudget
    clock: Clock

    def read(self, url: str, access_token: str) -> str | None:
        """Fetch and parse one page into the collector; returns its ``next`` href."""
        headers = {
            "Authorization": f"Bearer {access_token}",
            "Accept": ATOM_ACCEPT,
            "Accept-Encoding": "gzip",
        }
        with self.http.stream("GET", url, headers=headers) as response:
            if not response.is_success:
                raise _error(response, self.clock)
            if response.status_code == _ACCEPTED:
                location = response.headers.get("location")
                raise FeedPendingError(
                    urljoin(str(response.url), location) if location else None,
                    retry_after_seconds(response.headers.get("retry-after"), self.clock()),
                )
            page = PageParser(self.collector, self.budget, str(response.url))
            for chunk in response.iter_bytes():
                page.feed(chunk)
            return page.close()
