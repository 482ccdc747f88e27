"""ESPI feed query parameters, parsed strictly (research/espi.md §3, CMDTEST QRY002).

``published-min``/``published-max``/``updated-min``/``updated-max`` are RFC 3339 UTC instants
with whole seconds and a ``Z`` (``2024-03-01T00:00:00Z``); ``max-results``, ``start-index``
and ``depth`` are unsigned integers. Anything else in one of these parameters, or the same
parameter twice, is a client error (400): guessing what ``published-min=All`` meant is how
third parties end up with silently different data. Unknown parameter names are ignored, as
the reference implementation does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

_INSTANT: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_COUNT: Final = re.compile(r"\d{1,9}")
_INSTANTS: Final = ("published-min", "published-max", "updated-min", "updated-max")
_COUNTS: Final = ("max-results", "start-index", "depth")


class FeedQueryError(ValueError):
    """A query parameter this custodian cannot honour exactly; the message names it."""


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """The recognised parameters; None where absent. Instants are epoch seconds."""

    published_min: int | None = None
    published_max: int | None = None
    updated_min: int | None = None
    updated_max: int | None = None
    max_results: int | None = None
    start_index: int | None = None
    depth: int | None = None

    @property
    def entry_limit(self) -> int | None:
        """The cap on IntervalBlock entries: ``max-results`` and ``depth`` both cap."""
        caps = [cap for cap in (self.max_results, self.depth) if cap is not None]
        return min(caps) if caps else None

    @property
    def skip(self) -> int:
        """Blocks to skip: ``start-index`` is one-based (APIDOC), 0 and 1 both mean none."""
        return max((self.start_index or 1) - 1, 0)


def parse_feed_query(pairs: Iterable[tuple[str, str]]) -> FeedQuery:
    """The feed query of a request's query pairs; raises ``FeedQueryError``."""
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name not in _INSTANTS and name not in _COUNTS:
            continue
        if name in seen:
            msg = f"{name} is given more than once"
            raise FeedQueryError(msg)
        seen[name] = value
    values: dict[str, int] = {}
    for name, text in seen.items():
        values[name.replace("-", "_")] = (
            _instant(name, text) if name in _INSTANTS else _count(name, text)
        )
    query = FeedQuery(**values)
    _check_order(query)
    return query


def _instant(name: str, text: str) -> int:
    if not _INSTANT.fullmatch(text):
        msg = f"{name} must be a UTC instant like 2024-03-01T00:00:00Z, not {text!r}"
        raise FeedQueryError(msg)
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as error:
        msg = f"{name} is not a real date and time: {text!r}"
        raise FeedQueryError(msg) from error
    return int(moment.timestamp())


def _count(name: str, text: str) -> int:
    if not _COUNT.fullmatch(text):
        msg = f"{name} must be a whole number, not {text!r}"
        raise FeedQueryError(msg)
    return int(text)


def _check_order(query: FeedQuery) -> None:
    for low, high, label in (
        (query.published_min, query.published_max, "published"),
        (query.updated_min, query.updated_max, "updated"),
    ):
        if low is not None and high is not None and low > high:
            msg = f"{label}-min is after {label}-max"
            raise FeedQueryError(msg)
