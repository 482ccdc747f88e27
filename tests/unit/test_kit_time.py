"""Aware-only time math and DST-length local days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencustodian.kit.time import (
    NaiveDatetimeError,
    from_epoch,
    local_date,
    local_day_bounds,
    local_month_bounds,
    require_aware,
    to_epoch,
)

NEW_YORK = ZoneInfo("America/New_York")


def test_naive_datetimes_are_refused():
    with pytest.raises(NaiveDatetimeError, match="no time zone"):
        require_aware(datetime(2024, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(NaiveDatetimeError):
        to_epoch(datetime(2024, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2024, 3, 10), 23), (date(2024, 11, 3), 25), (date(2024, 7, 4), 24)],
)
def test_local_days_are_23_24_or_25_hours(day, hours):
    start, end = local_day_bounds(day, NEW_YORK)
    assert end - start == hours * 3600


def test_month_containing_fall_back_is_one_hour_longer():
    start, end = local_month_bounds(2024, 11, NEW_YORK)
    assert end - start == 30 * 86_400 + 3600


@given(st.integers(min_value=0, max_value=4_102_444_800))
def test_epoch_round_trip(seconds):
    assert to_epoch(from_epoch(seconds)) == seconds


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 30)))
def test_every_instant_of_a_local_day_maps_back_to_it(day):
    start, end = local_day_bounds(day, NEW_YORK)
    assert local_date(start, NEW_YORK) == day
    assert local_date(end - 1, NEW_YORK) == day
    assert local_date(end, NEW_YORK) == day + timedelta(days=1)


def test_offsets_other_than_utc_are_accepted():
    moment = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-5)))
    assert from_epoch(to_epoch(moment)) == moment.astimezone(UTC)
