"""Aware-only time helpers.

Everything inside OpenCustodian is UTC and timezone-aware; the service territory's zone is used
only to find local days and months, whose length is 23 or 25 hours around DST changes.
ESPI carries instants as UTC epoch seconds (espi.xsd ``TimeType``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

SECONDS_PER_DAY = 86_400


class NaiveDatetimeError(ValueError):
    """Raised when a naive datetime reaches code that needs an instant."""


def utc_now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(tz=UTC)


def require_aware(moment: datetime) -> datetime:
    """Return ``moment`` unchanged, refusing naive datetimes (they name no instant)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"naive datetime {moment.isoformat()} has no time zone"
        raise NaiveDatetimeError(msg)
    return moment


def to_epoch(moment: datetime) -> int:
    """Whole UTC epoch seconds of an aware datetime."""
    return int(require_aware(moment).timestamp())


def from_epoch(seconds: int) -> datetime:
    """The aware UTC datetime of epoch ``seconds``."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant local ``day`` begins in ``zone`` (midnight exists on every US DST day)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """Epoch seconds ``[start, end)`` of local ``day``: 82,800 or 90,000 s long on DST days."""
    start = local_midnight(day, zone)
    end = local_midnight(day + timedelta(days=1), zone)
    return to_epoch(start), to_epoch(end)


def local_month_bounds(year: int, month: int, zone: ZoneInfo) -> tuple[int, int]:
    """Epoch seconds ``[start, end)`` of a local calendar month in ``zone``."""
    start = local_midnight(date(year, month, 1), zone)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)  # noqa: PLR2004
    end = local_midnight(date(next_year, next_month, 1), zone)
    return to_epoch(start), to_epoch(end)


def local_date(epoch_seconds: int, zone: ZoneInfo) -> date:
    """The local calendar date in ``zone`` at the instant ``epoch_seconds``."""
    return from_epoch(epoch_seconds).astimezone(zone).date()


def iter_local_days(first: date, last: date) -> list[date]:
    """Every calendar date from ``first`` to ``last`` inclusive."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
