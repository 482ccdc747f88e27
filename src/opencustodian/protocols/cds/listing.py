"""CDS listings: filters, ordering helpers and ``next``/``previous`` pages (CDS-WG3-01 §10).

Every listing answers ``{"<objects>": [...], "next": URL|null, "previous": URL|null}``. Filter
values are space-separated lists; several filters intersect. The spec fixes no paging
parameter, only server-issued page URLs; ours carry ``offset`` and ``limit`` (at most
``MAX_PAGE``), which a client may also set itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MAX_PAGE: Final = 100
MAX_FILTER_VALUES: Final = 200
MAX_PARAMETER_LENGTH: Final = 8_000
#: The largest ``offset`` read (nine digits): a page beyond it would be empty anyway.
MAX_OFFSET: Final = 999_999_999
PAGING: Final = frozenset({"offset", "limit"})


class ListingQueryError(ValueError):
    """A listing query that cannot be answered; the message names the parameter."""


@dataclass(frozen=True, slots=True)
class ListingQuery:
    """A listing request: its filters (each a set of accepted values) and its page."""

    filters: Mapping[str, frozenset[str]]
    offset: int
    limit: int

    def wants(self, name: str, *values: str | None) -> bool:
        """Whether an object whose ``name`` values are ``values`` passes the ``name`` filter."""
        accepted = self.filters.get(name)
        return accepted is None or any(value in accepted for value in values if value)

    def text(self, name: str) -> str | None:
        """A free-text parameter (``q``), lower-cased; None when absent."""
        accepted = self.filters.get(name)
        return " ".join(sorted(accepted)).lower() if accepted else None


def parse_listing_query(
    pairs: Sequence[tuple[str, str]], allowed: Iterable[str], *, default_limit: int = MAX_PAGE
) -> ListingQuery:
    """The query of a listing; unknown, repeated or malformed parameters are refused.

    ``q`` keeps its words as given (a substring search); every other filter is a
    space-separated list of values.
    """
    known = frozenset(allowed) | PAGING
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name not in known:
            msg = f"unknown parameter {name!r}"
            raise ListingQueryError(msg)
        if name in seen:
            msg = f"the parameter {name!r} is given more than once"
            raise ListingQueryError(msg)
        if len(value) > MAX_PARAMETER_LENGTH:
            msg = f"the parameter {name!r} is longer than {MAX_PARAMETER_LENGTH} characters"
            raise ListingQueryError(msg)
        seen[name] = value
    filters = {name: _values(name, value) for name, value in seen.items() if name not in PAGING}
    offset = _number("offset", seen.get("offset"), 0, MAX_OFFSET)
    limit = _number("limit", seen.get("limit"), 1, MAX_PAGE) if "limit" in seen else default_limit
    return ListingQuery(filters, offset, limit)


def _values(name: str, value: str) -> frozenset[str]:
    if name == "q":
        return frozenset({value.strip()}) if value.strip() else frozenset()
    values = frozenset(value.split())
    if len(values) > MAX_FILTER_VALUES:
        msg = f"{name}: at most {MAX_FILTER_VALUES} values"
        raise ListingQueryError(msg)
    return values


def _number(name: str, text: str | None, low: int, high: int | None) -> int:
    if text is None:
        return low
    # ASCII digits only: str.isdigit() also takes "²" (which int() refuses: a 500) and "٣".
    if not (text.isascii() and text.isdigit()) or len(text) > 9:  # noqa: PLR2004 - a billion
        msg = f"{name}: {text!r} is not a whole number"
        raise ListingQueryError(msg)
    number = int(text)
    if number < low or (high is not None and number > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        msg = f"{name}: must be {bound}"
        raise ListingQueryError(msg)
    return number


def date_bound(name: str, query: ListingQuery) -> date | None:
    """A ``before``/``after`` filter as a date: a date, or the date a date-time is written on."""
    text = _single_value(name, query)
    if text is None:
        return None
    return _instant(name, text).date()


def datetime_bound(name: str, query: ListingQuery) -> datetime | None:
    """A ``before``/``after`` filter as an aware instant (a bare date is its UTC midnight)."""
    text = _single_value(name, query)
    if text is None:
        return None
    moment = _instant(name, text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _single_value(name: str, query: ListingQuery) -> str | None:
    """The one value of a date filter; None when the parameter is absent.

    Given but empty (``before=``) is malformed like any other bad date, never "no filter".
    """
    values = query.filters.get(name)
    if values is None:
        return None
    if len(values) != 1:
        msg = f"{name}: one ISO 8601 date or date-time"
        raise ListingQueryError(msg)
    (text,) = values
    return text


def _instant(name: str, text: str) -> datetime:
    """The whole of ``text`` read as an ISO 8601 date or date-time (naive when no offset).

    RFC 3339 §5.6 allows a lower-case ``t`` and ``z``, which ``fromisoformat`` refuses.
    """
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError as error:
        msg = f"{name}: {text!r} is not an ISO 8601 date or date-time"
        raise ListingQueryError(msg) from error


def page_links(
    base: str, pairs: Sequence[tuple[str, str]], query: ListingQuery, total: int
) -> tuple[str | None, str | None]:
    """The ``next`` and ``previous`` URLs of a page of ``total`` objects."""
    kept = [(name, value) for name, value in pairs if name not in PAGING]

    def href(offset: int) -> str:
        return f"{base}?{urlencode([*kept, ('offset', str(offset)), ('limit', str(query.limit))])}"

    following = query.offset + query.limit
    next_href = href(following) if following < total else None
    previous_href = href(max(0, query.offset - query.limit)) if query.offset > 0 else None
    return next_href, previous_href


def listing(
    key: str, objects: Sequence[object], links: tuple[str | None, str | None]
) -> dict[str, object]:
    """The listing envelope."""
    return {key: list(objects), "next": links[0], "previous": links[1]}
