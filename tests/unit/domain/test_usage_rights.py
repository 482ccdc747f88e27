"""What a grant lets a third party read: function-block gating, windows and coarsening."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from opencustodian.domain.metering import Channel, Commodity, Reading
from opencustodian.domain.scopes import CalendarPeriod, DataScope
from opencustodian.domain.usage_rights import UsageRights, coarsened, real_time, usage_rights
from opencustodian.kit.time import local_day_bounds

TWO_YEARS = 2 * 365 * 86_400
NEW_YORK = ZoneInfo("America/New_York")


def rights(*blocks: int, history: int | None = None) -> UsageRights:
    lengths = frozenset({history}) if history is not None else frozenset[int]()
    scope = DataScope(function_blocks=frozenset(blocks), history_lengths=lengths)
    return usage_rights([scope], TWO_YEARS)


def test_interval_data_needs_fb4_and_the_commodity_block():
    assert rights(4, 5).channels(Commodity.ELECTRICITY, net_metered=False) == {Channel.FORWARD}
    assert rights(5).channels(Commodity.ELECTRICITY, net_metered=False) == set()
    assert rights(4).channels(Commodity.ELECTRICITY, net_metered=False) == set()
    assert rights(4, 5).channels(Commodity.GAS, net_metered=False) == set()
    assert rights(4, 10).channels(Commodity.GAS, net_metered=False) == {Channel.FORWARD}
    assert rights(4, 11).channels(Commodity.WATER, net_metered=False) == {Channel.FORWARD}


def test_solar_homes_get_net_data_and_forward_reverse_only_with_fb8():
    assert rights(4, 5).channels(Commodity.ELECTRICITY, net_metered=True) == {Channel.NET}
    assert rights(4, 7).channels(Commodity.ELECTRICITY, net_metered=True) == {Channel.NET}
    assert rights(4, 8).channels(Commodity.ELECTRICITY, net_metered=True) == {
        Channel.FORWARD,
        Channel.REVERSE,
    }


def test_cost_and_summary_blocks():
    assert not rights(4, 5).costs
    assert rights(4, 5, 12).costs
    assert rights(15).summaries
    assert not rights(15).summary_costs
    assert rights(16).summaries
    assert rights(16).summary_costs
    assert not rights(4, 5).summaries


def test_history_is_the_longest_granted_and_capped():
    assert rights(4, 5).history_seconds == TWO_YEARS  # no HistoryLength: the utility's cap
    assert rights(4, 5, history=86_400).history_seconds == 86_400
    longer = rights(4, 5, history=10 * TWO_YEARS)
    assert longer.history_seconds == TWO_YEARS
    window = rights(4, 5, history=3600).window(10_000, None)
    assert (window.first, window.end) == (6_400, 10_000)
    ended = rights(4, 5).window(10_000_000, authorized_end=9_000_000)
    assert ended.end == 9_000_000


def test_several_scopes_give_their_union():
    both = usage_rights(
        [
            DataScope(function_blocks=frozenset({4, 5}), interval_durations=frozenset({900})),
            DataScope(function_blocks=frozenset({15})),
        ],
        TWO_YEARS,
    )
    assert both.summaries
    assert both.channels(Commodity.ELECTRICITY, net_metered=False) == {Channel.FORWARD}
    assert both.finest_interval is None  # the second scope states no interval limit


def test_finest_interval_is_the_finest_any_scope_allows():
    scope = DataScope(
        function_blocks=frozenset({4, 5}),
        interval_durations=frozenset({3600, CalendarPeriod.MONTH}),
    )
    assert usage_rights([scope], TWO_YEARS).finest_interval == 3600


def quarter_hours(start: int, count: int, *, cost: bool = True) -> list[Reading]:
    return [
        (start + 900 * index, 900, 100 + index, 5000 if cost else None, 0) for index in range(count)
    ]


def test_finer_readings_are_summed_to_the_allowed_interval():
    readings = quarter_hours(1_700_000_000 - 1_700_000_000 % 3600, 8)
    hourly = list(coarsened(readings, 3600, NEW_YORK, keep_cost=True))
    assert [(r[0], r[1]) for r in hourly] == [(readings[0][0], 3600), (readings[4][0], 3600)]
    assert hourly[0][2] == sum(r[2] for r in readings[:4])
    assert hourly[0][3] == 4 * 5000


def test_costs_are_dropped_without_fb12_and_estimates_taint_the_sum():
    readings = quarter_hours(1_700_000_000 - 1_700_000_000 % 3600, 4)
    readings[2] = (*readings[2][:4], 8)  # estimated (ReadingQuality 8)
    (hour,) = coarsened(readings, 3600, NEW_YORK, keep_cost=False)
    assert hour[3] is None
    assert hour[4] == 8


def test_no_limit_or_a_finer_limit_leaves_readings_alone():
    readings = quarter_hours(1_700_000_000, 5)
    assert list(coarsened(readings, None, NEW_YORK, keep_cost=True)) == readings
    assert list(coarsened(readings, 300, NEW_YORK, keep_cost=True)) == readings


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=300))
def test_daily_sums_follow_local_days_and_keep_the_total(day_offset: int, count: int):
    """Summing to local days (23–25 h at DST) never loses or invents energy."""
    start, _ = local_day_bounds(date(2025, 1, 1), NEW_YORK)
    start += day_offset * 86_400 - (day_offset * 86_400) % 3600
    readings = [(start + 3600 * i, 3600, i % 7, None, None) for i in range(count)]
    daily = list(coarsened(readings, CalendarPeriod.DAY, NEW_YORK, keep_cost=True))
    assert sum(r[2] for r in daily) == sum(r[2] for r in readings)
    assert sum(r[1] for r in daily) == 3600 * count
    starts = [r[0] for r in daily]
    assert starts == sorted(set(starts))


def test_real_time_readings_stop_at_the_offer_time_and_claim_no_validation() -> None:
    readings = [
        (0, 900, 5, None, 17),  # validated: stated as raw
        (900, 900, 6, 10, 8),  # estimated: the flag is kept
        (1800, 900, 7, None, None),  # no code: raw
        (2700, 900, 8, None, 14),  # ends after the offer time: not yet offered
    ]
    assert list(real_time(readings, offered_until=3000)) == [
        (0, 900, 5, None, 14),
        (900, 900, 6, 10, 8),
        (1800, 900, 7, None, 14),
    ]


def test_a_meter_recording_export_without_net_metering_shows_it_with_fb8() -> None:
    assert rights(1, 4, 5).channels(Commodity.ELECTRICITY, net_metered=False) == {Channel.FORWARD}
    assert rights(1, 4, 5, 8).channels(Commodity.ELECTRICITY, net_metered=False) == {
        Channel.FORWARD,
        Channel.REVERSE,
    }
