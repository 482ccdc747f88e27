"""The readings CSV parser: exact decimal scaling, aware times, precise errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencustodian.domain.ingest import (
    ImportRejectedError,
    SourceMeterReading,
    SourceReadings,
    SourceRecord,
    SourceServicePoint,
    SourceWarning,
)
from opencustodian.domain.quality import KNOWN_QUALITY_CODES
from opencustodian.protocols.csv.readings import BATCH_SIZE, COLUMNS, parse_readings_csv
from opencustodian.protocols.csv.units import UNITS

HEADER = "meter,start,duration,value,unit,quality\n"


def parse(text: str | bytes, **options: int) -> list[SourceRecord]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_readings_csv(io.BytesIO(data), **options))


def rejection(text: str | bytes, **options: int) -> str:
    with pytest.raises(ImportRejectedError) as raised:
        parse(text, **options)
    return str(raised.value)


def readings_by_key(records: list[SourceRecord]) -> dict[str, list[tuple[object, ...]]]:
    result: dict[str, list[tuple[object, ...]]] = {}
    for record in records:
        if isinstance(record, SourceReadings):
            result.setdefault(record.meter_reading_key, []).extend(record.readings)
    return result


def test_a_small_file_yields_points_channels_and_readings_in_order() -> None:
    records = parse(
        "\ufeffunit,quality,value,meter,duration,start\r\n"
        "kWh,17,1.25,M-1,900,2024-03-10T00:00:00-05:00\r\n"
        "kWh,,0.5,M-1,900,2024-03-10T05:15:00Z\r\n"
        "Wh,14,7,M-1,900,2024-03-10T05:30:00Z\r\n"
        "CCF,,1.5,M-2,3600,2024-03-10T05:00:00+00:00\r\n"
        "\r\n"
        "therm,,0.125,M-2,86400,2024-03-10T00:00:00-05:00\r\n"
    )
    kinds = [type(record).__name__ for record in records]
    assert kinds[:2] == ["SourceServicePoint", "SourceMeterReading"]
    points = [record for record in records if isinstance(record, SourceServicePoint)]
    assert points == [
        SourceServicePoint(key="meter:M-1", meter_number="M-1"),
        SourceServicePoint(key="meter:M-2", meter_number="M-2"),
    ]
    channels = {r.key: r for r in records if isinstance(r, SourceMeterReading)}
    assert set(channels) == {"meter:M-1/Wh/900s", "meter:M-2/ft3/3600s", "meter:M-2/mtherm/86400s"}
    energy = channels["meter:M-1/Wh/900s"].reading_type
    assert (energy.uom, energy.power_of_ten_multiplier, energy.interval_length) == (72, 0, 900)
    gas = channels["meter:M-2/ft3/3600s"].reading_type
    assert (gas.uom, gas.power_of_ten_multiplier, gas.commodity) == (119, 0, 7)
    therms = channels["meter:M-2/mtherm/86400s"].reading_type
    assert (therms.uom, therms.power_of_ten_multiplier) == (169, -3)
    start = int(datetime(2024, 3, 10, 5, tzinfo=UTC).timestamp())
    assert readings_by_key(records) == {
        "meter:M-1/Wh/900s": [
            (start, 900, 1250, None, 17),
            (start + 900, 900, 500, None, None),
            (start + 1800, 900, 7, None, 14),
        ],
        "meter:M-2/ft3/3600s": [(start, 3600, 150, None, None)],
        "meter:M-2/mtherm/86400s": [(start, 86400, 125, None, None)],
    }


def test_the_quality_column_is_optional_and_units_are_case_insensitive() -> None:
    records = parse("meter,start,duration,value,unit\n7,2024-01-01T00:00:00Z,3600,-2.5,KW\n")
    (channel,) = [r for r in records if isinstance(r, SourceMeterReading)]
    assert (channel.reading_type.uom, channel.reading_type.kind) == (38, 8)
    assert readings_by_key(records)[channel.key] == [(1_704_067_200, 3600, -2500, None, None)]


def test_gallons_are_water() -> None:
    records = parse(HEADER + "W1,2024-01-01T00:00:00Z,86400,120,gal,\n")
    (channel,) = [r for r in records if isinstance(r, SourceMeterReading)]
    assert (channel.reading_type.uom, channel.reading_type.commodity) == (128, 4)


def test_readings_come_in_batches_of_at_most_ten_thousand() -> None:
    rows = "".join(
        f"M,{datetime.fromtimestamp(1_704_067_200 + i * 900, tz=UTC).isoformat()},900,{i},Wh,\n"
        for i in range(25_000)
    )
    records = parse(HEADER + rows)
    sizes = [len(r.readings) for r in records if isinstance(r, SourceReadings)]
    assert sizes == [BATCH_SIZE, BATCH_SIZE, 5_000]


def test_repeated_starts_are_counted_in_a_warning() -> None:
    records = parse(
        HEADER
        + "M,2024-01-01T00:00:00Z,900,1,Wh,\n"
        + "M,2024-01-01T00:15:00Z,900,2,Wh,\n"
        + "M,2024-01-01T00:00:00Z,900,3,Wh,\n"
    )
    (warning,) = [r for r in records if isinstance(r, SourceWarning)]
    assert "1 rows repeat a start given earlier (first at line 4)" in warning.message
    assert "the last row for each start is kept" in warning.message


def test_a_header_without_rows_imports_nothing_with_a_warning() -> None:
    records = parse(HEADER)
    assert records == [SourceWarning("the file has a header but no readings")]


# -- errors name the line and the column -----------------------------------------------------

GOOD_ROW = "M-1,2024-01-01T00:00:00Z,900,1,kWh,17\n"


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ("M-1,2024-03-10T02:30:00,900,1,kWh,", "start", "naive local times are ambiguous"),
        ("M-1,2024-03-10,900,1,kWh,", "start", "has no UTC offset"),
        ("M-1,yesterday,900,1,kWh,", "start", "not an ISO 8601 date-time"),
        ("M-1,2024-01-01T00:00:00.5Z,900,1,kWh,", "start", "not a whole second"),
        ("M-1,2024-01-01T00:00:00Z,0,1,kWh,", "duration", "not a positive whole number"),
        ("M-1,2024-01-01T00:00:00Z,-900,1,kWh,", "duration", "not a positive whole number"),
        ("M-1,2024-01-01T00:00:00Z,15m,1,kWh,", "duration", "not a positive whole number"),
        ("M-1,2024-01-01T00:00:00Z,900.5,1,kWh,", "duration", "not a positive whole number"),
        ("M-1,2024-01-01T00:00:00Z,900,1,kWh,5", "quality", "not a reading quality code"),
        ("M-1,2024-01-01T00:00:00Z,900,1,kWh,good", "quality", "not a reading quality code"),
        ("M-1,2024-01-01T00:00:00Z,900,abc,kWh,", "value", "not a decimal number"),
        ('M-1,2024-01-01T00:00:00Z,900,"1,5",kWh,', "value", "not a decimal number"),
        ("M-1,2024-01-01T00:00:00Z,900,NaN,kWh,", "value", "not a decimal number"),
        ("M-1,2024-01-01T00:00:00Z,900,1e3,kWh,", "value", "not a decimal number"),
        ("M-1,2024-01-01T00:00:00Z,900,,kWh,", "value", "not a decimal number"),
        ("M-1,2024-01-01T00:00:00Z,900,1.0005,kWh,", "value", "finer than the stored resolution"),
        ("M-1,2024-01-01T00:00:00Z,900,0.5,Wh,", "value", "finer than the stored resolution"),
        ("M-1,2024-01-01T00:00:00Z,900,1,MWh,", "unit", "unknown unit 'MWh'"),
        (",2024-01-01T00:00:00Z,900,1,kWh,", "meter", "the meter number is empty"),
    ],
)
def test_bad_rows_are_rejected_naming_line_and_column(row: str, column: str, problem: str) -> None:
    message = rejection(HEADER + GOOD_ROW + row + "\n")
    assert message.startswith(f"line 3, column {column!r}: ")
    assert problem in message


def test_a_row_with_the_wrong_number_of_fields_is_rejected() -> None:
    message = rejection(HEADER + "M-1,2024-01-01T00:00:00Z,900,1,kWh\n")
    assert message == "line 2: 5 fields, but the header has 6"


def test_a_missing_column_is_rejected() -> None:
    message = rejection("meter,start,duration,value\nM,2024-01-01T00:00:00Z,900,1\n")
    assert message == "line 1, column 'unit': missing column; the header must name it"


def test_an_extra_column_is_rejected() -> None:
    message = rejection("meter,start,duration,value,unit,comment\n")
    assert message.startswith("line 1, column 'comment': unknown column")
    assert "meter,start,duration,value,unit,quality" in message


def test_a_repeated_column_is_rejected() -> None:
    assert "appears twice" in rejection("meter,start,duration,value,unit,Meter\n")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "the file is empty"),
        ((HEADER + "M,2024-01-01T00:00:00Z,900,1,kWh,\n").encode("utf-16"), "not UTF-8 text"),
        (HEADER.encode() + b'M,"2024-01-01T00:00:00Z"x,900,1,kWh,\n', "malformed CSV"),
    ],
)
def test_unreadable_files_are_rejected(data: bytes, problem: str) -> None:
    assert problem in rejection(data)


def test_oversized_input_is_rejected() -> None:
    message = rejection(HEADER + GOOD_ROW * 1_000, max_bytes=4_096)
    assert "larger than the limit of 4,096 bytes" in message


# -- property: what goes in comes out, exactly -----------------------------------------------


class Row(NamedTuple):
    meter: str
    unit: str
    duration: int
    slot: int
    stored: int
    offset_minutes: int
    quality: int | None


OFFSETS = [0, -300, -240, 330, 60, -210]
rows_strategy = st.lists(
    st.builds(
        Row,
        meter=st.sampled_from(["M-1", "M-2", "77"]),
        unit=st.sampled_from(["kWh", "Wh", "CCF", "therm", "gal", "W", "kW", "KWH"]),
        duration=st.sampled_from([900, 3600]),
        slot=st.integers(0, 50_000),
        stored=st.integers(-(10**12), 10**12),
        offset_minutes=st.sampled_from(OFFSETS),
        quality=st.one_of(st.none(), st.sampled_from(sorted(KNOWN_QUALITY_CODES))),
    ),
    max_size=60,
    unique_by=lambda row: (row.meter, UNITS[row.unit.lower()].channel, row.duration, row.slot),
)


def _csv_text(rows: list[Row], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        epoch = 1_600_000_000 + row.slot * row.duration
        zone = timezone(timedelta(minutes=row.offset_minutes))
        start = datetime.fromtimestamp(epoch, tz=zone).isoformat().replace("+00:00", "Z")
        value = format(Decimal(row.stored) / UNITS[row.unit.lower()].factor, "f")
        quality = "" if row.quality is None else str(row.quality)
        fields = {
            "meter": row.meter,
            "start": start,
            "duration": str(row.duration),
            "value": value,
            "unit": row.unit,
            "quality": quality,
        }
        writer.writerow([fields[column] for column in columns])
    return buffer.getvalue()


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy, columns=st.permutations(list(COLUMNS)))
def test_parsed_readings_equal_the_rows_written(rows: list[Row], columns: list[str]) -> None:
    records = parse(_csv_text(rows, columns))
    expected: dict[str, list[tuple[object, ...]]] = {}
    for row in rows:
        key = f"meter:{row.meter}/{UNITS[row.unit.lower()].channel}/{row.duration}s"
        epoch = 1_600_000_000 + row.slot * row.duration
        expected.setdefault(key, []).append((epoch, row.duration, row.stored, None, row.quality))
    assert readings_by_key(records) == expected
    points = [r.key for r in records if isinstance(r, SourceServicePoint)]
    assert sorted(points) == sorted({f"meter:{row.meter}" for row in rows})
    assert not [r for r in records if isinstance(r, SourceWarning)] or not rows
