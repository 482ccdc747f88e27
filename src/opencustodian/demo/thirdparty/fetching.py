"""Fetching a connection's Green Button feed, and importing what a notification announces.

A fetch asks the :class:`~opencustodian.client.TokenCache` for the access token before every
page, so a token about to expire (within the cache's margin) is refreshed first and the rotated
refresh token kept (RFC 6749 §6); the feed itself is read by
:func:`opencustodian.client.fetch_usage_feed`. Readings are merged into the app's own store.

A ``BatchList`` (ESPI FB_39, PUSH model) names resources to GET. Those that are, or lie under, a
connection's ``resourceURI`` are fetched with that connection's token, query string included
(e.g. ``published-min``/``published-max`` for new data), as are the job URIs a custodian puts
under it for a feed it answered ``202 Accepted``. A connection's ``authorizationURI``
announces a change of the grant, which is not a feed. Any other URI is logged and ignored:
the token of a connection is never sent anywhere but under its own ``resourceURI``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from opencustodian.client import ClientError, FeedPendingError, fetch_usage_feed

if TYPE_CHECKING:
    from opencustodian.client import Clock, TokenCache
    from opencustodian.demo.thirdparty.store import Connection, Database
    from opencustodian.demo.thirdparty.usage_store import UsageStore

logger = logging.getLogger(__name__)
MAX_FEED_BYTES = 512 * 1024 * 1024


def _bare(uri: str) -> str:
    return urlunsplit(urlsplit(uri)._replace(query="", fragment=""))


def _under(uri: str, base: str | None) -> bool:
    """Whether ``uri`` (query aside) is ``base`` or a path below it, without dot segments."""
    if not base:
        return False
    bare = _bare(uri)
    if bare != base and not bare.startswith(base.rstrip("/") + "/"):
        return False
    segments = unquote(urlsplit(bare).path).split("/")
    return not any(segment in {".", ".."} for segment in segments)


@dataclass(frozen=True, slots=True)
class Fetcher:
    """Fetches feeds for connections and records each fetch."""

    database: Database
    usage: UsageStore
    cache: TokenCache
    http: httpx.Client
    clock: Clock

    def fetch(self, connection_id: int, uri: str, reason: str) -> str | None:
        """Fetch ``uri`` with the connection's token and store its readings.

        Returns None on success (or when the custodian will notify a job's result), else why it
        failed (also recorded in the fetch log).
        """
        key = str(connection_id)
        fetch_id = self.usage.start_fetch(connection_id, uri, reason, self.clock())
        try:
            feed = fetch_usage_feed(
                uri,
                lambda: self.cache.access_token(key),
                http=self.http,
                max_bytes=MAX_FEED_BYTES,
                clock=self.clock,
            )
            self.usage.save_feed(connection_id, feed)
        except FeedPendingError as pending:
            # A job: the custodian names its URI in a BatchList when ready (fetched then).
            logger.info("%s for connection %s is being prepared: %s", uri, key, pending.job_uri)
            self.usage.finish_fetch(
                fetch_id, self.clock(), error=pending.job_uri, outcome="pending"
            )
            return None
        except (ClientError, httpx.HTTPError) as error:
            message = f"{type(error).__name__}: {error}"
            logger.warning("fetching %s for connection %s failed: %s", uri, key, message)
            self.usage.finish_fetch(fetch_id, self.clock(), error=message[:2000])
            return message
        self.usage.finish_fetch(
            fetch_id, self.clock(), readings=feed.reading_count, pages=feed.pages
        )
        return None

    def fetch_connection(self, connection: Connection, reason: str) -> str | None:
        """Fetch the whole subscription of ``connection`` (its ``resourceURI``)."""
        if connection.resource_uri is None:
            return "the utility gave this connection no resourceURI"
        return self.fetch(connection.id, connection.resource_uri, reason)

    def import_notified(self, uris: list[str]) -> None:
        """Fetch every notified URI that belongs to an active connection; log the rest."""
        active = [c for c in self.database.connections() if c.status == "active"]
        for uri in uris:
            owner = next((c for c in active if _under(uri, c.resource_uri)), None)
            if owner is not None:
                self.fetch(owner.id, uri, "notification")
            elif any(_under(uri, c.authorization_uri) for c in active):
                logger.info("notified %s: the authorization changed, nothing to fetch", uri)
            else:
                logger.warning("notified %s names no connection of ours; ignored", uri)
