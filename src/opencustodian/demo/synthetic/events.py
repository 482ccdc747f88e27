"""Imperfect data: outages (missing intervals) and estimated readings, a few per meter.

Real interval data has holes and estimates (seed 000 §3.3f: 99 % within three days, not 100 %).
Each meter gets about 1.5 outages of 2–6 hours and four short estimated runs a year, on
validated (older than real-time) regular days. DST change days are left whole so they always
show their 92 or 100 quarter hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from opencustodian.domain.quality import ReadingQuality
from opencustodian.kit.time import SECONDS_PER_DAY

if TYPE_CHECKING:
    import random

    from opencustodian.demo.synthetic.calendar import HistoryWindow

OUTAGES_PER_YEAR = 1.5
ESTIMATES_PER_YEAR = 4.0
_REFERENCE_DAY_SHARE = 0.25
_YEAR_DAYS = 365.25


@dataclass(frozen=True, slots=True)
class DayEvent:
    """A run of ``count`` intervals from the day's ``first``: missing, or estimated.

    ``quality`` is None for an outage (the intervals are absent) or the estimate's code.
    """

    first: int
    count: int
    quality: int | None


def plan_events(rng: random.Random, window: HistoryWindow, interval: int) -> dict[int, DayEvent]:
    """A meter's outages and estimates, by day index."""
    eligible = [
        day.index for day in window.days if day.is_regular and day.end <= window.real_time_from
    ]
    years = len(window.days) / _YEAR_DAYS
    outages = _occurrences(rng, years * OUTAGES_PER_YEAR)
    estimates = _occurrences(rng, years * ESTIMATES_PER_YEAR)
    chosen = rng.sample(eligible, min(len(eligible), outages + estimates))
    slots = SECONDS_PER_DAY // interval
    events = {}
    for number, day_index in enumerate(chosen):
        if number < outages:
            count = rng.randint(2 * 3600 // interval, 6 * 3600 // interval)
            quality = None
        else:
            count = rng.randint(1, 4)
            reference = rng.random() < _REFERENCE_DAY_SHARE
            quality = int(
                ReadingQuality.ESTIMATED_USING_REFERENCE_DAY
                if reference
                else ReadingQuality.ESTIMATED_USING_LINEAR_INTERPOLATION
            )
        # Keep a measured interval on each side: interpolation needs both neighbours.
        events[day_index] = DayEvent(rng.randint(1, slots - count - 1), count, quality)
    return events


def _occurrences(rng: random.Random, expected: float) -> int:
    """``expected`` rounded up or down at random, so the mean is right."""
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)
