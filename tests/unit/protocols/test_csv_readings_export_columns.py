"""The readings CSV reads the Download My Data columns: channel, cost, currency, service point."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencustodian.domain.ingest import (
    ImportRejectedError,
    SourceMeterReading,
    SourceReadings,
    SourceRecord,
    SourceServicePoint,
)
from opencustodian.domain.metering import Channel, Reading, ReadingType
from opencustodian.domain.quality import KNOWN_QUALITY_CODES
from opencustodian.protocols.csv.readings import BATCH_SIZE, parse_readings_csv
from opencustodian.protocols.csv.usage_export import CsvChannel, usage_csv
from opencustodian.protocols.limits import INT48_MAX

EXPORT_HEADER = "service_point,meter,channel,start,duration,value,unit,cost,currency,quality\n"
POINT = "b556f96d-3d5e-5b3c-9a43-2f3e8c1d0a11"
ZONE = ZoneInfo("America/New_York")


def parse(text: str) -> list[SourceRecord]:
    return list(parse_readings_csv(io.BytesIO(text.encode())))


def rejection(text: str) -> str:
    with pytest.raises(ImportRejectedError) as raised:
        parse(text)
    return str(raised.value)


def channels(records: list[SourceRecord]) -> dict[str, ReadingType]:
    return {r.key: r.reading_type for r in records if isinstance(r, SourceMeterReading)}


def readings(records: list[SourceRecord]) -> dict[str, list[Reading]]:
    found: dict[str, list[Reading]] = {}
    for record in records:
        if isinstance(record, SourceReadings):
            found.setdefault(record.meter_reading_key, []).extend(record.readings)
    return found


def test_an_exported_file_yields_each_channel_with_its_direction_costs_and_currency() -> None:
    records = parse(
        EXPORT_HEADER
        + f"{POINT},E1,forward,2026-11-01T01:00:00-04:00,900,0.412,kWh,0.05871,USD,17\n"
        + f"{POINT},E1,reverse,2026-11-01T01:00:00-04:00,900,1.5,kWh,-0.2,USD,14\n"
        + f"{POINT},E1,net,2026-11-01T01:00:00-04:00,900,-1.088,kWh,-0.14129,USD,17\n"
        + f"{POINT},E1,net,2026-11-01T01:00:00-05:00,900,0,kWh,,,\n"
    )
    types = channels(records)
    assert set(types) == {"meter:E1/Wh/900s", "meter:E1/Wh/reverse/900s", "meter:E1/Wh/net/900s"}
    assert [(t.flow_direction, t.currency, t.uom) for t in types.values()] == [
        (1, 840, 72),
        (19, 840, 72),
        (4, 840, 72),
    ]
    start = 1_793_509_200  # 2026-11-01T05:00Z
    assert readings(records) == {
        "meter:E1/Wh/900s": [(start, 900, 412, 5871, 17)],
        "meter:E1/Wh/reverse/900s": [(start, 900, 1500, -20000, 14)],
        "meter:E1/Wh/net/900s": [
            (start, 900, -1088, -14129, 17),
            (start + 3600, 900, 0, None, None),
        ],
    }
    points = [r for r in records if isinstance(r, SourceServicePoint)]
    assert points == [SourceServicePoint(key="meter:E1", meter_number="E1")]  # not the uuid


def test_channel_is_forward_when_blank_and_read_in_any_case() -> None:
    records = parse(
        "meter,start,duration,value,unit,channel\n"
        "M,2024-01-01T00:00:00Z,900,1,kWh,\n"
        "M,2024-01-01T00:15:00Z,900,2,kWh,Forward\n"
        "M,2024-01-01T00:00:00Z,900,3,kWh,NET\n"
    )
    assert {key: t.flow_direction for key, t in channels(records).items()} == {
        "meter:M/Wh/900s": 1,
        "meter:M/Wh/net/900s": 4,
    }
    assert len(readings(records)["meter:M/Wh/900s"]) == 2


def test_costs_are_exact_and_trailing_zeros_are_not_extra_places() -> None:
    records = parse(
        "meter,start,duration,value,unit,cost\n"
        "M,2024-01-01T00:00:00Z,900,1,kWh,0.0500000\n"
        "M,2024-01-01T00:15:00Z,900,1,kWh,-.00001\n"
        "M,2024-01-01T00:30:00Z,900,1,kWh,1407374883.55327\n"
        "M,2024-01-01T00:45:00Z,900,1,kWh,  \n"
    )
    costs = [reading[3] for reading in readings(records)["meter:M/Wh/900s"]]
    assert costs == [5000, -1, INT48_MAX, None]
    assert channels(records)["meter:M/Wh/900s"].currency is None  # costs, no currency named


def test_the_currency_of_a_channel_is_the_one_its_rows_name_even_after_costless_rows() -> None:
    records = parse(
        "meter,start,duration,value,unit,cost,currency\n"
        "M,2024-01-01T00:00:00Z,900,1,kWh,,\n"
        "M,2024-01-01T00:15:00Z,900,1,kWh,0.1,cad\n"
        "M,2024-01-01T00:30:00Z,900,1,kWh,0.2,\n"
        "G,2024-01-01T00:00:00Z,3600,1,CCF,0.3,EUR\n"
    )
    assert {key: t.currency for key, t in channels(records).items()} == {
        "meter:M/Wh/900s": 124,
        "meter:G/ft3/3600s": 978,
    }


GOOD = "M,2024-01-01T00:00:00Z,900,1,kWh,forward,0.1,USD\n"
HEADER = "meter,start,duration,value,unit,channel,cost,currency\n"


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ("M,2024-01-01T00:15:00Z,900,1,kWh,up,,", "channel", "not a channel (forward, reverse"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,abc,", "cost", "not a decimal number"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,1e3,", "cost", "not a decimal number"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,$1.00,", "cost", "not a decimal number"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,0.000001,", "cost", "more than 5 decimal places"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,1407374883.55328,", "cost", "is too large"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,-1407374883.55328,", "cost", "is too large"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,1,GBP", "currency", "not an ISO 4217 currency code"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,1,dollars", "currency", "not an ISO 4217"),
        ("M,2024-01-01T00:15:00Z,900,1,kWh,,1,CAD", "currency", "earlier rows of meter M"),
        (
            "M,2024-01-01T00:15:00Z,900,1.00000000000000000000000000001,kWh,,,",
            "value",
            "finer than the stored resolution",
        ),
        (
            "M,2024-01-01T00:15:00Z,900,1,kWh,,0.100000000000000000000000000001,",
            "cost",
            "more than 5 decimal places",
        ),
    ],
)
def test_bad_export_columns_are_rejected_naming_line_and_column(
    row: str, column: str, problem: str
) -> None:
    message = rejection(HEADER + GOOD + row + "\n")
    assert message.startswith(f"line 3, column {column!r}: ")
    assert problem in message


def test_a_currency_first_named_after_the_first_batch_is_rejected() -> None:
    body = "".join(f"M,{_iso(1_704_067_200 + i * 900)},900,1,kWh,,,\n" for i in range(BATCH_SIZE))
    late = f"M,{_iso(1_704_067_200 + BATCH_SIZE * 900)},900,1,kWh,,0.1,USD\n"
    message = rejection(HEADER + body + late)
    assert message.startswith(f"line {BATCH_SIZE + 2}, column 'currency': 'USD' is first named")


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def test_unknown_columns_are_still_rejected_and_the_message_lists_the_optional_ones() -> None:
    message = rejection("meter,start,duration,value,unit,comment\n")
    assert message.startswith("line 1, column 'comment': unknown column")
    assert "quality, channel, cost, currency, service_point are optional" in message


# -- property: the export writer's rows read back to the same readings ----------------------

WH = ReadingType(commodity=1, kind=12, uom=72, currency=840)
reading_lists = st.lists(
    st.tuples(
        st.integers(0, 20_000),
        st.integers(-(10**12), 10**12),
        st.one_of(st.none(), st.integers(-INT48_MAX, INT48_MAX)),
        st.one_of(st.none(), st.sampled_from(sorted(KNOWN_QUALITY_CODES))),
    ),
    max_size=30,
    unique_by=lambda row: row[0],
)


@settings(max_examples=100, deadline=None)
@given(by_channel=st.fixed_dictionaries(dict.fromkeys(Channel, reading_lists)))
def test_what_the_export_writes_the_import_reads_back_exactly(
    by_channel: dict[Channel, list[tuple[int, int, int | None, int | None]]],
) -> None:
    written = {
        channel: [
            (1_790_000_000 + slot * 900, 900, value, cost, quality)
            for slot, value, cost, quality in rows
        ]
        for channel, rows in by_channel.items()
    }
    document = b"".join(
        usage_csv(
            [
                CsvChannel(POINT, channel, WH, rows, lambda _start: "E-7")
                for channel, rows in written.items()
            ],
            ZONE,
        )
    )
    records = list(parse_readings_csv(io.BytesIO(document)))
    keys = {
        Channel.FORWARD: "meter:E-7/Wh/900s",
        Channel.REVERSE: "meter:E-7/Wh/reverse/900s",
        Channel.NET: "meter:E-7/Wh/net/900s",
    }
    assert readings(records) == {keys[c]: rows for c, rows in written.items() if rows}
    for channel, reading_type in channels(records).items():
        direction = next(c for c, key in keys.items() if key == channel)
        costed = any(row[3] is not None for row in written[direction])
        assert reading_type.currency == (840 if costed else None)
        assert reading_type.flow_direction == {"forward": 1, "reverse": 19, "net": 4}[direction]
