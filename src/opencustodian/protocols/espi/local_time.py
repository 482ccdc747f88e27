"""The territory's local time, as ESPI encodes it and as usage feeds block readings by it.

``local_time_parameters`` builds espi.xsd ``TimeConfiguration`` (the ``LocalTimeParameters``
resource): ``tzOffset`` and ``dstOffset`` in seconds and the two DST rules as ``DstRuleType``
bitmaps. ``local_blocks`` cuts a sorted stream of readings into local days (23, 24 or 25 hours
long) or local months, the way the reference data aligns its IntervalBlocks (research/espi.md
§4: ``test_usage_data.xml`` has an 82,800 s day, ``Gas.xml`` a 2,595,600 s month).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final

from opencustodian.kit.time import (
    SECONDS_PER_DAY,
    local_date,
    local_day_bounds,
    local_midnight,
    local_month_bounds,
    to_epoch,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from zoneinfo import ZoneInfo

    from opencustodian.domain.metering import Reading

__all__ = ["DST_DISABLED", "LocalTimeParameters", "local_blocks", "local_time_parameters"]

# espi.xsd DstRuleType: "rule processing/DST correction is disabled".
DST_DISABLED: Final = 0xFFFFFFFF

# espi.xsd DstRuleType operators: 2..6 are the 1st..5th occurrence of the day of the week in
# the month, 7 the last occurrence (0 = fixed day of month, 1 = weekday on or after a day).
_FIRST_OCCURRENCE: Final = 2
_LAST_OCCURRENCE: Final = 7
_DAYS_PER_WEEK: Final = 7
# Offsets change at most a few times a year and never twice within a day, so a day-sized
# scan finds every transition; a bisection then pins each to the second.
_SCAN_STEP: Final = SECONDS_PER_DAY
# A daily reading is as long as its local day, 23 hours on a spring-forward day: anything
# at least that long is "daily or longer" and goes into month blocks.
_SHORTEST_DAY: Final = 82_800
# An occurrence this late in the month that is also the month's last one is encoded "last":
# rules are written that way (EU: last Sunday of March/October), and "4th" would drift in
# years where the month has five of that weekday.
_LATE_OCCURRENCE: Final = 4


@dataclass(frozen=True, slots=True)
class LocalTimeParameters:
    """espi.xsd ``TimeConfiguration``: offsets in seconds and the DST rules (HexBinary32)."""

    tz_offset: int
    dst_offset: int
    dst_start_rule: int  # 0xFFFFFFFF when the zone keeps no DST
    dst_end_rule: int


def _offset(zone: ZoneInfo, epoch: int) -> int:
    offset = datetime.fromtimestamp(epoch, tz=zone).utcoffset()
    assert offset is not None  # noqa: S101 - a ZoneInfo always yields an offset
    return int(offset.total_seconds())


def _transitions(zone: ZoneInfo, year: int) -> list[tuple[int, int, int]]:
    """Every UTC-offset change in local ``year``: (instant, offset before, offset after)."""
    first = to_epoch(local_midnight(date(year, 1, 1), zone))
    last = to_epoch(local_midnight(date(year + 1, 1, 1), zone))
    found: list[tuple[int, int, int]] = []
    moment, before = first, _offset(zone, first)
    while moment < last:
        step_end = min(moment + _SCAN_STEP, last)
        after = _offset(zone, step_end)
        if after != before:
            # Bisect [moment, step_end]: the offset at ``low`` is ``before``, at ``high`` not.
            low, high = moment, step_end
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(zone, middle) == before:
                    low = middle
                else:
                    high = middle
            found.append((high, before, _offset(zone, high)))
        moment, before = step_end, after
    return found


def _rule(instant: int, offset_before: int) -> int:
    """The DstRuleType bitmap of a transition, as the wall clock read just before it.

    espi.xsd DstRuleType: bits 28-31 month, 25-27 operator, 20-24 day of month (0 here: the
    rule names a weekday occurrence), 17-19 day of week (Monday = 1), 12-16 hour, 0-11
    seconds into the hour. US 2007+ gives 0x360E2000 (2nd Sunday of March 02:00) and
    0xB40E2000 (1st Sunday of November 02:00, daylight time).
    """
    wall = datetime.fromtimestamp(instant + offset_before, tz=UTC)
    occurrence = (wall.day - 1) // _DAYS_PER_WEEK + 1
    month_length = calendar.monthrange(wall.year, wall.month)[1]
    is_last = wall.day + _DAYS_PER_WEEK > month_length
    if is_last and occurrence >= _LATE_OCCURRENCE:
        operator = _LAST_OCCURRENCE
    else:
        operator = _FIRST_OCCURRENCE + occurrence - 1
    seconds = wall.minute * 60 + wall.second
    return (
        (wall.month << 28)
        | (operator << 25)
        | (wall.isoweekday() << 17)
        | (wall.hour << 12)
        | seconds
    )


def local_time_parameters(zone: ZoneInfo, year: int) -> LocalTimeParameters:
    """The zone's standard offset and DST rules in force in ``year``, ESPI-encoded.

    espi.xsd ``TimeConfiguration``. The rules are read off the zone's actual transitions in
    ``year``: DST starts at the first offset increase and ends at the first decrease after it
    (or, south of the equator, the year's earlier decrease). ``tzOffset`` is the offset before
    DST starts and ``dstOffset`` the size of the jump. Offsets are compared, not tzdata's
    ``isdst`` flag, so a zone whose tzdata calls winter time "daylight" (Europe/Dublin) still
    reads as one hour of summer time. A zone without a pair of opposite changes in ``year``
    keeps no DST: both rules are 0xFFFFFFFF, ``dstOffset`` is 0 and ``tzOffset`` is the offset
    the year ends with.
    """
    changes = _transitions(zone, year)
    increases = [change for change in changes if change[2] > change[1]]
    decreases = [change for change in changes if change[2] < change[1]]
    if not increases or not decreases:
        year_end = to_epoch(local_midnight(date(year + 1, 1, 1), zone))
        return LocalTimeParameters(
            tz_offset=_offset(zone, year_end - 1),
            dst_offset=0,
            dst_start_rule=DST_DISABLED,
            dst_end_rule=DST_DISABLED,
        )
    start = increases[0]
    end = next((change for change in decreases if change[0] > start[0]), decreases[0])
    return LocalTimeParameters(
        tz_offset=start[1],
        dst_offset=start[2] - start[1],
        dst_start_rule=_rule(start[0], start[1]),
        dst_end_rule=_rule(end[0], end[1]),
    )


def local_blocks(
    readings: Iterable[Reading], zone: ZoneInfo
) -> Iterator[tuple[int, int, list[Reading]]]:
    """Group readings sorted by start into (block start, block length, readings).

    Readings shorter than a day go into local days (23, 24 or 25 hours); daily and longer
    readings (23 hours or more: a daily reading on a spring-forward day is 23 hours long)
    into local months. A reading belongs to the block holding its start; a change
    between sub-daily and daily readings closes the block. The input is consumed lazily: one
    block is held at a time. Readings out of order raise ``ValueError`` when they leave the
    current block backwards.
    """
    block: list[Reading] = []
    block_start = block_end = 0
    monthly = False
    for reading in readings:
        begins = reading[0]
        # The hot path: one chained comparison and one flag test per reading.
        if block_start <= begins < block_end and (reading[1] >= _SHORTEST_DAY) is monthly:
            block.append(reading)
            continue
        if block:
            if begins < block_start:
                msg = f"readings must be sorted by start: {begins} comes after {block_start}"
                raise ValueError(msg)
            yield block_start, block_end - block_start, block
        monthly = reading[1] >= _SHORTEST_DAY
        day = local_date(begins, zone)
        if monthly:
            block_start, block_end = local_month_bounds(day.year, day.month, zone)
        else:
            block_start, block_end = local_day_bounds(day, zone)
        block = [reading]
    if block:
        yield block_start, block_end - block_start, block
