"""``coarsened``'s single pass against the windowing it implements, on arbitrary series.

The feed hot path sums readings in one loop (no list per reading); this checks it against a
plain statement of the rule: consecutive readings starting in the same interval window are
summed, a reading already reaching its window's end passes as it is, costs only with FB 12.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from opencustodian.domain.usage_rights import coarsened

if TYPE_CHECKING:
    from opencustodian.domain.metering import Reading

NEW_YORK = ZoneInfo("America/New_York")
BASE = 1_700_000_100  # not window-aligned, so series start mid-window


@st.composite
def series(draw: st.DrawFn) -> list[Reading]:
    """Sorted readings of mixed lengths with gaps, optional costs and quality codes."""
    rows: list[Reading] = []
    start = BASE + draw(st.integers(0, 3_600))
    for _ in range(draw(st.integers(0, 40))):
        duration = draw(st.sampled_from([60, 300, 900, 3_600, 7_200]))
        cost = draw(st.none() | st.integers(0, 10_000))
        quality = draw(st.sampled_from([None, 0, 8, 17]))
        rows.append((start, duration, draw(st.integers(0, 5_000)), cost, quality))
        start += duration + draw(st.sampled_from([0, 0, 0, 300, 5_000]))
    return rows


def reference(readings: list[Reading], seconds: int, *, keep_cost: bool) -> list[Reading]:
    """The rule, stated plainly: runs of readings starting in one window, summed."""
    out: list[Reading] = []
    index = 0
    while index < len(readings):
        start, duration = readings[index][0], readings[index][1]
        end = start - start % seconds + seconds
        if start + duration >= end:
            run = [readings[index]]
        else:
            run = []
            while index + len(run) < len(readings) and readings[index + len(run)][0] < end:
                run.append(readings[index + len(run)])
        index += len(run)
        costs = [row[3] for row in run if row[3] is not None]
        flagged = [row[4] for row in run if row[4] not in {None, 0}]
        out.append(
            (
                run[0][0],
                run[-1][0] + run[-1][1] - run[0][0],
                sum(row[2] for row in run),
                sum(costs) if keep_cost and costs else None,
                flagged[0] if flagged else run[0][4],
            )
        )
    return out


@given(series(), st.sampled_from([300, 900, 3_600]), st.booleans())
def test_one_pass_equals_the_windowing_rule(
    readings: list[Reading],
    seconds: int,
    keep_cost: bool,  # noqa: FBT001 - drawn by hypothesis
) -> None:
    result = list(coarsened(iter(readings), seconds, NEW_YORK, keep_cost=keep_cost))
    assert result == reference(readings, seconds, keep_cost=keep_cost)


@given(series())
def test_readings_already_as_coarse_pass_through_as_they_are(readings: list[Reading]) -> None:
    hourly = [row for row in readings if row[1] >= 3_600 and row[0] % 3_600 == 0]
    assert list(coarsened(iter(hourly), 3_600, NEW_YORK, keep_cost=True)) == hourly
