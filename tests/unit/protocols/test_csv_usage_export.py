"""The Download My Data CSV writer: units, exact decimals, local times with offsets, chunks."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from opencustodian.domain.metering import Channel, ReadingType
from opencustodian.domain.quantities import display_unit
from opencustodian.protocols.csv.usage_export import CHUNK_CHARS, HEADER, CsvChannel, usage_csv

ZONE = ZoneInfo("America/New_York")
WH = ReadingType(commodity=1, kind=12, uom=72, currency=840)
FT3 = ReadingType(commodity=7, kind=58, uom=119)
MILLITHERM = ReadingType(commodity=7, kind=12, uom=169, power_of_ten_multiplier=-3)
KWH_STORED = ReadingType(commodity=1, kind=12, uom=72, power_of_ten_multiplier=3)
FALL_BACK = 1_793_511_000  # 2026-11-01 01:30 EDT; an hour later the clock reads 01:30 again


def rows(document: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(document.decode("utf-8"))))


def test_units_follow_the_reading_type_exactly():
    channels = [
        CsvChannel("sp-e", Channel.NET, WH, [(FALL_BACK, 900, -1234, 56789, 17)], lambda _: "E1"),
        CsvChannel("sp-g", Channel.FORWARD, FT3, [(FALL_BACK, 3600, 7, None, None)]),
        CsvChannel("sp-t", Channel.FORWARD, MILLITHERM, [(FALL_BACK, 3600, 1500, None, 14)]),
        CsvChannel("sp-k", Channel.FORWARD, KWH_STORED, [(FALL_BACK, 900, 2, None, None)]),
    ]
    found = rows(b"".join(usage_csv(channels, ZONE)))
    assert [(row["value"], row["unit"]) for row in found] == [
        ("-1.234", "kWh"),
        ("0.07", "CCF"),
        ("1.500", "therm"),
        ("2", "kWh"),  # stored as kWh (×10³ Wh): never written as 2E+0
    ]
    assert found[0] == {
        "service_point": "sp-e",
        "meter": "E1",
        "channel": "net",
        "start": "2026-11-01T01:30:00-04:00",
        "duration": "900",
        "value": "-1.234",
        "unit": "kWh",
        "cost": "0.56789",
        "currency": "USD",
        "quality": "17",
    }
    assert (found[1]["cost"], found[1]["currency"], found[1]["quality"], found[1]["meter"]) == (
        "",
        "",
        "",
        "",
    )


def test_the_repeated_hour_of_a_dst_end_keeps_two_distinct_offsets():
    readings = [(FALL_BACK, 3600, 1, None, None), (FALL_BACK + 3600, 3600, 2, None, None)]
    found = rows(b"".join(usage_csv([CsvChannel("sp", Channel.FORWARD, WH, readings)], ZONE)))
    assert [row["start"] for row in found] == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
    ]
    assert [int(datetime.fromisoformat(row["start"]).timestamp()) for row in found] == [
        FALL_BACK,
        FALL_BACK + 3600,
    ]


def test_output_comes_in_bounded_chunks_that_join_into_one_document():
    readings = ((FALL_BACK + 900 * index, 900, index, index, 17) for index in range(5_000))
    chunks = list(usage_csv([CsvChannel("sp", Channel.FORWARD, WH, readings)], ZONE))
    assert len(chunks) > 5
    assert all(len(chunk) < CHUNK_CHARS + 512 for chunk in chunks)
    found = rows(b"".join(chunks))
    assert list(found[0]) == list(HEADER)
    assert len(found) == 5_000
    assert sum(Decimal(row["value"]) for row in found) == Decimal(sum(range(5_000))) / 1000


@given(st.integers(-(2**47), 2**47), st.integers(-6, 6), st.sampled_from([72, 119, 169, 38]))
def test_every_stored_value_converts_back_exactly(raw, power, uom):
    unit = display_unit(ReadingType(commodity=1, kind=12, uom=uom, power_of_ten_multiplier=power))
    written = format(unit.quantity(raw), "f")
    assert "E" not in written
    assert Decimal(written).scaleb(-unit.exponent) == raw
