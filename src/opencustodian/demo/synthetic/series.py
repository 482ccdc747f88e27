"""A meter's readings, one local day at a time, as integer columns (never reading objects).

Interval meters yield one ``DayBlock`` per local day from local midnight (92/96/100 quarter
hours, 276/288/300 five-minute or 23/24/25 hourly readings), up to the last interval complete
before now. Quality follows seed 000 §3.3g: readings starting in the real-time window (the last
24 hours) are raw/provisional (14); older ones are validated (17), except estimates (8 or 9).
A net-metered home yields three channels: forward (delivered), reverse (received) and
net = forward − reverse, negative when the roof out-produces the house.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, NamedTuple

from opencustodian.demo.synthetic.events import DayEvent, plan_events
from opencustodian.demo.synthetic.loads import interval_loads
from opencustodian.domain.quality import ReadingQuality

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from opencustodian.demo.synthetic.calendar import DayFrame, HistoryWindow
    from opencustodian.demo.synthetic.population import MeterPlan
    from opencustodian.demo.synthetic.weather import Weather

VALIDATED = int(ReadingQuality.VALIDATED)
RAW = int(ReadingQuality.RAW)
REFERENCE_DAY = int(ReadingQuality.ESTIMATED_USING_REFERENCE_DAY)
Channels = tuple[list[int], ...]


class DayBlock(NamedTuple):
    """One local day of a meter: starts, one value column per channel, and qualities.

    ``qualities`` is one code for the whole day (the usual case) or one per reading.
    """

    day_index: int
    starts: Sequence[int]
    channels: Channels
    qualities: int | list[int]


class MonthlyReading(NamedTuple):
    """A non-interval meter's reading of one local calendar month."""

    day_index: int
    start: int
    duration: int
    value: int


def meter_random(seed: int, index: int, service: int) -> random.Random:
    """The random stream of one meter, independent of every other meter's."""
    return random.Random(f"{seed}:meter:{index}:{service}")


def interval_blocks(
    meter: MeterPlan, window: HistoryWindow, weather: Weather, rng: random.Random
) -> Iterator[DayBlock]:
    """Every local day of an interval meter's history, oldest first."""
    interval = meter.interval
    if interval is None:
        msg = f"meter {meter.meter_number} is read monthly, not by interval"
        raise ValueError(msg)
    events = plan_events(rng, window, interval)
    draw = rng.random
    previous: Channels | None = None
    for day in window.days:
        frame = window.frame(day, interval)
        if not frame.starts:
            break
        load = interval_loads(meter.load, frame, weather, draw)
        channels = _channels(meter, load, frame, weather, draw)
        qualities = _qualities(frame.starts, window.real_time_from)
        block = DayBlock(day.index, frame.starts, channels, qualities)
        event = events.get(day.index)
        if event is not None:
            block = _apply_event(block, event, previous, net=meter.solar is not None)
        previous = block.channels
        yield block


def _channels(
    meter: MeterPlan,
    load: list[float],
    frame: DayFrame,
    weather: Weather,
    draw: Callable[[], float],
) -> Channels:
    """Integer channel values: delivered only, or forward, reverse and net behind solar."""
    used = [int(energy + 0.5) for energy in load]
    if meter.solar is None:
        return (used,)
    sunshine = weather.sunshine[frame.day.index]
    made = [int(energy + 0.5) for energy in meter.solar.production(frame, sunshine, draw)]
    forward = [u - m if u > m else 0 for u, m in zip(used, made, strict=True)]
    reverse = [m - u if m > u else 0 for u, m in zip(used, made, strict=True)]
    net = [u - m for u, m in zip(used, made, strict=True)]
    return (forward, reverse, net)


def _qualities(starts: range, real_time_from: int) -> int | list[int]:
    """Raw (14) for readings that start within the real-time window, else validated (17)."""
    if starts[-1] < real_time_from:
        return VALIDATED
    if starts[0] >= real_time_from:
        return RAW
    return [RAW if start >= real_time_from else VALIDATED for start in starts]


def _apply_event(
    block: DayBlock, event: DayEvent, previous: Channels | None, *, net: bool
) -> DayBlock:
    """Drop an outage's intervals, or overwrite a run with estimates and mark their quality."""
    if event.quality is None:
        return _drop_outage(block, event)
    return _estimate_run(block, event, previous, net=net)


def _drop_outage(block: DayBlock, event: DayEvent) -> DayBlock:
    """The day without the outage's intervals: they are missing, not zero."""
    end = event.first + event.count
    starts = list(block.starts)
    del starts[event.first : end]
    channels = tuple(values[: event.first] + values[end:] for values in block.channels)
    qualities = block.qualities
    if not isinstance(qualities, int):
        qualities = qualities[: event.first] + qualities[end:]
    return DayBlock(block.day_index, starts, channels, qualities)


def _estimate_run(
    block: DayBlock, event: DayEvent, previous: Channels | None, *, net: bool
) -> DayBlock:
    """The day with the run's measured channels estimated; net is rederived from them."""
    end = event.first + event.count
    measured = block.channels[:2] if net else block.channels
    quality = event.quality or REFERENCE_DAY
    for position, values in enumerate(measured):
        reference = previous[position] if previous is not None else None
        quality = _estimate(values, event, reference)
    if net:  # net stays forward − reverse, reading by reading
        forward, reverse, net_values = block.channels
        for slot in range(event.first, end):
            net_values[slot] = forward[slot] - reverse[slot]
    qualities = (
        [block.qualities] * len(block.starts)
        if isinstance(block.qualities, int)
        else list(block.qualities)
    )
    qualities[event.first : end] = [quality] * event.count
    return block._replace(qualities=qualities)


def _estimate(values: list[int], event: DayEvent, reference: list[int] | None) -> int:
    """Estimate ``values`` in place; return the quality code actually used.

    A reference-day estimate copies yesterday's same slots when yesterday was complete and as
    long; otherwise the run is interpolated linearly between its measured neighbours.
    """
    end = event.first + event.count
    if event.quality == REFERENCE_DAY and reference is not None and len(reference) == len(values):
        values[event.first : end] = reference[event.first : end]
        return REFERENCE_DAY
    before, after = values[event.first - 1], values[end]
    step = (after - before) / (event.count + 1)
    for offset in range(event.count):
        values[event.first + offset] = round(before + step * (offset + 1))
    return int(ReadingQuality.ESTIMATED_USING_LINEAR_INTERPOLATION)


def monthly_readings(
    meter: MeterPlan, window: HistoryWindow, weather: Weather, rng: random.Random
) -> list[MonthlyReading]:
    """One reading per fully elapsed local month in the window, lasting the month's length."""
    draw = rng.random
    readings = []
    for month in window.months:
        first, stop = window.day_index(month.first_day), window.day_index(month.next_first_day)
        total = 0.0
        for day in window.days[first:stop]:
            noise = 1.0 + meter.load.day_noise * (2.0 * draw() - 1.0)
            total += meter.load.day_total(day, weather) * noise
        readings.append(
            MonthlyReading(first, month.start, month.end - month.start, int(total + 0.5))
        )
    return readings
