"""One-time agreement reports without a database: period, window, rows, units, quality, file.

Expected figures are written out by hand or computed here with ``zoneinfo`` and integer sums,
never with the helpers under test.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from opencustodian.domain.agreements import ReportDuration, ReportType
from opencustodian.domain.events import EventTag
from opencustodian.domain.metering import Channel, ChannelFacts, Commodity, ReadingType
from opencustodian.domain.self_service import DataReadEvent, MeterFacts, ServicePointName
from opencustodian.domain.usage_rights import ReadWindow
from opencustodian.services.agreement_reports import (
    MAX_ATTEMPTS,
    BuiltReport,
    ChannelSeries,
    ReadingGrade,
    ReportLayout,
    ReportStatus,
    build_report,
    fail_report,
    finish_report,
    reading_grade,
    report_channels,
    report_csv,
    report_file_name,
    report_period,
    report_window,
)
from opencustodian.services.self_service import access_log, agreement_report_words

NEW_YORK = ZoneInfo("America/New_York")
DAY = 86_400
TWO_YEARS = 2 * 365 * DAY
NOW = datetime(2026, 11, 3, 12, tzinfo=UTC)
WH_15 = ReadingType(commodity=1, kind=12, uom=72, accumulation_behaviour=4, interval_length=900)
WH_5 = ReadingType(commodity=1, kind=12, uom=72, accumulation_behaviour=4, interval_length=300)
RECEIVED_15 = ReadingType(
    commodity=1, kind=12, uom=72, accumulation_behaviour=4, flow_direction=19, interval_length=900
)
CUBIC_FEET_HOURLY = ReadingType(
    commodity=7, kind=58, uom=119, accumulation_behaviour=4, interval_length=3600
)


def midnight(day: date) -> int:
    """Epoch seconds of local midnight in New York, straight from zoneinfo."""
    return int(datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).timestamp())


def window(first: date, end: date) -> ReadWindow:
    return ReadWindow(midnight(first), midnight(end))


def layout(
    report_type: ReportType,
    days: tuple[date, date],
    *,
    received: bool = False,
    commodity: Commodity = Commodity.ELECTRICITY,
    meters: tuple[MeterFacts, ...] = (),
) -> ReportLayout:
    return ReportLayout(
        report_type=report_type,
        esiid="10443720007574303",
        commodity=commodity,
        with_received=received,
        zone=NEW_YORK,
        window=window(*days),
        meters=meters,
    )


def every(
    first: int, end: int, step: int, value: int = 100, quality: int = 17
) -> list[tuple[int, int, int, int | None, int | None]]:
    """Readings of ``step`` seconds covering ``[first, end)``, each ``value``."""
    return [(start, step, value, None, quality) for start in range(first, end, step)]


def parsed(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert "\r\n" in text  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(text, newline="")))


# -- the period and the window ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "accepted_on", "expected_start"),
    [
        (ReportDuration.ONE_DAY, date(2026, 11, 3), date(2026, 11, 2)),
        (ReportDuration.ONE_MONTH, date(2026, 11, 3), date(2026, 10, 3)),
        (ReportDuration.THREE_MONTHS, date(2026, 11, 3), date(2026, 8, 3)),
        (ReportDuration.SIX_MONTHS, date(2026, 11, 3), date(2026, 5, 3)),
        (ReportDuration.ONE_YEAR, date(2026, 11, 3), date(2025, 11, 3)),
        (ReportDuration.ONE_MONTH, date(2026, 3, 31), date(2026, 2, 28)),  # clamped
    ],
)
def test_the_period_is_the_last_duration_of_whole_days_before_acceptance(
    duration: ReportDuration, accepted_on: date, expected_start: date
) -> None:
    assert report_period(duration, accepted_on) == (expected_start, accepted_on)


def test_the_window_is_the_period_in_local_midnights() -> None:
    found = report_window(
        (date(2026, 10, 3), date(2026, 11, 3)),
        (date(2020, 1, 1), None),
        zone=NEW_YORK,
        max_history_seconds=TWO_YEARS,
        now=NOW,
    )
    assert found == ReadWindow(midnight(date(2026, 10, 3)), midnight(date(2026, 11, 3)))
    assert found.end - found.first == 31 * DAY + 3600  # the day DST ended has 25 hours


def test_the_window_never_starts_before_the_move_in_nor_ends_after_the_move_out() -> None:
    found = report_window(
        (date(2026, 10, 3), date(2026, 11, 3)),
        (date(2026, 10, 20), date(2026, 10, 30)),
        zone=NEW_YORK,
        max_history_seconds=TWO_YEARS,
        now=NOW,
    )
    assert found == ReadWindow(midnight(date(2026, 10, 20)), midnight(date(2026, 10, 30)))


def test_no_tenure_or_a_move_in_after_the_period_reads_nothing() -> None:
    period = (date(2026, 10, 3), date(2026, 11, 3))
    settings = {"zone": NEW_YORK, "max_history_seconds": TWO_YEARS, "now": NOW}
    assert report_window(period, None, **settings).is_empty  # type: ignore[arg-type]
    later = report_window(period, (date(2026, 11, 5), None), **settings)  # type: ignore[arg-type]
    assert later.is_empty


def test_the_history_limit_clips_to_the_next_whole_local_day() -> None:
    # 30 days before noon UTC on 3 November is 08:00 EDT on 4 October: the 4th is not whole.
    found = report_window(
        (date(2026, 10, 3), date(2026, 11, 3)),
        (date(2020, 1, 1), None),
        zone=NEW_YORK,
        max_history_seconds=30 * DAY,
        now=NOW,
    )
    assert found.first == midnight(date(2026, 10, 5))


def test_the_window_never_reaches_past_now() -> None:
    now = datetime(2026, 11, 2, 15, tzinfo=UTC)
    found = report_window(
        (date(2026, 10, 3), date(2026, 11, 3)),
        (date(2020, 1, 1), None),
        zone=NEW_YORK,
        max_history_seconds=TWO_YEARS,
        now=now,
    )
    assert found.end == int(now.timestamp())


# -- quality ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "grade"),
    [
        (None, ReadingGrade.ACTUAL),
        (0, ReadingGrade.ACTUAL),
        (17, ReadingGrade.ACTUAL),
        (19, ReadingGrade.ACTUAL),
        (14, ReadingGrade.PROVISIONAL),
        (10, ReadingGrade.PROVISIONAL),
        (7, ReadingGrade.ESTIMATED),
        (8, ReadingGrade.ESTIMATED),
        (9, ReadingGrade.ESTIMATED),
        (13, ReadingGrade.ESTIMATED),
    ],
)
def test_stored_quality_codes_become_three_words(code: int | None, grade: ReadingGrade) -> None:
    assert reading_grade(code) is grade
    assert grade.word in {"actual", "provisional", "estimated"}


# -- interval rows ----------------------------------------------------------------------------

OCT_3 = (date(2026, 10, 3), date(2026, 10, 4))


def test_five_minute_readings_are_summed_to_quarter_hours_with_their_worst_quality() -> None:
    start = midnight(date(2026, 10, 3))
    readings = [
        (start, 300, 100, None, 17),
        (start + 300, 300, 200, None, 17),
        (start + 600, 300, 300, None, 9),  # estimated
        (start + 900, 300, 400, None, 14),  # provisional
        (start + 1200, 300, 500, None, 17),
        (start + 1500, 300, 600, None, 17),
    ]
    content, rows = report_csv(
        layout(ReportType.INTERVAL, OCT_3), [ChannelSeries(Channel.FORWARD, WH_5, readings)]
    )
    assert rows == 2
    assert parsed(content) == [
        [
            "ESIID",
            "Meter Number",
            "Start",
            "End",
            "Interval Length (seconds)",
            "Consumption (kWh)",
            "Quality",
        ],
        [
            "10443720007574303",
            "",
            "2026-10-03T00:00:00-04:00",
            "2026-10-03T00:15:00-04:00",
            "900",
            "0.600",
            "estimated",
        ],
        [
            "10443720007574303",
            "",
            "2026-10-03T00:15:00-04:00",
            "2026-10-03T00:30:00-04:00",
            "900",
            "1.500",
            "provisional",
        ],
    ]


def test_coarser_readings_keep_their_own_interval_and_say_so() -> None:
    start = midnight(date(2026, 10, 3))
    readings = [(start, 3600, 150, None, 17), (start + 3600, 3600, 5, None, 17)]
    content, rows = report_csv(
        layout(ReportType.INTERVAL, OCT_3, commodity=Commodity.GAS),
        [ChannelSeries(Channel.FORWARD, CUBIC_FEET_HOURLY, readings)],
    )
    table = parsed(content)
    assert rows == 2
    assert table[0][5] == "Consumption (CCF)"
    assert [row[2:6] for row in table[1:]] == [
        ["2026-10-03T00:00:00-04:00", "2026-10-03T01:00:00-04:00", "3600", "1.50"],
        ["2026-10-03T01:00:00-04:00", "2026-10-03T02:00:00-04:00", "3600", "0.05"],
    ]


@pytest.mark.parametrize(
    ("day", "intervals", "hours"),
    [(date(2026, 3, 8), 92, 23), (date(2026, 11, 1), 100, 25), (date(2026, 10, 3), 96, 24)],
)
def test_a_dst_day_has_its_own_number_of_intervals_and_one_daily_row(
    day: date, intervals: int, hours: int
) -> None:
    first, end = midnight(day), midnight(day + timedelta(days=1))
    readings = every(first, end, 900, value=250)
    series = [ChannelSeries(Channel.FORWARD, WH_15, readings)]
    days = (day, day + timedelta(days=1))

    content, rows = report_csv(layout(ReportType.INTERVAL, days), series)
    assert rows == intervals
    starts = [row[2] for row in parsed(content)[1:]]
    assert len(set(starts)) == intervals  # the repeated hour is two distinct offsets

    daily, one = report_csv(layout(ReportType.DAILY, days), series)
    assert one == 1
    row = parsed(daily)[1]
    assert Decimal(row[4]) == Decimal(250 * intervals) / 1000
    assert row[4].endswith(".000")  # the stored resolution, 1 Wh, in kWh
    start, end_text = datetime.fromisoformat(row[2]), datetime.fromisoformat(row[3])
    assert end_text - start == timedelta(hours=hours)  # aware subtraction: real elapsed time


def test_monthly_rows_are_calendar_months_partial_at_the_period_edges() -> None:
    days = (date(2026, 10, 3), date(2026, 11, 3))
    hourly = every(midnight(days[0]), midnight(days[1]), 3600, value=7)
    content, rows = report_csv(
        layout(ReportType.MONTHLY, days), [ChannelSeries(Channel.FORWARD, WH_15, hourly)]
    )
    table = parsed(content)
    assert rows == 2
    october_hours = (midnight(date(2026, 11, 1)) - midnight(days[0])) // 3600
    november_hours = (midnight(days[1]) - midnight(date(2026, 11, 1))) // 3600
    assert november_hours == 49  # 1 November has 25 hours
    assert [row[2:5] for row in table[1:]] == [
        [
            "2026-10-03T00:00:00-04:00",
            "2026-11-01T00:00:00-04:00",
            str(Decimal(7 * october_hours) / 1000),
        ],
        [
            "2026-11-01T00:00:00-04:00",
            "2026-11-03T00:00:00-05:00",
            str(Decimal(7 * november_hours) / 1000),
        ],
    ]


def test_a_net_metered_point_reports_delivered_and_received_energy() -> None:
    start = midnight(date(2026, 10, 3))
    delivered = every(start, start + 1800, 900, value=120)
    received = [(start + 900, 900, 2_000, None, 14)]  # only the second quarter hour
    content, rows = report_csv(
        layout(ReportType.INTERVAL, OCT_3, received=True),
        [
            ChannelSeries(Channel.FORWARD, WH_15, delivered),
            ChannelSeries(Channel.REVERSE, RECEIVED_15, received),
        ],
    )
    table = parsed(content)
    assert table[0][5:] == ["Consumption (kWh)", "Received from Customer (kWh)", "Quality"]
    assert rows == 2
    assert [row[5:] for row in table[1:]] == [
        ["0.120", "", "actual"],
        ["0.120", "2.000", "provisional"],
    ]


def test_two_channels_of_one_direction_never_count_a_moment_twice() -> None:
    start = midnight(date(2026, 10, 3))
    kilowatt_hours = ReadingType(
        commodity=1, kind=12, uom=72, power_of_ten_multiplier=3, interval_length=900
    )
    quarter_hours = every(start, start + 3600, 900, value=1)  # 1 kWh each, stored in kWh
    five_minutes = every(start + 1800, start + 5400, 300, value=10)  # Wh, overlapping 30 min
    content, rows = report_csv(
        layout(ReportType.INTERVAL, OCT_3),
        [
            ChannelSeries(Channel.FORWARD, kilowatt_hours, quarter_hours),
            ChannelSeries(Channel.FORWARD, WH_5, five_minutes),
        ],
    )
    values = [row[5] for row in parsed(content)[1:]]
    assert rows == 6
    assert values == ["1.000", "1.000", "1.000", "1.000", "0.030", "0.030"]


def test_only_readings_wholly_inside_the_window_count() -> None:
    first, end = midnight(OCT_3[0]), midnight(OCT_3[1])
    readings = [
        (first - 900, 900, 1, None, 17),  # before the window
        (first, 900, 2, None, 17),
        (end - 900, 1800, 4, None, 17),  # starts inside, ends after the window
    ]
    content, rows = report_csv(
        layout(ReportType.DAILY, OCT_3), [ChannelSeries(Channel.FORWARD, WH_15, readings)]
    )
    assert rows == 1
    assert parsed(content)[1][4] == "0.002"


def test_large_and_zero_values_are_plain_decimals() -> None:
    start = midnight(date(2026, 10, 3))
    readings = [(start, 900, 10**12, None, 17), (start + 900, 900, 0, None, 17)]
    content, _ = report_csv(
        layout(ReportType.INTERVAL, OCT_3), [ChannelSeries(Channel.FORWARD, WH_15, readings)]
    )
    values = [row[5] for row in parsed(content)[1:]]
    assert values == ["1000000000.000", "0.000"]
    assert not any("E" in value for value in values)


def test_no_readings_is_a_header_only_csv() -> None:
    content, rows = report_csv(layout(ReportType.DAILY, OCT_3), [])
    assert rows == 0
    assert content == b"ESIID,Meter Number,Start,End,Consumption (kWh),Quality\r\n"


def test_each_row_names_the_meter_in_service_when_it_starts() -> None:
    exchange = date(2026, 10, 5)
    point = uuid.uuid4()
    meters = (
        MeterFacts(point, "OLD-1", date(2020, 1, 1), exchange),
        MeterFacts(point, "NEW-2", exchange, None),
    )
    days = (date(2026, 10, 3), date(2026, 10, 7))
    readings = every(midnight(days[0]), midnight(days[1]), 3600, value=1)
    content, _ = report_csv(
        layout(ReportType.DAILY, days, meters=meters),
        [ChannelSeries(Channel.FORWARD, WH_15, readings)],
    )
    assert [row[1] for row in parsed(content)[1:]] == ["OLD-1", "OLD-1", "NEW-2", "NEW-2"]


# -- which channels ---------------------------------------------------------------------------


def facts(channel: Channel, reading_type: ReadingType) -> ChannelFacts:
    return ChannelFacts(1, uuid.uuid4(), 1, channel, None, reading_type)


def test_reports_sum_delivered_and_received_energy_never_net_demand_or_registers() -> None:
    delivered = facts(Channel.FORWARD, WH_15)
    received = facts(Channel.REVERSE, RECEIVED_15)
    net = facts(Channel.NET, WH_15)
    demand = facts(
        Channel.FORWARD, ReadingType(commodity=1, kind=8, uom=38, accumulation_behaviour=6)
    )
    register = facts(
        Channel.FORWARD, ReadingType(commodity=1, kind=12, uom=72, accumulation_behaviour=9)
    )
    chosen = report_channels(Commodity.ELECTRICITY, [delivered, received, net, demand, register])
    assert chosen == [delivered, received]


def test_gas_is_reported_in_ccf_when_there_is_volume_else_in_therms() -> None:
    therms = facts(
        Channel.FORWARD, ReadingType(commodity=7, kind=12, uom=169, power_of_ten_multiplier=-3)
    )
    volume = facts(Channel.FORWARD, CUBIC_FEET_HOURLY)
    assert report_channels(Commodity.GAS, [therms, volume]) == [volume]
    assert report_channels(Commodity.GAS, [therms]) == [therms]
    assert report_channels(Commodity.WATER, [therms]) == []


# -- one report, end to end, over fakes -------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    id: int = 5
    agreement_id: int = 9
    agreement_number: str = "102512000233"
    report_type: ReportType = ReportType.DAILY
    esiid: str = "10443720007574303"
    service_point_id: int = 1
    service_point_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    commodity: Commodity = Commodity.ELECTRICITY
    net_metered: bool = False
    account_id: int = 3
    period_start: date = date(2026, 10, 3)
    period_end: date = date(2026, 10, 6)
    client_id: str = "client-abc"


@dataclass
class FakeSource:
    tenure_found: tuple[date, date | None] | None = (date(2020, 1, 1), None)
    asked: list[tuple[int, int, int]] = field(default_factory=list)

    def tenure(self, account_id: int, service_point_id: int, before: date):
        assert (account_id, service_point_id, before) == (3, 1, date(2026, 10, 6))
        return self.tenure_found

    def channels(self, service_point_id: int) -> list[ChannelFacts]:
        assert service_point_id == 1
        return [facts(Channel.FORWARD, WH_15)]

    def readings(self, channel_id: int, first: int, end: int):
        self.asked.append((channel_id, first, end))
        return every(first, end, 900, value=10)

    def meters(self, service_point_id: int) -> list[MeterFacts]:
        assert service_point_id == 1
        return []


def test_build_report_reads_the_clipped_window_and_names_and_hashes_the_file() -> None:
    source = FakeSource(tenure_found=(date(2026, 10, 4), None))
    built = build_report(source, Facts(), zone=NEW_YORK, max_history_seconds=TWO_YEARS, now=NOW)
    assert source.asked == [(1, midnight(date(2026, 10, 4)), midnight(date(2026, 10, 6)))]
    assert built.row_count == 2  # the 4th and 5th: the customer moved in on the 4th
    assert built.file_name == "agreement-102512000233-daily-2026-10-03-2026-10-05.csv"
    assert built.sha256 == hashlib.sha256(built.content).hexdigest()
    assert [row[4] for row in parsed(built.content)[1:]] == ["0.960", "0.960"]


def test_build_report_reads_nothing_for_an_empty_window() -> None:
    source = FakeSource(tenure_found=None)
    built = build_report(source, Facts(), zone=NEW_YORK, max_history_seconds=TWO_YEARS, now=NOW)
    assert source.asked == []
    assert built.row_count == 0
    assert parsed(built.content) == [
        ["ESIID", "Meter Number", "Start", "End", "Consumption (kWh)", "Quality"]
    ]


def test_the_file_name_holds_the_number_type_and_the_days_covered() -> None:
    name = report_file_name(
        "000000000042", ReportType.INTERVAL, (date(2026, 1, 1), date(2026, 2, 1))
    )
    assert name == "agreement-000000000042-interval-2026-01-01-2026-01-31.csv"


@dataclass
class FakeStore:
    holds: bool = True
    results: list[tuple[int, int, str]] = field(default_factory=list)
    failures: list[tuple[int, int, str, bool]] = field(default_factory=list)
    events: list[tuple[str, str, dict[str, object], str]] = field(default_factory=list)

    def store_result(self, report_id: int, attempt: int, **result: object) -> bool:
        if self.holds:
            self.results.append((report_id, attempt, str(result["file_name"])))
        return self.holds

    def store_failure(
        self, report_id: int, attempt: int, error: str, now: datetime, *, final: bool
    ) -> bool:
        assert now == NOW
        if self.holds:
            self.failures.append((report_id, attempt, error, final))
        return self.holds

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        self.events.append((tag, subject, data, actor))


BUILT = BuiltReport("a.csv", b"x", 0, hashlib.sha256(b"x").hexdigest(), ReadWindow(0, 0))


def test_a_stored_report_is_audited_as_the_third_partys_read() -> None:
    store = FakeStore()
    report = Facts()
    assert finish_report(store, report, BUILT, attempt=1, now=NOW)
    assert store.results == [(5, 1, "a.csv")]
    [(tag, subject, data, actor)] = store.events
    assert tag == EventTag.AGREEMENT_REPORT_READ
    assert str(tag) == "agreement:data:read"
    assert subject == "agreement:102512000233"
    assert actor == "client:client-abc"
    assert data["usage_points"] == [str(report.service_point_uuid)]
    assert data["path"] == "agreements/102512000233"
    assert (data["from"], data["to"]) == ("2026-10-03", "2026-10-05")


def test_a_fenced_out_run_stores_and_audits_nothing() -> None:
    store = FakeStore(holds=False)
    assert not finish_report(store, Facts(), BUILT, attempt=1, now=NOW)
    assert store.events == []
    assert fail_report(store, 5, 1, "boom", NOW) is None


def test_failures_are_retried_until_the_last_attempt() -> None:
    store = FakeStore()
    statuses = [fail_report(store, 5, attempt, "x" * 900, NOW) for attempt in (1, 2, 3)]
    assert statuses == [ReportStatus.PENDING, ReportStatus.PENDING, ReportStatus.FAILED]
    assert [final for *_, final in store.failures] == [False, False, True]
    assert all(len(error) == 500 for _, _, error, _ in store.failures)
    assert MAX_ATTEMPTS == 3


# -- the customer's access log ----------------------------------------------------------------


@dataclass
class FakeDirectory:
    point: uuid.UUID
    reads: list[DataReadEvent]

    def data_reads(self, customer_id: int, *, skip: int, limit: int) -> list[DataReadEvent]:
        assert customer_id == 1
        return self.reads[skip : skip + limit]

    def service_point_names(self, customer_id: int) -> list[ServicePointName]:
        assert customer_id == 1
        return [ServicePointName(self.point, Commodity.ELECTRICITY, "400 N Olive Street")]


def test_the_access_log_describes_a_report_read_by_company_and_agreement() -> None:
    point = uuid.uuid4()
    read = DataReadEvent(
        occurred_at=NOW,
        third_party="Green Energy Services",
        path="agreements/102512000233",
        usage_points=(str(point),),
        api="agreement",
    )
    page = access_log(FakeDirectory(point, [read]), 1, page=1, zone=NEW_YORK)  # type: ignore[arg-type]
    [entry] = page.entries
    assert entry.third_party == "Green Energy Services"
    assert entry.what == "Usage report for agreement 102512000233"
    assert entry.api == "Energy Data Agreement"
    assert entry.services == ("Electricity at 400 N Olive Street",)
    assert agreement_report_words("") == "A usage report you agreed to"
