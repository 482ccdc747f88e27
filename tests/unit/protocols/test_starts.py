"""The run-compressed start index behaves exactly like a set of starts, in flat memory."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from opencustodian.protocols.starts import StartIndex

batches = st.lists(st.lists(st.integers(min_value=-50, max_value=400), max_size=40), max_size=12)
regular = st.lists(
    st.tuples(st.integers(0, 40), st.integers(1, 30), st.sampled_from([1, 2, 5, 900])), max_size=8
)


@given(batches)
def test_repeats_are_exactly_those_a_set_would_report(batches: list[list[int]]) -> None:
    index = StartIndex()
    seen: set[int] = set()
    for batch in batches:
        expected: list[int] = []
        for start in batch:
            if start in seen:
                expected.append(start)
            seen.add(start)
        assert index.add(batch) == sorted(expected)
        assert len(index) == len(seen)


@given(regular)
def test_progressions_in_any_order_are_exact(blocks: list[tuple[int, int, int]]) -> None:
    index = StartIndex()
    seen: set[int] = set()
    for offset, count, step in blocks:
        batch = [offset * 900 + i * step for i in range(count)]
        expected = sorted(start for start in batch if start in seen)
        seen.update(batch)
        assert index.add(reversed(batch)) == expected
    assert len(index) == len(seen)


def test_a_year_of_quarter_hours_is_one_run() -> None:
    index = StartIndex()
    day = 86_400
    for number in range(365):
        start = 1_700_000_000 + number * day
        assert index.add(range(start, start + day, 900)) == []
    assert index.run_count == 1
    assert len(index) == 365 * 96
    assert index.add([1_700_000_000 + 900]) == [1_700_000_900]
    assert index.run_count == 1


def test_irregular_starts_fill_gaps_between_runs() -> None:
    index = StartIndex()
    assert index.add([0, 10, 20, 100, 110]) == []
    assert index.add([50, 60]) == []
    assert index.add([5, 20, 60, 105]) == [20, 60]
    assert len(index) == 9
