"""A Green Button Connect My Data client for third parties.

Standalone on purpose: it imports nothing from the rest of OpenCustodian (only the standard
library, httpx and lxml), so a third party can use it against any Data Custodian.

- :mod:`.discovery` — RFC 8414 authorization server metadata, or endpoints from a base URL.
- :mod:`.authorize` — the authorization request (RFC 6749 §4.1.1) with PKCE (RFC 7636) and
  ESPI scopes joined by ``|``.
- :mod:`.token_client` — code exchange, refresh, client credentials (RFC 6749 §4.1.3, §6, §4.4)
  in form or JSON bodies, and revocation (RFC 7009).
- :mod:`.cache` — a token cache that refreshes before expiry and keeps rotated refresh tokens.
- :mod:`.notifications` — a hardened parser for the ESPI ``BatchList`` notification body.
- :mod:`.feeds` — fetch a usage feed with a bearer token (gzip, ``rel="next"`` paging) and
  read it defensively (:mod:`.feed_parser`) into plain series (:mod:`.usage_data`); the feed's
  LocalTimeParameters (:mod:`.local_time`) and :mod:`.totals` per local day and hour for charts.
"""

from opencustodian.client.authorize import (
    AuthorizationRequest,
    ParamStyle,
    build_authorization_request,
    join_scopes,
    split_scopes,
)
from opencustodian.client.cache import InMemoryTokenStore, TokenCache, TokenStore
from opencustodian.client.clock import Clock, utc_now
from opencustodian.client.discovery import ServerMetadata, fetch_metadata
from opencustodian.client.errors import (
    BatchListError,
    ClientError,
    FeedError,
    FeedPendingError,
    InvalidResponseError,
    OAuthError,
    RateLimitedError,
    TokenUnavailableError,
)
from opencustodian.client.feed_parser import parse_usage_feed
from opencustodian.client.feeds import fetch_usage_feed
from opencustodian.client.local_time import LocalTimeParameters
from opencustodian.client.notifications import parse_batch_list
from opencustodian.client.pkce import Pkce, code_challenge_s256, make_code_verifier
from opencustodian.client.token_client import (
    ClientAuthMethod,
    ClientCredentials,
    JsonCodeKey,
    TokenBodyStyle,
    TokenClient,
)
from opencustodian.client.tokens import TokenResponse
from opencustodian.client.totals import Total, daily_totals, hourly_totals, local_day
from opencustodian.client.usage_data import (
    IntervalValue,
    MeterReadingSeries,
    ReadingKind,
    UsageFeed,
    UsagePointSeries,
)

__all__ = [
    "AuthorizationRequest",
    "BatchListError",
    "ClientAuthMethod",
    "ClientCredentials",
    "ClientError",
    "Clock",
    "FeedError",
    "FeedPendingError",
    "InMemoryTokenStore",
    "IntervalValue",
    "InvalidResponseError",
    "JsonCodeKey",
    "LocalTimeParameters",
    "MeterReadingSeries",
    "OAuthError",
    "ParamStyle",
    "Pkce",
    "RateLimitedError",
    "ReadingKind",
    "ServerMetadata",
    "TokenBodyStyle",
    "TokenCache",
    "TokenClient",
    "TokenResponse",
    "TokenStore",
    "TokenUnavailableError",
    "Total",
    "UsageFeed",
    "UsagePointSeries",
    "build_authorization_request",
    "code_challenge_s256",
    "daily_totals",
    "fetch_metadata",
    "fetch_usage_feed",
    "hourly_totals",
    "join_scopes",
    "local_day",
    "make_code_verifier",
    "parse_batch_list",
    "parse_usage_feed",
    "split_scopes",
    "utc_now",
]
