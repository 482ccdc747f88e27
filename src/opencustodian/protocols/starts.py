"""Which reading starts a meter reading already holds, in memory that stays flat.

An import must notice when two readings of one meter reading claim the same interval start
(``domain.metering.Reading``: one row per start), yet a year of 15-minute data is 35,040 starts
and a big file holds millions. Regular interval data is an arithmetic progression, so the starts
are kept as *runs* ``(first, last, step)``: a meter reading read every 900 s for a year is one
run, not 35,040 integers. Irregular data (monthly bills) degrades gracefully to short runs.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable


class _Run(NamedTuple):
    """Starts ``first, first + step, …, last``; a single start has ``step`` 1."""

    first: int
    last: int
    step: int

    def __contains__(self, start: object) -> bool:
        return (
            isinstance(start, int)
            and self.first <= start <= self.last
            and (start - self.first) % self.step == 0
        )

    def starts(self) -> range:
        return range(self.first, self.last + 1, self.step)


def _runs_of(ordered: list[int]) -> list[_Run]:
    """Cut sorted distinct starts into maximal arithmetic runs, greedily from the left."""
    runs: list[_Run] = []
    index, count = 0, len(ordered)
    while index < count:
        first = ordered[index]
        if index + 1 == count:
            runs.append(_Run(first, first, 1))
            break
        step = ordered[index + 1] - first
        end = index + 1
        while end + 1 < count and ordered[end + 1] - ordered[end] == step:
            end += 1
        runs.append(_Run(first, ordered[end], step))
        index = end + 1
    return runs


def _joined(left: _Run, right: _Run) -> _Run | None:
    """One run covering ``left`` then ``right`` when they continue each other, else None."""
    left_single = left.first == left.last
    right_single = right.first == right.last
    step = right.step if left_single else left.step
    if left_single and right_single:
        step = right.first - left.last
    if right.first - left.last != step or (not right_single and right.step != step):
        return None
    return _Run(left.first, right.last, step)


class StartIndex:
    """The set of starts seen so far for one meter reading, as disjoint sorted runs.

    ``add`` answers which of the new starts were already present (or repeat within the batch)
    and records the rest. Appending later data (the normal case: blocks in time order) touches
    only the last run; a batch that reaches back into recorded time is merged exactly.
    """

    __slots__ = ("_lasts", "_runs")

    def __init__(self) -> None:
        """Start with no starts recorded."""
        self._runs: list[_Run] = []
        self._lasts: list[int] = []

    def __len__(self) -> int:
        """How many distinct starts are recorded."""
        return sum(len(run.starts()) for run in self._runs)

    @property
    def run_count(self) -> int:
        """How many runs hold the starts (1 for perfectly regular data)."""
        return len(self._runs)

    def add(self, starts: Iterable[int]) -> list[int]:
        """Record ``starts``; return the ones that were already recorded, in ascending order.

        A start repeated inside ``starts`` itself counts once per extra occurrence.
        """
        ordered = sorted(starts)
        if not ordered:
            return []
        distinct = [ordered[0]]
        repeated: list[int] = []
        for start in ordered[1:]:
            if start == distinct[-1]:
                repeated.append(start)
            else:
                distinct.append(start)
        if not self._runs or distinct[0] > self._lasts[-1]:
            self._append(_runs_of(distinct))
            return repeated
        return sorted(repeated + self._merge(distinct))

    def _append(self, runs: list[_Run]) -> None:
        """Add runs that all lie after every recorded start (the fast, common path)."""
        if self._runs:
            joined = _joined(self._runs[-1], runs[0])
            if joined is not None:
                self._runs[-1] = joined
                self._lasts[-1] = joined.last
                runs = runs[1:]
        self._runs.extend(runs)
        self._lasts.extend(run.last for run in runs)

    def _merge(self, distinct: list[int]) -> list[int]:
        """Merge starts that overlap recorded time; return those already recorded."""
        low = bisect_left(self._lasts, distinct[0])
        high = bisect_right([run.first for run in self._runs], distinct[-1])
        overlapped = self._runs[low:high]
        recorded: set[int] = set()
        for run in overlapped:
            recorded.update(run.starts())
        duplicates = [start for start in distinct if start in recorded]
        merged = _runs_of(sorted(recorded.union(distinct)))
        self._runs[low:high] = merged
        self._lasts[low:high] = [run.last for run in merged]
        return duplicates
