"""Reading OAuth JSON responses and turning error responses into typed exceptions.

Error bodies follow RFC 6749 §5.2; ``Retry-After`` (RFC 9110 §10.2.3) is either a number of
seconds or an HTTP date.
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from opencustodian.client.clock import aware_utc
from opencustodian.client.errors import InvalidResponseError, OAuthError, RateLimitedError

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

TOO_MANY_REQUESTS = 429


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (aware_utc(moment) - aware_utc(now)).total_seconds())


def _json_object(response: httpx.Response) -> dict[str, object] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def raise_for_error(response: httpx.Response, now: datetime) -> None:
    """Raise :class:`OAuthError` (or :class:`RateLimitedError`) unless the status is 2xx."""
    if response.is_success:
        return
    body = _json_object(response) or {}
    error = body.get("error")
    description = body.get("error_description")
    error_uri = body.get("error_uri")
    kind = RateLimitedError if response.status_code == TOO_MANY_REQUESTS else OAuthError
    raise kind(
        response.status_code,
        error if isinstance(error, str) and error else f"http_{response.status_code}",
        description if isinstance(description, str) else None,
        error_uri=error_uri if isinstance(error_uri, str) else None,
        retry_after=retry_after_seconds(response.headers.get("retry-after"), now),
    )


def json_object(response: httpx.Response, now: datetime) -> dict[str, object]:
    """The JSON object of a successful response; errors raise as in :func:`raise_for_error`.

    Raises:
        InvalidResponseError: a 2xx response whose body is not a JSON object.
    """
    raise_for_error(response, now)
    body = _json_object(response)
    if body is None:
        msg = f"expected a JSON object from {response.request.url}"
        raise InvalidResponseError(msg)
    return body
