"""Totals of interval readings per local day and per local hour, for charts.

Local time is either the feed's own LocalTimeParameters (espi.xsd ``TimeConfiguration``, which
every ESPI usage feed carries), a :class:`datetime.tzinfo` such as ``ZoneInfo("America/New_York")``,
or UTC when neither is given. A reading counts in the day or hour holding its *start* (a
daily reading on a DST day, or a monthly one, is not split). Days are local calendar days, 23
or 25 hours long on DST days; the hour repeated when DST ends is two hours, told apart by their
UTC offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from opencustodian.client.local_time import LocalTimeParameters

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from opencustodian.client.usage_data import IntervalValue

SECONDS_PER_DAY: Final = 86_400
SECONDS_PER_HOUR: Final = 3_600
Zone = LocalTimeParameters | tzinfo | None


@dataclass(frozen=True, slots=True)
class Total:
    """The sum of the readings starting in one local period.

    Attributes:
        start: the period's local start, aware, with the UTC offset in force then.
        value: the exact sum, in the readings' unit.
        readings: how many readings were added.
    """

    start: datetime
    value: Decimal
    readings: int

    @property
    def day(self) -> date:
        """The local calendar day of the period."""
        return self.start.date()


def offset_function(zone: Zone) -> Callable[[int], int]:
    """A function giving the UTC offset (seconds) in force at an epoch instant in ``zone``."""
    if zone is None:
        return lambda _: 0
    if isinstance(zone, LocalTimeParameters):
        return zone.utc_offset
    tz = zone

    def offset(epoch: int) -> int:
        delta = datetime.fromtimestamp(epoch, tz=tz).utcoffset()
        return 0 if delta is None else int(delta.total_seconds())

    return offset


def _period_start(epoch: int, length: int, offset: Callable[[int], int]) -> int:
    """The epoch at which the local period of ``length`` seconds holding ``epoch`` begins."""
    here = offset(epoch)
    local = (epoch + here) // length * length
    start = local - here
    then = offset(start)
    # A DST change inside the period (a local day): its start had the other offset.
    return local - then if then != here and offset(local - then) == then else start


def _totals(
    readings: Iterable[IntervalValue],
    length: int,
    offset: Callable[[int], int],
    keep: Callable[[int], bool],
) -> list[Total]:
    values: dict[int, Decimal] = {}
    counts: dict[int, int] = {}
    for reading in readings:
        if not keep(reading.start):
            continue
        start = _period_start(reading.start, length, offset)
        values[start] = values.get(start, Decimal(0)) + reading.value
        counts[start] = counts.get(start, 0) + 1
    return [Total(_local(start, offset), values[start], counts[start]) for start in sorted(values)]


def _local(epoch: int, offset: Callable[[int], int]) -> datetime:
    seconds = offset(epoch)
    return datetime.fromtimestamp(epoch, tz=timezone(timedelta(seconds=seconds)))


def local_day(epoch: int, zone: Zone = None) -> date:
    """The local calendar day holding the instant ``epoch``."""
    offset = offset_function(zone)
    return datetime.fromtimestamp(epoch + offset(epoch), tz=UTC).date()


def daily_totals(readings: Iterable[IntervalValue], zone: Zone = None) -> list[Total]:
    """The sum of the readings per local day, in day order (days without readings left out)."""
    return _totals(readings, SECONDS_PER_DAY, offset_function(zone), lambda _: True)


def hourly_totals(
    readings: Iterable[IntervalValue], zone: Zone = None, *, day: date | None = None
) -> list[Total]:
    """The sum of the readings per local hour, in order; only those of ``day`` when given."""
    offset = offset_function(zone)

    def keep(epoch: int) -> bool:
        return day is None or datetime.fromtimestamp(epoch + offset(epoch), tz=UTC).date() == day

    return _totals(readings, SECONDS_PER_HOUR, offset, keep)
