"""What a grant lets a third party read of a service point's usage data (ESPI FB gating).

Function blocks (NAESB REQ.21 §REQ.21.4.2.1.3.1, research/espi.md §11) decide *which* data:

- interval readings need FB 4 (Interval Metering) plus the commodity's block: 5 electricity,
  10 gas, 11 water;
- on a net-metered (solar) service point the net channel is what the customer is billed on,
  so it is served with FB 5 or FB 7 (Net Metering); the separate delivered and received
  channels need FB 8 (Forward and Reverse Metering). Elsewhere the delivered channel is served;
- a reading's cost needs FB 12 (Cost of Interval Data); without it costs are left out;
- billing-period summaries need FB 15 (Usage Summary); their cost needs FB 16.

The scope's other terms decide *how much*: ``HistoryLength`` (capped by the utility's history
limit), the authorized period's end, and ``IntervalDuration`` — when the finest interval a
grant allows is coarser than the stored readings, readings are summed up to that interval
(coarser data reveals less, research/espi.md §14), never dropped.

A grant may hold several scopes (``|``-joined); each is honoured on its own and the reader
gets the union, because each is something the customer approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from opencustodian.domain.metering import COST, DURATION, QUALITY, START, VALUE, Channel, Commodity
from opencustodian.domain.quality import provisional
from opencustodian.domain.scopes import CalendarPeriod, nominal_seconds
from opencustodian.kit.time import local_date, local_day_bounds, local_month_bounds

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from zoneinfo import ZoneInfo

    from opencustodian.domain.metering import Reading
    from opencustodian.domain.scopes import DataScope, Duration

INTERVAL_METERING: Final = 4
COMMODITY_BLOCKS: Final[dict[Commodity, int]] = {
    Commodity.ELECTRICITY: 5,
    Commodity.GAS: 10,
    Commodity.WATER: 11,
}
NET_METERING: Final = 7
FORWARD_AND_REVERSE: Final = 8
INTERVAL_COST: Final = 12
USAGE_SUMMARY: Final = 15
USAGE_SUMMARY_COST: Final = 16
SECONDS_PER_DAY: Final = 86_400


@dataclass(frozen=True, slots=True)
class ReadWindow:
    """Readings starting in ``[first, end)`` (epoch seconds) may be served."""

    first: int
    end: int

    @property
    def is_empty(self) -> bool:
        """Whether nothing at all may be served."""
        return self.end <= self.first


@dataclass(frozen=True, slots=True)
class UsageRights:
    """What one grant allows, decided once per request."""

    blocks: frozenset[int]
    history_seconds: int
    finest_interval: Duration | None  # None: no limit stated

    def channels(self, commodity: Commodity, *, net_metered: bool) -> frozenset[Channel]:
        """The channels of such a service point the grant lets a reader see."""
        if INTERVAL_METERING not in self.blocks:
            return frozenset()
        commodity_granted = COMMODITY_BLOCKS[commodity] in self.blocks
        served: set[Channel] = set()
        if not net_metered:
            # Delivered energy; a received channel too (a meter that also records export)
            # when FB 8 grants both directions.
            if commodity_granted:
                served.add(Channel.FORWARD)
            if FORWARD_AND_REVERSE in self.blocks:
                served |= {Channel.FORWARD, Channel.REVERSE}
            return frozenset(served)
        if commodity_granted or NET_METERING in self.blocks:
            served.add(Channel.NET)
        if FORWARD_AND_REVERSE in self.blocks:
            served |= {Channel.FORWARD, Channel.REVERSE}
        return frozenset(served)

    @property
    def costs(self) -> bool:
        """Whether interval readings keep their cost (FB 12)."""
        return INTERVAL_COST in self.blocks

    @property
    def summaries(self) -> bool:
        """Whether billing-period summaries are served (FB 15, or FB 16 which extends it)."""
        return bool({USAGE_SUMMARY, USAGE_SUMMARY_COST} & self.blocks)

    @property
    def summary_costs(self) -> bool:
        """Whether summaries carry the bill amount (FB 16)."""
        return USAGE_SUMMARY_COST in self.blocks

    def window(self, now: int, authorized_end: int | None) -> ReadWindow:
        """Readings from ``history_seconds`` before ``now`` up to now or the grant's end."""
        end = now if authorized_end is None else min(now, authorized_end)
        return ReadWindow(now - self.history_seconds, end)


def usage_rights(scopes: Sequence[DataScope], max_history_seconds: int) -> UsageRights:
    """The union of what ``scopes`` allow, history capped at ``max_history_seconds``."""
    blocks = frozenset[int]().union(*(scope.function_blocks for scope in scopes))
    histories = [
        min(scope.longest_history, max_history_seconds)
        if scope.longest_history is not None
        else max_history_seconds
        for scope in scopes
    ]
    return UsageRights(blocks, max(histories, default=0), _finest_allowed(scopes))


def _finest_allowed(scopes: Sequence[DataScope]) -> Duration | None:
    """The finest interval any scope allows; None when one of them states no limit."""
    finest = [scope.finest_interval for scope in scopes]
    if not finest or any(duration is None for duration in finest):
        return None
    stated = [duration for duration in finest if duration is not None]
    return min(stated, key=nominal_seconds)


def real_time(readings: Iterable[Reading], offered_until: int) -> Iterator[Reading]:
    """Readings that ended by ``offered_until``, marked provisional (seed 000 §3.3f–g).

    Real-time data is offered a latency after the request (45 minutes by default), and it is
    never billing quality, whatever its stored code claims (``domain.quality.provisional``).
    """
    for start, duration, value, cost, quality in readings:
        if start + duration > offered_until:
            return  # readings come sorted by start: every later one ends later still
        yield (start, duration, value, cost, provisional(quality))


def coarsened(
    readings: Iterable[Reading], interval: Duration | None, zone: ZoneInfo, *, keep_cost: bool
) -> Iterator[Reading]:
    """Readings as the grant allows: summed up to ``interval`` when that is coarser.

    Windows: whole seconds under a day align to multiples of the interval (900 s → clock
    hours for 3,600 s); a day is the local day (23 to 25 hours); anything coarser (week,
    month, billing period, season) is the local month, which never reveals more than the
    grant allows. A sum keeps the first reading's start, spans to the last one's end, adds
    values and costs, and carries the first quality code other than valid (0), because one
    estimated part makes the whole sum an estimate.
    """
    window_end = _window_end_function(interval, zone)
    if window_end is None and keep_cost:
        yield from readings  # the common case: nothing to change, nothing to copy
        return
    if window_end is None:
        yield from (
            reading if reading[COST] is None else _without_cost(reading) for reading in readings
        )
        return
    # One pass, no list per reading: a reading already as coarse as allowed (the usual case:
    # a 15-minute grant over 15-minute data) goes straight through (BENCHMARKS.md, "Bulk").
    seconds = interval if isinstance(interval, int) and interval < SECONDS_PER_DAY else 0
    group: list[Reading] = []
    end = 0
    for reading in readings:
        start = reading[START]
        if group:
            if start < end:
                group.append(reading)
                continue
            yield _sum(group, keep_cost=keep_cost)
            group = []
        end = start - start % seconds + seconds if seconds else window_end(start)
        if start + reading[DURATION] >= end:  # already as coarse as allowed
            yield reading if keep_cost or reading[COST] is None else _without_cost(reading)
        else:
            group.append(reading)
    if group:
        yield _sum(group, keep_cost=keep_cost)


WindowEnd: TypeAlias = "Callable[[int], int]"


def _window_end_function(interval: Duration | None, zone: ZoneInfo) -> WindowEnd | None:
    """For a reading start, the end of the window it is summed into; None: no summing."""
    if interval is None:
        return None
    if interval is CalendarPeriod.DAY:
        return lambda start: local_day_bounds(local_date(start, zone), zone)[1]
    if isinstance(interval, CalendarPeriod) or interval > SECONDS_PER_DAY:
        return lambda start: _month_end(start, zone)
    if interval == SECONDS_PER_DAY:
        return lambda start: local_day_bounds(local_date(start, zone), zone)[1]
    seconds = interval
    return lambda start: start - start % seconds + seconds


def _month_end(start: int, zone: ZoneInfo) -> int:
    day = local_date(start, zone)
    return local_month_bounds(day.year, day.month, zone)[1]


def _without_cost(reading: Reading) -> Reading:
    """``reading`` without its cost (the grant does not include costs)."""
    start, duration, value, _, quality = reading
    return (start, duration, value, None, quality)


def _sum(group: list[Reading], *, keep_cost: bool) -> Reading:
    """One reading standing for ``group`` (see ``coarsened``)."""
    first, last = group[0], group[-1]
    costs = [reading[COST] for reading in group if reading[COST] is not None]
    cost = sum(costs) if keep_cost and costs else None
    qualities = [reading[QUALITY] for reading in group]
    flagged = next((code for code in qualities if code not in {None, 0}), None)
    quality = flagged if flagged is not None else qualities[0]
    duration = last[START] + last[DURATION] - first[START]
    return (first[START], duration, sum(reading[VALUE] for reading in group), cost, quality)
