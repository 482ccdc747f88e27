"""The seeding window: the territory's local days and months, DST-correct.

Readings are laid out per local day from local midnight (DESIGN "Time": days are 23 or 25 hours
around DST changes), so a spring-forward day holds 92 fifteen-minute readings and a fall-back day
100. History reaches back ``history_days`` local days and ends at the last interval complete
before ``now``; the last 24 hours are real-time data (seed 000 §3.3f–g).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, NamedTuple

from opencustodian.kit.time import (
    SECONDS_PER_DAY,
    from_epoch,
    iter_local_days,
    local_date,
    local_day_bounds,
    local_month_bounds,
    to_epoch,
)

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class LocalDay:
    """One local calendar day of the window as epoch seconds ``[start, end)``."""

    index: int
    day: date
    start: int
    end: int
    weekday: int
    day_of_year: int

    @property
    def seconds(self) -> int:
        """The day's length: 86,400 s, or 82,800 / 90,000 s on DST days."""
        return self.end - self.start

    @property
    def is_regular(self) -> bool:
        """Whether the day is 24 hours long (not a DST change day)."""
        return self.seconds == SECONDS_PER_DAY


@dataclass(frozen=True, slots=True)
class LocalMonth:
    """A local calendar month fully inside the window: dates and epoch seconds, end exclusive."""

    first_day: date
    next_first_day: date
    start: int
    end: int

    @property
    def days(self) -> int:
        """How many calendar days the month has."""
        return (self.next_first_day - self.first_day).days


class DayFrame(NamedTuple):
    """The intervals of one local day a meter reports: their starts and clock-day slots.

    ``positions`` maps each interval to its slot of the local clock day, or is None on a
    regular day (interval ``k`` is slot ``k``).
    """

    day: LocalDay
    starts: range
    positions: tuple[int, ...] | None


class HistoryWindow:
    """The local days from ``history_days`` ago up to ``now``, and what is complete by then."""

    def __init__(
        self, zone: ZoneInfo, now: datetime, history_days: int, real_time: timedelta
    ) -> None:
        """Lay out the window; ``now`` must be aware (a naive value names no instant)."""
        self.zone = zone
        self.now = to_epoch(now)
        self.real_time_from = to_epoch(now - real_time)
        self.last_day = local_date(self.now, zone)
        self.first_day = self.last_day - timedelta(days=history_days)
        self.days = tuple(_local_days(self.first_day, self.last_day, zone))
        self.months = tuple(_complete_months(self.first_day, self.last_day, zone, self.now))
        self._positions: dict[tuple[date, int], tuple[int, ...]] = {}

    def day_index(self, day: date) -> int:
        """The index of local ``day`` in ``days`` (may fall outside the window)."""
        return (day - self.first_day).days

    def complete_intervals(self, day: LocalDay, interval: int) -> int:
        """How many of the day's intervals have ended by ``now`` (the last complete one)."""
        available = min(day.end, self.now) - day.start
        return max(0, available // interval)

    def frame(self, day: LocalDay, interval: int) -> DayFrame:
        """The day's intervals of ``interval`` seconds that are complete by ``now``."""
        count = self.complete_intervals(day, interval)
        starts = range(day.start, day.start + count * interval, interval)
        return DayFrame(day, starts, self.slot_positions(day, interval))

    def slot_positions(self, day: LocalDay, interval: int) -> tuple[int, ...] | None:
        """Each interval's slot of the local clock day, or None on a regular day (0, 1, 2…).

        On a spring-forward day the 02:00 hour has no slots; on a fall-back day the 01:00 hour's
        slots repeat. Load shapes are indexed by these, so people still wake at 7 local time.
        """
        if day.is_regular:
            return None
        key = (day.day, interval)
        if key not in self._positions:
            self._positions[key] = tuple(
                _clock_seconds(start, self.zone) // interval
                for start in range(day.start, day.end, interval)
            )
        return self._positions[key]


def _clock_seconds(epoch: int, zone: ZoneInfo) -> int:
    local = from_epoch(epoch).astimezone(zone)
    return local.hour * 3600 + local.minute * 60 + local.second


def _local_days(first: date, last: date, zone: ZoneInfo) -> list[LocalDay]:
    days = []
    for index, day in enumerate(iter_local_days(first, last)):
        start, end = local_day_bounds(day, zone)
        days.append(
            LocalDay(index, day, start, end, day.weekday(), day.timetuple().tm_yday),
        )
    return days


def _complete_months(first: date, last: date, zone: ZoneInfo, now: int) -> list[LocalMonth]:
    """The local months that start inside the window and have fully elapsed by ``now``."""
    months = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        start, end = local_month_bounds(year, month, zone)
        next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)  # noqa: PLR2004
        if date(year, month, 1) >= first and end <= now:
            months.append(
                LocalMonth(date(year, month, 1), date(next_year, next_month, 1), start, end)
            )
        year, month = next_year, next_month
    return months
