"""Local time from LocalTimeParameters, and totals per local day and hour across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from opencustodian.client import (
    IntervalValue,
    LocalTimeParameters,
    daily_totals,
    hourly_totals,
    local_day,
    parse_usage_feed,
)
from opencustodian.client.local_time import DstRule, LocalTimeError
from opencustodian.protocols.espi.local_time import local_time_parameters
from tests.samples import SAMPLES

NEW_YORK = ZoneInfo("America/New_York")
US_RULES = LocalTimeParameters(-18000, 3600, 0x360E2000, 0xB40E2000)


def epoch(year: int, month: int, day: int, hour: int = 0, *, zone: ZoneInfo = NEW_YORK) -> int:
    return int(datetime(year, month, day, hour, tzinfo=zone).timestamp())


def test_the_us_rules_decode_as_the_xsd_says():
    assert DstRule.decode(0x360E2000) == DstRule(3, 3, 0, 7, 2, 0)  # 2nd Sunday of March 02:00
    assert DstRule.decode(0xB40E2000) == DstRule(11, 2, 0, 7, 2, 0)  # 1st Sunday of November
    assert DstRule.decode(0x360E2000).day_in(2026) == date(2026, 3, 8)
    assert DstRule.decode(0xB40E2000).day_in(2026) == date(2026, 11, 1)


@pytest.mark.parametrize(
    "zone", ["America/New_York", "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney"]
)
def test_the_custodians_encoding_decodes_to_the_zones_offsets(zone):
    """Encoded by the custodian's writer, decoded by the client: every hour of two years."""
    tz = ZoneInfo(zone)
    for year in (2025, 2026):
        encoded = local_time_parameters(tz, year)
        params = LocalTimeParameters(
            encoded.tz_offset, encoded.dst_offset, encoded.dst_start_rule, encoded.dst_end_rule
        )
        assert params.observes_dst
        first = int(datetime(year, 1, 2, tzinfo=UTC).timestamp())
        last = int(datetime(year, 12, 30, tzinfo=UTC).timestamp())
        for instant in range(first, last, 3600):
            expected = datetime.fromtimestamp(instant, tz).utcoffset()
            assert expected is not None
            assert params.utc_offset(instant) == expected.total_seconds(), (zone, instant)


def test_no_dst_is_the_standard_offset():
    arizona = LocalTimeParameters(-25200)
    assert not arizona.observes_dst
    assert arizona.utc_offset(epoch(2026, 7, 1, 12)) == -25200


@pytest.mark.parametrize(
    "values",
    [
        {"tz_offset": 20 * 3600},
        {"tz_offset": 0, "dst_offset": -3600},
        {"tz_offset": 0, "dst_offset": 3600, "dst_start_rule": 0, "dst_end_rule": 0xB40E2000},
    ],
    ids=["offset", "negative-dst", "rule-without-month"],
)
def test_impossible_parameters_are_refused(values):
    with pytest.raises(LocalTimeError):
        LocalTimeParameters(**values)


def quarter_hours(first: int, last: int, value: str = "0.25") -> list[IntervalValue]:
    return [IntervalValue(start, 900, Decimal(value)) for start in range(first, last, 900)]


def test_a_fall_back_day_has_25_hours_and_two_one_oclocks():
    day = date(2026, 11, 1)
    readings = quarter_hours(epoch(2026, 10, 31, 12), epoch(2026, 11, 2, 12))
    for zone in (US_RULES, NEW_YORK):
        days = daily_totals(readings, zone)
        assert [total.day for total in days] == [date(2026, 10, 31), day, date(2026, 11, 2)]
        assert days[1].readings == 100  # 25 hours of quarter hours
        assert days[1].value == Decimal("25.00")
        assert days[1].start == datetime(2026, 11, 1, tzinfo=NEW_YORK)
        hours = hourly_totals(readings, zone, day=day)
        assert len(hours) == 25
        assert {total.value for total in hours} == {Decimal("1.00")}
        labels = [total.start.strftime("%H %z") for total in hours[:4]]
        assert labels == ["00 -0400", "01 -0400", "01 -0500", "02 -0500"]


def test_a_spring_forward_day_has_23_hours():
    readings = quarter_hours(epoch(2026, 3, 8, 0), epoch(2026, 3, 9, 0))
    (total,) = daily_totals(readings, US_RULES)
    assert (total.day, total.readings) == (date(2026, 3, 8), 92)
    hours = hourly_totals(readings, US_RULES)
    assert [h.start.hour for h in hours[:3]] == [0, 1, 3]


def test_without_a_zone_days_are_utc():
    readings = quarter_hours(epoch(2026, 6, 1, 0, zone=ZoneInfo("UTC")), epoch(2026, 6, 2, 1))
    days = daily_totals(readings)
    assert [total.day for total in days] == [date(2026, 6, 1), date(2026, 6, 2)]
    assert local_day(epoch(2026, 6, 1, 23)) == date(2026, 6, 2)  # 23:00 New York is UTC next day
    assert local_day(epoch(2026, 6, 1, 23), NEW_YORK) == date(2026, 6, 1)


def test_a_reading_counts_on_the_day_it_starts():
    monthly = [IntervalValue(epoch(2026, 1, 1), 31 * 86400, Decimal(300))]
    (total,) = daily_totals(monthly, NEW_YORK)
    assert (total.day, total.value) == (date(2026, 1, 1), Decimal(300))


def test_the_dst_day_of_a_real_sample():
    """test_usage_data.xml spans 11 March 2012, a 23-hour day in its own LocalTimeParameters."""
    feed = parse_usage_feed((SAMPLES / "test_usage_data.xml").read_bytes())
    readings = feed.usage_points[0].meter_readings[0].readings
    days = {total.day: total for total in daily_totals(readings, feed.local_time)}
    assert days[date(2012, 3, 11)].readings == 92
    assert days[date(2012, 3, 10)].readings == 96
    assert sum(total.value for total in days.values()) == sum(r.value for r in readings)
    hours = hourly_totals(readings, feed.local_time, day=date(2012, 3, 11))
    assert len(hours) == 23
    assert [hour.start.hour for hour in hours[:3]] == [0, 1, 3]  # the wall clock skips 02:00
    assert hours[2].start - hours[1].start == timedelta(hours=1)
