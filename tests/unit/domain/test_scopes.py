"""The canonical data scope: subset rules, narrowing, union, catalogue and consent wording."""

from __future__ import annotations

import string
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencustodian.domain.scopes import (
    DEPRECATED_FUNCTION_BLOCKS,
    CalendarPeriod,
    DataScope,
    FunctionBlock,
    ScopeError,
    coarsest_first,
    describe,
    function_block_title,
    humanize_seconds,
)

DAY, MONTH = CalendarPeriod.DAY, CalendarPeriod.MONTH
TWO_YEARS, ONE_DAY = 63_072_000, 86_400

durations = st.one_of(st.sampled_from(CalendarPeriod), st.integers(1, 10**9))
scopes = st.builds(
    DataScope,
    function_blocks=st.frozensets(st.integers(1, 70), max_size=8),
    interval_durations=st.frozensets(durations, max_size=4),
    block_durations=st.frozensets(durations, max_size=3),
    history_lengths=st.frozensets(st.integers(0, 10**9), max_size=2),
    subscription_frequency=st.none() | durations,
    account_collection=st.none() | st.integers(0, 50),
    bulk_id=st.none() | st.sampled_from(["1", "7"]),
    unknown_terms=st.lists(
        st.tuples(st.sampled_from(["AdditionalScope", "dataCustodianId"]), st.text(string.digits)),
        max_size=2,
    ).map(tuple),
)

# Seed 000 §3.1, "sample representation of scopes on a third-party portal" (as DataScopes).
CONSUMPTION_ELECTRIC = DataScope(
    function_blocks=frozenset({1, 3, 4, 5}),
    interval_durations=frozenset({MONTH, 3600, 900, 300}),
    block_durations=frozenset({MONTH, DAY}),
    history_lengths=frozenset({TWO_YEARS, ONE_DAY}),
)
BILLING_WITH_COST = DataScope(
    function_blocks=frozenset({1, 3, 15, 16}),
    interval_durations=frozenset({MONTH}),
    block_durations=frozenset({MONTH}),
    history_lengths=frozenset({TWO_YEARS}),
)


def _with(**changes: Any) -> DataScope:
    """Consumption Electric with some terms replaced."""
    return replace(CONSUMPTION_ELECTRIC, **changes)


# --- subset rules ---------------------------------------------------------------------------


def test_a_smaller_request_is_a_subset() -> None:
    request = DataScope(
        function_blocks=frozenset({1, 3, 4}),
        interval_durations=frozenset({900}),
        block_durations=frozenset({DAY}),
        history_lengths=frozenset({ONE_DAY}),
    )
    assert request.is_subset_of(CONSUMPTION_ELECTRIC)


def test_an_extra_function_block_is_not_a_subset() -> None:
    assert not _with(function_blocks=frozenset({1, 3, 4, 5, 16})).is_subset_of(CONSUMPTION_ELECTRIC)


@pytest.mark.parametrize(
    ("requested", "granted", "allowed"),
    [
        ({60}, {MONTH, 3600, 900, 300}, False),  # finer than the finest grant
        ({300}, {MONTH, 3600, 900, 300}, True),
        ({3600}, {MONTH}, False),  # hourly data under a monthly-only grant
        ({DAY}, {900}, True),  # coarser data reveals less
        ({2_592_000}, {MONTH}, True),  # 30 days of seconds is as coarse as "monthly"
        ({ONE_DAY}, {MONTH}, False),
        ({CalendarPeriod.BILLING_PERIOD}, {MONTH}, True),  # both month-long by convention
    ],
)
def test_intervals_may_not_be_finer_than_granted(requested, granted, allowed) -> None:
    request = _with(interval_durations=frozenset(requested))
    grant = _with(interval_durations=frozenset(granted))
    assert request.is_subset_of(grant) is allowed


def test_longer_history_is_not_a_subset() -> None:
    assert not _with(history_lengths=frozenset({94_608_000})).is_subset_of(CONSUMPTION_ELECTRIC)
    assert _with(history_lengths=frozenset({TWO_YEARS})).is_subset_of(CONSUMPTION_ELECTRIC)


def test_block_durations_must_have_been_granted() -> None:
    assert not _with(block_durations=frozenset({CalendarPeriod.WEEK})).is_subset_of(
        CONSUMPTION_ELECTRIC
    )
    assert _with(block_durations=frozenset({DAY})).is_subset_of(CONSUMPTION_ELECTRIC)


def test_frequency_accounts_and_bulk_id() -> None:
    grant = DataScope(subscription_frequency=DAY, account_collection=2, bulk_id="7")
    assert DataScope(subscription_frequency=CalendarPeriod.WEEK).is_subset_of(grant)
    assert not DataScope(subscription_frequency=3600).is_subset_of(grant)
    assert not DataScope(account_collection=3).is_subset_of(grant)
    assert not DataScope(bulk_id="8").is_subset_of(grant)
    assert DataScope(bulk_id="7", account_collection=1).is_subset_of(grant)


def test_unknown_terms_must_appear_in_the_grant() -> None:
    grant = DataScope(unknown_terms=(("dataCustodianId", "PGE"),))
    assert DataScope(unknown_terms=(("DATACUSTODIANID", "PGE"),)).is_subset_of(grant)
    assert not DataScope(unknown_terms=(("dataCustodianId", "SCE"),)).is_subset_of(grant)
    assert not DataScope(unknown_terms=(("AdditionalScope", "Usage"),)).is_subset_of(grant)


def test_terms_a_grant_does_not_state_cap_nothing() -> None:
    grant = DataScope(function_blocks=frozenset({1, 3, 4, 5}))
    assert CONSUMPTION_ELECTRIC.is_subset_of(grant)
    assert DataScope(function_blocks=frozenset({1})).is_subset_of(CONSUMPTION_ELECTRIC)


@given(scopes)
def test_every_scope_is_a_subset_of_itself(scope: DataScope) -> None:
    assert scope.is_subset_of(scope)


@given(scopes, scopes)
def test_both_scopes_are_subsets_of_their_union(first: DataScope, second: DataScope) -> None:
    if first.bulk_id and second.bulk_id and first.bulk_id != second.bulk_id:
        with pytest.raises(ScopeError, match="BR"):
            first.union(second)
        return
    union = first.union(second)
    assert first.is_subset_of(union)
    assert second.is_subset_of(union)


# --- narrowing ------------------------------------------------------------------------------


def test_narrowing_removes_function_blocks() -> None:
    narrowed = BILLING_WITH_COST.narrowed(remove_function_blocks=[16])
    assert narrowed.function_blocks == {1, 3, 15}
    assert narrowed.is_subset_of(BILLING_WITH_COST)
    assert not BILLING_WITH_COST.is_subset_of(narrowed)


def test_narrowing_cannot_add() -> None:
    with pytest.raises(ScopeError, match=r"\[7\]"):
        BILLING_WITH_COST.narrowed(remove_function_blocks=[16, 7])
    capped = BILLING_WITH_COST.narrowed(max_history_seconds=10 * TWO_YEARS)
    assert capped == BILLING_WITH_COST


def test_narrowing_caps_history() -> None:
    capped = CONSUMPTION_ELECTRIC.narrowed(max_history_seconds=31_536_000)
    assert capped.history_lengths == {31_536_000, ONE_DAY}
    assert DataScope().narrowed(max_history_seconds=ONE_DAY).history_lengths == {ONE_DAY}


@given(scopes, st.data())
def test_narrowed_scopes_are_always_subsets(scope: DataScope, data: st.DataObject) -> None:
    removed = data.draw(st.sets(st.sampled_from(sorted(scope.function_blocks) or [1])))
    removed &= scope.function_blocks
    cap = data.draw(st.none() | st.integers(0, 10**9))
    assert scope.narrowed(remove_function_blocks=removed, max_history_seconds=cap).is_subset_of(
        scope
    )


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"function_blocks": frozenset({0})},
        {"interval_durations": frozenset({0})},
        {"block_durations": frozenset({-900})},
        {"history_lengths": frozenset({-1})},
        {"account_collection": -1},
        {"subscription_frequency": 0},
    ],
)
def test_impossible_values_are_refused(bad) -> None:
    with pytest.raises(ScopeError):
        DataScope(**bad)


def test_durations_order_coarsest_first() -> None:
    assert coarsest_first([300, DAY, 3600, MONTH, 900]) == [MONTH, DAY, 3600, 900, 300]
    assert coarsest_first([ONE_DAY, DAY]) == [DAY, ONE_DAY]
    assert CONSUMPTION_ELECTRIC.finest_interval == 300
    assert CONSUMPTION_ELECTRIC.longest_history == TWO_YEARS
    assert DataScope().finest_interval is None


# --- catalogue ------------------------------------------------------------------------------


def test_catalogue_matches_research_section_11() -> None:
    current = {block for block in FunctionBlock if not block.deprecated}
    expected = {*range(1, 14), 15, 16, 17, *range(27, 32), 35, 37, 39, 40, 41, 44}
    expected |= {*range(51, 66), *range(67, 71)}
    assert current == expected
    assert {14, 18, 19, 32, 33, 34, 36, 38, 46, 47, 48, 49, 50, 66} == DEPRECATED_FUNCTION_BLOCKS
    assert all(block.title for block in FunctionBlock)


def test_function_block_titles() -> None:
    assert function_block_title(4) == "Interval Metering"
    assert function_block_title(14).endswith("(deprecated)")
    assert "not in the ESPI 4.0 catalogue" in function_block_title(45)


# --- consent wording (seed 000 §3.1 predefined scope sets) ------------------------------------


def test_describe_consumption_electric() -> None:
    assert describe(CONSUMPTION_ELECTRIC) == [
        "Your electricity usage in 5-minute, 15-minute, hourly and monthly intervals",
        "Up to 2 years of history",
    ]


def test_describe_consumption_electric_net() -> None:
    first, history = describe(_with(function_blocks=frozenset({1, 3, 4, 7})))
    assert first.startswith("Your net electricity usage in 5-minute, 15-minute, hourly and")
    assert "solar" in first
    assert history == "Up to 2 years of history"


def test_describe_consumption_gas() -> None:
    assert describe(_with(function_blocks=frozenset({1, 3, 4, 10})))[0] == (
        "Your gas usage in 5-minute, 15-minute, hourly and monthly intervals"
    )


def test_describe_billing_without_and_with_cost() -> None:
    without = BILLING_WITH_COST.narrowed(remove_function_blocks=[16])
    assert describe(without) == [
        "Your bill summaries: usage for each billing period, without costs",
        "Up to 2 years of history",
    ]
    assert describe(BILLING_WITH_COST) == ["Your bills with costs", "Up to 2 years of history"]


def test_describe_retail_customer() -> None:
    assert describe(DataScope(function_blocks=frozenset({51, 53, 56, 57, 58, 60}))) == [
        "Your account and billing details, such as account number",
        "Your service agreements with the utility",
        "The addresses where you receive service",
        "Details of your meters",
    ]


def test_describe_limits() -> None:
    scope = DataScope(subscription_frequency=DAY, account_collection=5)
    assert describe(scope) == ["New data sent daily", "Data for up to 5 service points"]
    assert describe(DataScope(subscription_frequency=ONE_DAY)) == ["New data sent every day"]
    assert describe(DataScope(function_blocks=frozenset({1, 3, 13, 31}))) == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (63_072_000, "2 years"),
        (63_113_904, "2 years"),  # seed 000's second authorization URL
        (94_608_000, "3 years"),
        (34_128_000, "13 months"),  # research/espi.md §6: "≈ 13 months"
        (86_400, "1 day"),
        (5_400, "90 minutes"),
        (13, "13 seconds"),  # legacy seed data meant months; the number is read as written
    ],
)
def test_humanize_seconds(seconds: int, text: str) -> None:
    assert humanize_seconds(seconds) == text
