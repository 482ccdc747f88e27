"""Stream the documented readings CSV into source records.

The format (RFC 4180 CSV, UTF-8, header row required, columns in any order)::

    meter,start,duration,value,unit,quality
    M-1001,2024-03-10T00:00:00-05:00,900,1.25,kWh,17

* ``meter``: the number of a meter that already exists;
* ``start``: ISO 8601 with a UTC offset or ``Z``, whole seconds; a naive local time is refused
  because around a DST change it names two instants or none;
* ``duration``: positive whole seconds;
* ``value``: a decimal number in ``unit`` (never parsed as a float);
* ``unit``: one of ``kWh``, ``Wh``, ``CCF``, ``therm``, ``gal``, ``W``, ``kW`` (see ``units``);
* ``quality`` (optional column, blank allowed): an ESPI ``QualityOfReading`` code.

Each meter yields one ``SourceServicePoint(key="meter:<n>", meter_number=<n>)``; each
(meter, stored unit, duration) one ``SourceMeterReading``; its readings follow in batches of at
most ``BATCH_SIZE``. Any malformed row raises ``ImportRejectedError`` naming its line and column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Final

from opencustodian.domain.ingest import (
    ImportRejectedError,
    SourceMeterReading,
    SourceReadings,
    SourceServicePoint,
    SourceWarning,
)
from opencustodian.domain.quality import KNOWN_QUALITY_CODES
from opencustodian.kit.time import to_epoch
from opencustodian.kit.xml import DEFAULT_MAX_BYTES, SizeLimitedReader, UnsafeXmlError
from opencustodian.protocols.csv.units import UNIT_NAMES, UNITS, CsvUnit
from opencustodian.protocols.limits import INT48_MAX, MAX_EPOCH, MIN_EPOCH, UINT32_MAX
from opencustodian.protocols.starts import StartIndex

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader
    from collections.abc import Iterator

    from _typeshed import WriteableBuffer

    from opencustodian.domain.ingest import SourceRecord
    from opencustodian.domain.metering import Reading

BATCH_SIZE: Final = 10_000
COLUMNS: Final = ("meter", "start", "duration", "value", "unit", "quality")
OPTIONAL_COLUMNS: Final = frozenset({"quality"})

_DIGITS = re.compile(r"\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def _reject(line: int, column: str | None, problem: str) -> ImportRejectedError:
    where = f"line {line}, column {column!r}" if column else f"line {line}"
    return ImportRejectedError(f"{where}: {problem}")


class _LimitedRaw(io.RawIOBase):
    """The caller's binary stream as a raw stream that refuses to read past ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__()
        self._reader = SizeLimitedReader(stream, limit)

    def readable(self) -> bool:
        """A raw stream for reading only."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Fill ``buffer`` from the wrapped stream, counting bytes against the limit."""
        view = memoryview(buffer).cast("B")
        data = self._reader.read(len(view))
        view[: len(data)] = data
        return len(data)


@dataclass(slots=True)
class _Channel:
    """One meter reading of the CSV: a meter read in one stored unit at one interval."""

    key: str
    meter: str
    unit: CsvUnit
    readings: list[Reading] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    starts: StartIndex = field(default_factory=StartIndex)
    repeated: int = 0
    first_repeated_line: int | None = None

    def flush(self) -> SourceReadings | None:
        """The batch collected so far, after counting starts given before (last one wins)."""
        if not self.readings:
            return None
        repeated = self.starts.add([reading[0] for reading in self.readings])
        if repeated:
            self.repeated += len(repeated)
            if self.first_repeated_line is None:
                at = max(i for i, reading in enumerate(self.readings) if reading[0] == repeated[0])
                self.first_repeated_line = self.lines[at]
        batch = SourceReadings(self.key, self.readings)
        self.readings, self.lines = [], []
        return batch


def parse_readings_csv(
    stream: IO[bytes], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[SourceRecord]:
    """Yield the records of a readings CSV in dependency order (see the module docstring)."""
    text = io.TextIOWrapper(
        io.BufferedReader(_LimitedRaw(stream, max_bytes)), encoding="utf-8-sig", newline=""
    )
    reader = csv.reader(text, strict=True)
    try:
        yield from _records(reader)
    except UnsafeXmlError as error:
        raise ImportRejectedError(str(error)) from error
    except UnicodeDecodeError as error:
        raise _reject(
            reader.line_num + 1, None, f"the file is not UTF-8 text ({error.reason})"
        ) from error
    except csv.Error as error:
        raise _reject(reader.line_num, None, f"malformed CSV: {error}") from error
    finally:
        text.detach()  # leave the caller's stream open


def _records(reader: _CsvReader) -> Iterator[SourceRecord]:
    columns = _header(reader)
    channels: dict[tuple[str, str, int], _Channel] = {}
    meters: set[str] = set()
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank lines carry nothing
        line = reader.line_num
        meter, unit, reading = _row(row, columns, line)
        key = (meter, unit.channel, reading[1])
        channel = channels.get(key)
        if channel is None:
            channel = _Channel(f"meter:{meter}/{unit.channel}/{reading[1]}s", meter, unit)
            channels[key] = channel
            if meter not in meters:
                meters.add(meter)
                yield SourceServicePoint(key=f"meter:{meter}", meter_number=meter)
            yield _meter_reading(channel, reading[1])
        channel.readings.append(reading)
        channel.lines.append(line)
        if len(channel.readings) >= BATCH_SIZE:
            yield from _flushed(channel)
    if not channels:
        yield SourceWarning("the file has a header but no readings")
    for channel in channels.values():
        yield from _flushed(channel)
    for channel in channels.values():
        if channel.repeated:
            yield SourceWarning(
                f"meter {channel.meter} ({channel.key}): {channel.repeated} rows repeat a start "
                f"given earlier (first at line {channel.first_repeated_line}); "
                "the last row for each start is kept"
            )


def _flushed(channel: _Channel) -> Iterator[SourceReadings]:
    batch = channel.flush()
    if batch is not None:
        yield batch


def _meter_reading(channel: _Channel, duration: int) -> SourceMeterReading:
    return SourceMeterReading(
        key=channel.key,
        service_point_key=f"meter:{channel.meter}",
        reading_type=channel.unit.reading_type(duration),
        title=f"{channel.unit.channel} every {duration} s",
    )


def _header(reader: _CsvReader) -> dict[str, int]:
    """Column name -> index; exactly the documented columns, ``quality`` optional."""
    header = next(reader, None)
    if header is None:
        raise _reject(1, None, "the file is empty; a header row is required")
    line = reader.line_num
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.strip().lower()
        if name not in COLUMNS:
            expected = ",".join(COLUMNS)
            problem = f"unknown column (the columns are {expected}; quality is optional)"
            raise _reject(line, raw.strip(), problem)
        if name in columns:
            raise _reject(line, name, "the column appears twice in the header")
        columns[name] = index
    for name in COLUMNS:
        if name not in columns and name not in OPTIONAL_COLUMNS:
            raise _reject(line, name, "missing column; the header must name it")
    return columns


def _row(row: list[str], columns: dict[str, int], line: int) -> tuple[str, CsvUnit, Reading]:
    """One data row as (meter, unit, reading), every field checked."""
    if len(row) != len(columns):
        raise _reject(line, None, f"{len(row)} fields, but the header has {len(columns)}")
    meter = row[columns["meter"]].strip()
    if not meter:
        raise _reject(line, "meter", "the meter number is empty")
    unit = _unit(row[columns["unit"]], line)
    start = _start(row[columns["start"]], line)
    duration = _duration(row[columns["duration"]], line)
    value = _value(row[columns["value"]], unit, line)
    quality = _quality(row[columns["quality"]], line) if "quality" in columns else None
    return meter, unit, (start, duration, value, None, quality)


def _unit(text: str, line: int) -> CsvUnit:
    unit = UNITS.get(text.strip().lower())
    if unit is None:
        raise _reject(line, "unit", f"unknown unit {text.strip()!r} (use {', '.join(UNIT_NAMES)})")
    return unit


def _start(text: str, line: int) -> int:
    """ISO 8601 with an offset (RFC 3339 §5.6 profile) as epoch seconds; naive is refused."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _reject(line, "start", f"{text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        problem = (
            f"{text!r} has no UTC offset; naive local times are ambiguous at DST changes, "
            "write e.g. 2024-03-10T01:00:00-05:00 or 2024-03-10T06:00:00Z"
        )
        raise _reject(line, "start", problem)
    if moment.microsecond:
        raise _reject(line, "start", f"{text!r} is not a whole second")
    epoch = to_epoch(moment)
    if not MIN_EPOCH <= epoch <= MAX_EPOCH:  # pragma: no cover - datetime already bounds it
        raise _reject(line, "start", f"{text!r} is out of range")
    return epoch


def _duration(text: str, line: int) -> int:
    text = text.strip()
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= UINT32_MAX:
        raise _reject(line, "duration", f"{text!r} is not a positive whole number of seconds")
    return int(text)


def _value(text: str, unit: CsvUnit, line: int) -> int:
    """The decimal value as the stored integer (``value * unit.factor``), never via float."""
    text = text.strip()
    if not _DECIMAL.fullmatch(text):
        raise _reject(line, "value", f"{text!r} is not a decimal number")
    scaled = Decimal(text) * unit.factor
    if scaled != scaled.to_integral_value():
        problem = (
            f"{text!r} is finer than the stored resolution of 1 {unit.channel} "
            f"(at most {len(str(unit.factor)) - 1} decimal places)"
        )
        raise _reject(line, "value", problem)
    stored = int(scaled)
    if abs(stored) > INT48_MAX:
        raise _reject(line, "value", f"{text!r} is too large")
    return stored


def _quality(text: str, line: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not _DIGITS.fullmatch(text) or int(text) not in KNOWN_QUALITY_CODES:
        known = ", ".join(str(code) for code in sorted(KNOWN_QUALITY_CODES))
        raise _reject(line, "quality", f"{text!r} is not a reading quality code ({known})")
    return int(text)
