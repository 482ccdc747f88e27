"""The portal's usage chart: one day's intervals, or one month's daily totals, of a service.

What is drawn is the channel the customer is billed on: the net channel of a net-metered
(solar) service point, the delivered channel of any other (``domain.usage_rights`` serves
third parties the same way). Days are the territory's local days (23 or 25 hours on DST days).
Values are exact ``Decimal`` quantities in the channel's everyday unit (``domain.quantities``).

Only the current tenure is shown: a period before the customer's move-in is refused, and a
month that began before it starts at the move-in (the previous occupant's readings are never
read, not merely hidden).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from opencustodian.domain.metering import Channel
from opencustodian.domain.quantities import display_unit
from opencustodian.kit.time import (
    local_date,
    local_day_bounds,
    local_midnight,
    local_month_bounds,
    to_epoch,
)
from opencustodian.services.downloads import DateRangeError
from opencustodian.services.self_service import long_date

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.metering import ChannelFacts, Reading
    from opencustodian.domain.ports import SelfServiceDirectory, UsageReader
    from opencustodian.domain.self_service import HeldServicePoint

#: The day view draws readings of an hour or finer; coarser ones belong to the month view.
DAY_VIEW_LONGEST: Final = 3_600


class ChartView(StrEnum):
    """Day (its intervals) or month (its daily totals)."""

    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: the period it covers (epoch seconds) and its quantity."""

    start: int
    end: int
    value: Decimal


@dataclass(frozen=True, slots=True)
class UsageChart:
    """Everything a chart page shows."""

    point: HeldServicePoint
    view: ChartView
    day: date  # the day shown, or the first day of the month shown
    first: int  # epoch bounds of the period drawn
    end: int
    channel: Channel | None  # None: the service point has no interval data at all
    unit: str
    bars: list[Bar]
    previous: date | None
    next: date | None
    #: Readings too long to draw in this view (e.g. a monthly meter's), left out of the bars.
    longer_readings: int

    @property
    def total(self) -> Decimal:
        """The sum of the bars."""
        return sum((bar.value for bar in self.bars), start=Decimal(0))


def chart_channel(channels: Sequence[ChannelFacts], point: HeldServicePoint) -> ChannelFacts | None:
    """The channel the customer is billed on (see the module docstring)."""
    wanted = Channel.NET if point.net_metered else Channel.FORWARD
    mine = [channel for channel in channels if channel.service_point_id == point.id]
    preferred = [channel for channel in mine if channel.channel is wanted]
    forward = [channel for channel in mine if channel.channel is Channel.FORWARD]
    return next(iter(preferred or forward or mine), None)


def usage_chart(  # noqa: PLR0913 - a chart request has this many inputs
    reader: UsageReader,
    directory: SelfServiceDirectory,
    point: HeldServicePoint,
    *,
    view: ChartView,
    day: date | None,
    zone: ZoneInfo,
    now: datetime,
) -> UsageChart:
    """The chart of ``point`` for the day or month holding ``day`` (default: the latest data).

    ``DateRangeError`` when the period is after today or wholly before the move-in.
    """
    today = now.astimezone(zone).date()
    channel = chart_channel(reader.channels([point.id]), point)
    if day is None:
        day = _latest_day(directory, channel, point, zone, now) or today
    if day > today:
        msg = "There is no data for days after today yet."
        raise DateRangeError(msg)
    if view is ChartView.MONTH:
        day = day.replace(day=1)
        period_start, end = local_month_bounds(day.year, day.month, zone)
        last_day = local_date(end - 1, zone)
    else:
        period_start, end = local_day_bounds(day, zone)
        last_day = day
    if last_day < point.held_since:
        msg = (
            f"Your data for {point.label} starts on {long_date(point.held_since)}, "
            "when you moved in."
        )
        raise DateRangeError(msg)
    first = max(period_start, to_epoch(local_midnight(point.held_since, zone)))
    readings = reader.readings(channel.id, first, end) if channel else iter(())
    unit = display_unit(channel.reading_type) if channel else None
    bars, longer = (
        _interval_bars(readings, DAY_VIEW_LONGEST)
        if view is ChartView.DAY
        else _daily_bars(readings, zone)
    )
    return UsageChart(
        point=point,
        view=view,
        day=day,
        first=period_start,
        end=end,
        channel=channel.channel if channel else None,
        unit=unit.name if unit else "",
        bars=[Bar(start, stop, unit.quantity(raw)) for start, stop, raw in bars] if unit else [],
        previous=_previous(view, day, point.held_since),
        next=_next(view, day, last_day, today),
        longer_readings=longer,
    )


def _latest_day(
    directory: SelfServiceDirectory,
    channel: ChannelFacts | None,
    point: HeldServicePoint,
    zone: ZoneInfo,
    now: datetime,
) -> date | None:
    """The local day of the channel's latest reading within the tenure, if any."""
    if channel is None:
        return None
    latest = directory.latest_reading_start([channel.id], before=to_epoch(now))
    if latest is None:
        return None
    day = local_date(latest, zone)
    return day if day >= point.held_since else None


RawBar = tuple[int, int, int]  # start, end, summed raw value


def _interval_bars(readings: Iterable[Reading], longest: int) -> tuple[list[RawBar], int]:
    """One bar per reading of ``longest`` seconds or less; how many longer ones were left out."""
    bars: list[RawBar] = []
    longer = 0
    for start, duration, value, _, _ in readings:
        if duration > longest:
            longer += 1
        else:
            bars.append((start, start + duration, value))
    return bars, longer


def _daily_bars(readings: Iterable[Reading], zone: ZoneInfo) -> tuple[list[RawBar], int]:
    """One bar per local day with readings: their sum; readings crossing a day are left out."""
    totals: dict[tuple[int, int], int] = {}
    longer = 0
    day_start = day_end = 0
    for start, duration, value, _, _ in readings:
        if start >= day_end:  # readings come by start: a new day begins
            day_start, day_end = local_day_bounds(local_date(start, zone), zone)
        if start + duration > day_end:
            longer += 1
            continue
        totals[day_start, day_end] = totals.get((day_start, day_end), 0) + value
    return [(start, end, total) for (start, end), total in totals.items()], longer


def _previous(view: ChartView, day: date, held_since: date) -> date | None:
    """The day or month before, when it holds any of the customer's days."""
    before = day - timedelta(days=1)
    if before < held_since:
        return None
    return before.replace(day=1) if view is ChartView.MONTH else before


def _next(view: ChartView, day: date, last_day: date, today: date) -> date | None:
    """The day or month after, unless it starts after today."""
    after = last_day + timedelta(days=1) if view is ChartView.MONTH else day + timedelta(days=1)
    return after if after <= today else None
