"""RFC 9396 ``authorization_details`` for CDS consent scopes (CDS-WG3-01 §7).

A third party may send, beside or instead of ``scope``, a JSON array of objects whose ``type``
is a CDS consent scope id. This custodian supports three of §7's fields on every consent type:

* ``account_numbers`` and ``servicepoint_numbers`` (§7.1, format ``string_list_or_null``):
  preselect which accounts and service points the consent page offers; ``"_all"`` or ``null``
  preselects nothing. Preselections of one object intersect (§7.1); a grant has one set of
  service points, so the preselections the objects give are united (an object that gives none
  does not widen them);
* ``expires`` (§7.3, ``relative_or_absolute_datetime``): how long the grant should last — an
  ISO 8601 duration from now (``P1Y``, ``P90D``, ``PT12H``), an absolute datetime with its
  offset, or ``"infinite"`` (the longest the utility allows). The grant has one end: the
  earliest of the objects' ``expires``.

The parse is strict (RFC 9396 §5: a type or field the server does not support, or a value that
does not fit, is ``invalid_authorization_details``) and bounded: at most ``MAX_BYTES`` of JSON,
``MAX_OBJECTS`` objects and ``MAX_LIST_ITEMS`` numbers per list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

MAX_BYTES = 8 * 1024
MAX_OBJECTS = 10
MAX_LIST_ITEMS = 100
MAX_NUMBER_LENGTH = 64
#: §7.1: the value that preselects every object of its kind.
ALL = "_all"
INFINITE = "infinite"
PRESELECTION_FIELDS = ("account_numbers", "servicepoint_numbers")
DURATION_FIELDS = ("expires",)
SUPPORTED_FIELDS = ("type", *PRESELECTION_FIELDS, *DURATION_FIELDS)
ERROR = "invalid_authorization_details"

_DURATION = re.compile(
    r"P(?:(?P<years>\d{1,3})Y)?(?:(?P<months>\d{1,4})M)?(?:(?P<weeks>\d{1,4})W)?"
    r"(?:(?P<days>\d{1,5})D)?(?:T(?:(?P<hours>\d{1,6})H)?)?"
)


class AuthorizationDetailsError(ValueError):
    """The ``authorization_details`` parameter cannot be honoured; the message says why."""


@dataclass(frozen=True, slots=True)
class Expiry:
    """A requested grant end: ``relative`` from consent time, ``absolute``, or neither (∞)."""

    relative: RelativeDuration | None = None
    absolute: datetime | None = None

    @property
    def infinite(self) -> bool:
        """Whether the longest allowed duration was asked for."""
        return self.relative is None and self.absolute is None

    def end(self, now: datetime) -> datetime | None:
        """The instant the grant should end, or None for "as long as allowed"."""
        if self.absolute is not None:
            return self.absolute
        if self.relative is not None:
            return self.relative.after(now)
        return None


@dataclass(frozen=True, slots=True)
class RelativeDuration:
    """An ISO 8601 duration of calendar years, months, weeks, days and hours."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    def after(self, moment: datetime) -> datetime:
        """``moment`` moved on by this duration (calendar months clamp to the month's end)."""
        month_index = moment.month - 1 + self.months + 12 * self.years
        year, month = moment.year + month_index // 12, month_index % 12 + 1
        day = min(moment.day, _days_in_month(year, month))
        moved = moment.replace(year=year, month=month, day=day)
        return moved + timedelta(days=self.days, hours=self.hours)


@dataclass(frozen=True, slots=True)
class RequestedDetail:
    """One authorization details object: its type and what it asks for (None = no limit)."""

    type: str
    account_numbers: frozenset[str] | None = None
    servicepoint_numbers: frozenset[str] | None = None
    expires: Expiry | None = None


@dataclass(frozen=True, slots=True)
class Preselection:
    """Which accounts and service points the consent page offers (None = all of them)."""

    account_numbers: frozenset[str] | None = None
    servicepoint_numbers: frozenset[str] | None = None

    def admits(self, account_number: str, servicepoint_number: str | None) -> bool:
        """Whether a service point of ``account_number`` may be offered."""
        if self.account_numbers is not None and account_number not in self.account_numbers:
            return False
        return self.servicepoint_numbers is None or servicepoint_number in (
            self.servicepoint_numbers
        )


def requested_types(text: str | None) -> tuple[str, ...]:
    """The ``type`` of each object, read leniently (empty when the parameter is unusable).

    Used only to derive a missing ``scope`` before the request is validated; the strict
    parse (``parse``) runs afterwards and reports what is wrong.
    """
    try:
        return tuple(detail.type for detail in _objects(text or ""))
    except AuthorizationDetailsError:
        return ()


def parse(text: str, allowed_types: Collection[str], now: datetime) -> tuple[RequestedDetail, ...]:
    """The objects of ``text``; raises ``AuthorizationDetailsError`` (RFC 9396 §5).

    Types must be among ``allowed_types``, each at most once; an absolute ``expires`` must
    lie after ``now``.
    """
    details = _objects(text)
    if any(d.expires and d.expires.absolute and d.expires.absolute <= now for d in details):
        msg = "expires is in the past"
        raise AuthorizationDetailsError(msg)
    for detail in details:
        if detail.type not in allowed_types:
            msg = f"type {detail.type!r} is not one of the requested consent scopes"
            raise AuthorizationDetailsError(msg)
    if len({detail.type for detail in details}) != len(details):
        msg = "each type may appear only once"
        raise AuthorizationDetailsError(msg)
    return details


def preselection(details: Iterable[RequestedDetail]) -> Preselection:
    """The preselections of all objects united (a grant has one set of service points)."""
    listed = tuple(details)
    return Preselection(
        _union(detail.account_numbers for detail in listed),
        _union(detail.servicepoint_numbers for detail in listed),
    )


def requested_end(details: Iterable[RequestedDetail], now: datetime) -> Expiry | None:
    """The earliest requested ``expires`` as an absolute expiry (None when none was sent)."""
    ends = [detail.expires for detail in details if detail.expires is not None]
    if not ends:
        return None
    finite = [end for expiry in ends if (end := expiry.end(now)) is not None]
    return Expiry(absolute=min(finite)) if finite else Expiry()


def granted(
    types: Iterable[str],
    account_numbers: Iterable[str],
    servicepoint_numbers: Iterable[str],
    end: datetime,
) -> list[dict[str, object]]:
    """The authorization details as granted: what the customer chose, resolved (§7, §8.1).

    Preselections become the account and service point numbers actually shared, and
    ``expires`` the absolute end, as the Grants API and token responses report them.
    """
    accounts = sorted(set(account_numbers))
    points = sorted(set(servicepoint_numbers))
    expires = end.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return [
        {
            "type": kind,
            "account_numbers": accounts,
            "servicepoint_numbers": points,
            "expires": expires,
        }
        for kind in types
    ]


def _union(values: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    """The union of the preselections given; None (no limit) when no object gives one."""
    given = [value for value in values if value is not None]
    return frozenset().union(*given) if given else None


def _objects(text: str) -> tuple[RequestedDetail, ...]:
    if len(text.encode()) > MAX_BYTES:
        msg = f"authorization_details is longer than {MAX_BYTES} bytes"
        raise AuthorizationDetailsError(msg)
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        msg = "authorization_details is not valid JSON"
        raise AuthorizationDetailsError(msg) from error
    if not isinstance(document, list) or not document:
        msg = "authorization_details must be a non-empty JSON array of objects"
        raise AuthorizationDetailsError(msg)
    if len(document) > MAX_OBJECTS:
        msg = f"authorization_details may hold at most {MAX_OBJECTS} objects"
        raise AuthorizationDetailsError(msg)
    return tuple(_detail(item) for item in document)


def _detail(item: object) -> RequestedDetail:
    if not isinstance(item, dict):
        msg = "each authorization_details entry must be an object"
        raise AuthorizationDetailsError(msg)
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        msg = "each authorization_details object needs a string 'type'"
        raise AuthorizationDetailsError(msg)
    unknown = sorted(set(item) - set(SUPPORTED_FIELDS))
    if unknown:
        msg = f"unsupported field {unknown[0]!r} in {kind!r} (supported: {SUPPORTED_FIELDS})"
        raise AuthorizationDetailsError(msg)
    return RequestedDetail(
        kind,
        _numbers(item, "account_numbers"),
        _numbers(item, "servicepoint_numbers"),
        _expiry(item.get("expires")) if "expires" in item else None,
    )


def _numbers(item: dict[str, object], field: str) -> frozenset[str] | None:
    """A ``string_list_or_null`` preselection; ``"_all"`` anywhere in it preselects nothing."""
    value = item.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > MAX_LIST_ITEMS:
        msg = f"{field} must be null or a list of 1 to {MAX_LIST_ITEMS} strings"
        raise AuthorizationDetailsError(msg)
    if not all(
        isinstance(number, str) and 0 < len(number) <= MAX_NUMBER_LENGTH for number in value
    ):
        msg = f"{field} must hold non-empty strings of at most {MAX_NUMBER_LENGTH} characters"
        raise AuthorizationDetailsError(msg)
    numbers = frozenset(str(number) for number in value)
    return None if ALL in numbers else numbers


def _expiry(value: object) -> Expiry:
    if value == INFINITE:
        return Expiry()
    if not isinstance(value, str) or not value:
        msg = "expires must be an ISO 8601 duration, a datetime with offset, or 'infinite'"
        raise AuthorizationDetailsError(msg)
    if value.startswith("P"):
        return Expiry(relative=_duration(value))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        msg = f"expires {value!r} is not an ISO 8601 datetime"
        raise AuthorizationDetailsError(msg) from error
    if moment.utcoffset() is None:
        msg = "an absolute expires needs a UTC offset (e.g. 2027-01-01T00:00:00Z)"
        raise AuthorizationDetailsError(msg)
    return Expiry(absolute=moment)


def _duration(value: str) -> RelativeDuration:
    match = _DURATION.fullmatch(value)
    if match is None or value in {"P", "PT"} or value.endswith("T"):
        msg = f"expires {value!r} is not a duration such as P1Y, P6M, P90D or PT12H"
        raise AuthorizationDetailsError(msg)
    parts = {name: int(number or 0) for name, number in match.groupdict().items()}
    duration = RelativeDuration(
        parts["years"], parts["months"], parts["days"] + 7 * parts["weeks"], parts["hours"]
    )
    if duration == RelativeDuration():
        msg = "expires must be longer than zero"
        raise AuthorizationDetailsError(msg)
    return duration


def _days_in_month(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)  # noqa: DTZ001 - calendar only
    return (following - timedelta(days=1)).day
