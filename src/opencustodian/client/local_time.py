"""The local time a usage feed declares: espi.xsd ``TimeConfiguration`` (LocalTimeParameters).

``tzOffset`` is the standard offset from UTC in seconds, ``dstOffset`` the daylight-saving
shift, and ``dstStartRule``/``dstEndRule`` are ``DstRuleType`` bitmaps (espi.xsd): bits 28-31
month, 25-27 operator, 20-24 day of the month, 17-19 day of the week (Monday = 1), 12-16 hour,
0-11 seconds; ``0xFFFFFFFF`` disables DST. The operators: 0 the day of the month, 1 the day of
the week on or after the day of the month, 2-6 its first to fifth occurrence, 7 its last.

A rule's time is the wall clock just before the change: DST starts at that time in standard
time and ends at that time in daylight time. ``0x360E2000`` is "second Sunday of March, 02:00"
and ``0xB40E2000`` "first Sunday of November, 02:00" (the US rules since 2007).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

DST_DISABLED: Final = 0xFFFFFFFF
_MAX_TZ_OFFSET: Final = 14 * 3600  # UTC-12 … UTC+14 covers every zone in use
_MAX_DST_OFFSET: Final = 2 * 3600
_DAY_OF_MONTH, _ON_OR_AFTER, _FIRST, _LAST = 0, 1, 2, 7
_DAYS_PER_WEEK: Final = 7
_SECONDS_PER_HOUR: Final = 3600
_HOURS_PER_DAY: Final = 24


class LocalTimeError(ValueError):
    """A LocalTimeParameters value is outside what espi.xsd allows."""


@dataclass(frozen=True, slots=True)
class DstRule:
    """One decoded ``DstRuleType``: when in a year DST starts or ends (local wall time)."""

    month: int
    operator: int
    day_of_month: int
    day_of_week: int
    hour: int
    seconds: int

    @classmethod
    def decode(cls, value: int) -> DstRule:
        """Split a ``DstRuleType`` bitmap into its fields.

        Raises:
            LocalTimeError: a field is out of range, or the rule names no day.
        """
        rule = cls(
            month=(value >> 28) & 0xF,
            operator=(value >> 25) & 0x7,
            day_of_month=(value >> 20) & 0x1F,
            day_of_week=(value >> 17) & 0x7,
            hour=(value >> 12) & 0x1F,
            seconds=value & 0xFFF,
        )
        fine = (
            1 <= rule.month <= 12  # noqa: PLR2004 - months of the year
            and rule.hour < _HOURS_PER_DAY
            and rule.seconds < _SECONDS_PER_HOUR
            and (rule.operator != _DAY_OF_MONTH or rule.day_of_month >= 1)
            and (rule.operator == _DAY_OF_MONTH or rule.day_of_week >= 1)
            and (rule.operator != _ON_OR_AFTER or rule.day_of_month >= 1)
        )
        if not fine:
            msg = f"DstRuleType {value:08X} names no valid day and time"
            raise LocalTimeError(msg)
        return rule

    def day_in(self, year: int) -> date:
        """The day of ``year`` the rule falls on."""
        length = calendar.monthrange(year, self.month)[1]
        if self.operator == _DAY_OF_MONTH:
            return date(year, self.month, min(self.day_of_month, length))
        first = min(self.day_of_month, length) if self.operator == _ON_OR_AFTER else 1
        weekday = date(year, self.month, first).isoweekday()
        day = first + (self.day_of_week - weekday) % _DAYS_PER_WEEK
        if self.operator == _ON_OR_AFTER:
            return date(year, self.month, min(day, length))
        if self.operator == _LAST:
            occurrences = (length - day) // _DAYS_PER_WEEK
            return date(year, self.month, day + occurrences * _DAYS_PER_WEEK)
        nth = day + (self.operator - _FIRST) * _DAYS_PER_WEEK
        # A fifth occurrence that the month lacks falls back to the last one.
        while nth > length:
            nth -= _DAYS_PER_WEEK
        return date(year, self.month, nth)

    def wall_seconds(self, year: int) -> int:
        """The rule's moment in ``year`` as seconds since the epoch of the *local* wall clock."""
        midnight = datetime.combine(self.day_in(year), datetime.min.time(), tzinfo=UTC)
        return int(midnight.timestamp()) + self.hour * _SECONDS_PER_HOUR + self.seconds


@dataclass(frozen=True, slots=True)
class LocalTimeParameters:
    """espi.xsd ``TimeConfiguration``; :meth:`utc_offset` applies it to an instant."""

    tz_offset: int
    dst_offset: int = 0
    dst_start_rule: int = DST_DISABLED
    dst_end_rule: int = DST_DISABLED

    def __post_init__(self) -> None:
        """Refuse offsets no zone has and rules that name no day.

        Raises:
            LocalTimeError: an offset or rule is out of range.
        """
        if abs(self.tz_offset) > _MAX_TZ_OFFSET or not 0 <= self.dst_offset <= _MAX_DST_OFFSET:
            msg = f"tzOffset {self.tz_offset} or dstOffset {self.dst_offset} is out of range"
            raise LocalTimeError(msg)
        if self.observes_dst:
            DstRule.decode(self.dst_start_rule)
            DstRule.decode(self.dst_end_rule)

    @property
    def observes_dst(self) -> bool:
        """Whether both rules are set and the shift is not zero."""
        return self.dst_offset != 0 and DST_DISABLED not in {
            self.dst_start_rule,
            self.dst_end_rule,
        }

    def utc_offset(self, epoch: int) -> int:
        """The offset from UTC, in seconds, in force at the instant ``epoch``."""
        if not self.observes_dst:
            return self.tz_offset
        year = datetime.fromtimestamp(epoch + self.tz_offset, tz=UTC).year
        start = DstRule.decode(self.dst_start_rule).wall_seconds(year) - self.tz_offset
        end = DstRule.decode(self.dst_end_rule).wall_seconds(year) - (
            self.tz_offset + self.dst_offset
        )
        # North of the equator DST lies inside the year; south of it, across the new year.
        in_dst = start <= epoch < end if start < end else not end <= epoch < start
        return self.tz_offset + self.dst_offset if in_dst else self.tz_offset
