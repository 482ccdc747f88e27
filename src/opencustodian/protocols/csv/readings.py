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
* ``quality`` (optional column, blank allowed): an ESPI ``QualityOfReading`` code;
* ``channel`` (optional column, blank allowed): ``forward`` (delivered to the customer, the
  default), ``reverse`` (received from them, e.g. solar) or ``net``, stored as the
  ReadingType's IEC 61968-9 flowDirection (1, 19, 4);
* ``cost`` (optional column, blank allowed): the reading's cost in currency units, a decimal
  of at most five places, stored exactly as integer 10⁻⁵ units (espi.xsd ``IntervalReading``
  cost; never parsed as a float);
* ``currency`` (optional column, blank allowed): the ISO 4217 code the costs are in (``USD``,
  ``CAD``, ``EUR``), the channel's ReadingType ``currency``. The rows of one channel that name
  a currency all name the same one, and the first of them is within the channel's first
  ``BATCH_SIZE`` rows (the channel is announced, with its currency, before its first batch);
* ``service_point`` (optional column): read and ignored; the meter names the service point.

These are the columns of the Download My Data CSV (``protocols.csv.usage_export``), so a
downloaded file imports back with every value, cost, quality and channel (a downloaded row
whose meter is blank, none being on record for it, is refused like any row without a meter).

Each meter yields one ``SourceServicePoint(key="meter:<n>", meter_number=<n>)``; each
(meter, stored unit, channel, duration) one ``SourceMeterReading``, just before its first batch
of readings; the readings follow in batches of at most ``BATCH_SIZE``. Any malformed row raises
``ImportRejectedError`` naming its line and column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Context, Decimal
from typing import IO, TYPE_CHECKING, Final

from opencustodian.domain.ingest import (
    ImportRejectedError,
    SourceMeterReading,
    SourceReadings,
    SourceServicePoint,
    SourceWarning,
)
from opencustodian.domain.metering import Channel, channel_flow_direction
from opencustodian.domain.quality import KNOWN_QUALITY_CODES
from opencustodian.domain.quantities import COST_EXPONENT, currency_codes, currency_number
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
#: The further columns of the Download My Data CSV, all optional.
EXPORT_COLUMNS: Final = ("channel", "cost", "currency", "service_point")
OPTIONAL_COLUMNS: Final = frozenset({"quality", *EXPORT_COLUMNS})
KNOWN_COLUMNS: Final = frozenset({*COLUMNS, *EXPORT_COLUMNS})
#: ESPI costs are integers of 10⁻⁵ currency units.
COST_FACTOR: Final = 10**-COST_EXPONENT
_CHANNELS: Final = {channel.value: channel for channel in Channel}
#: Wide enough for any ordinary field times any factor; longer fields get a wider one.
_WIDE: Final = Context(prec=64)

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
    """One meter reading of the CSV: a meter read in one stored unit, one way, at one interval."""

    key: str
    meter: str
    unit: CsvUnit
    direction: Channel
    duration: int
    #: The ISO 4217 code the first row naming one gave (None: none named yet).
    currency: str | None = None
    #: Whether the SourceMeterReading has been yielded (its currency is then final).
    announced: bool = False
    readings: list[Reading] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    starts: StartIndex = field(default_factory=StartIndex)
    repeated: int = 0
    first_repeated_line: int | None = None

    def name_currency(self, code: str, line: int) -> None:
        """Take the currency a row names; a channel's costs are all in one currency."""
        if self.currency is not None:
            problem = (
                f"{code!r}, but earlier rows of meter {self.meter} ({self.key}) name "
                f"{self.currency}; the costs of one channel are in one currency"
            )
            raise _reject(line, "currency", problem)
        if self.announced:
            problem = (
                f"{code!r} is first named after {BATCH_SIZE:,} rows of meter {self.meter} "
                f"({self.key}) without a currency; name it on one of the channel's first rows"
            )
            raise _reject(line, "currency", problem)
        self.currency = code

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
    channels: dict[tuple[str, str, str, int], _Channel] = {}
    announced: set[str] = set()
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank lines carry nothing
        line = reader.line_num
        meter, unit, direction, currency, reading = _row(row, columns, line)
        key = (meter, unit.channel, direction.value, reading[1])  # str: Enum hashes slowly
        channel = channels.get(key)
        if channel is None:
            duration = reading[1]
            channel_key = _channel_key(meter, unit, direction, duration)
            channel = _Channel(channel_key, meter, unit, direction, duration)
            channels[key] = channel
        if currency is not None and currency != channel.currency:
            channel.name_currency(currency, line)
        channel.readings.append(reading)
        channel.lines.append(line)
        if len(channel.readings) >= BATCH_SIZE:
            yield from _flushed(channel, announced)
    if not channels:
        yield SourceWarning("the file has a header but no readings")
    for channel in channels.values():
        yield from _flushed(channel, announced)
    for channel in channels.values():
        if channel.repeated:
            yield SourceWarning(
                f"meter {channel.meter} ({channel.key}): {channel.repeated} rows repeat a start "
                f"given earlier (first at line {channel.first_repeated_line}); "
                "the last row for each start is kept"
            )


def _channel_key(meter: str, unit: CsvUnit, direction: Channel, duration: int) -> str:
    """The channel's source key; a delivered channel keeps the key it had before channels."""
    if direction is Channel.FORWARD:
        return f"meter:{meter}/{unit.channel}/{duration}s"
    return f"meter:{meter}/{unit.channel}/{direction.value}/{duration}s"


def _flushed(channel: _Channel, announced: set[str]) -> Iterator[SourceRecord]:
    """The channel's pending batch, preceded the first time by its meter and its channel."""
    batch = channel.flush()
    if batch is None:
        return
    if not channel.announced:
        # Announced at its first batch, not its first row, so the currency is that of the
        # channel's first rows even when the very first rows have no cost.
        if channel.meter not in announced:
            announced.add(channel.meter)
            yield SourceServicePoint(key=f"meter:{channel.meter}", meter_number=channel.meter)
        channel.announced = True
        yield _meter_reading(channel)
    yield batch


def _meter_reading(channel: _Channel) -> SourceMeterReading:
    currency = None if channel.currency is None else currency_number(channel.currency)
    way = "" if channel.direction is Channel.FORWARD else f" {channel.direction.value}"
    return SourceMeterReading(
        key=channel.key,
        service_point_key=f"meter:{channel.meter}",
        reading_type=channel.unit.reading_type(
            channel.duration, channel_flow_direction(channel.direction), currency
        ),
        title=f"{channel.unit.channel}{way} every {channel.duration} s",
    )


def _header(reader: _CsvReader) -> dict[str, int]:
    """Column name -> index; the documented columns, ``quality`` and the export's optional."""
    header = next(reader, None)
    if header is None:
        raise _reject(1, None, "the file is empty; a header row is required")
    line = reader.line_num
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.strip().lower()
        if name not in KNOWN_COLUMNS:
            expected = ",".join(COLUMNS)
            optional = ", ".join(("quality", *EXPORT_COLUMNS))
            problem = f"unknown column (the columns are {expected}; {optional} are optional)"
            raise _reject(line, raw.strip(), problem)
        if name in columns:
            raise _reject(line, name, "the column appears twice in the header")
        columns[name] = index
    for name in COLUMNS:
        if name not in columns and name not in OPTIONAL_COLUMNS:
            raise _reject(line, name, "missing column; the header must name it")
    return columns


def _row(
    row: list[str], columns: dict[str, int], line: int
) -> tuple[str, CsvUnit, Channel, str | None, Reading]:
    """One data row as (meter, unit, channel, currency code, reading), every field checked.

    ``service_point`` is never read: the meter says where the reading was taken.
    """
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
    direction = _channel(row[columns["channel"]], line) if "channel" in columns else None
    cost = _cost(row[columns["cost"]], line) if "cost" in columns else None
    currency = _currency(row[columns["currency"]], line) if "currency" in columns else None
    reading = (start, duration, value, cost, quality)
    return meter, unit, direction or Channel.FORWARD, currency, reading


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


def _exact_product(text: str, factor: int) -> Decimal:
    """``text × factor`` exactly: the context is as wide as both, so nothing is rounded.

    The default 28-digit context would round ``1.000…0001`` (30 digits) × 1000 to a whole
    number and hide the digits that do not fit the stored resolution.
    """
    digits = len(text) + len(str(factor))
    context = _WIDE if digits <= _WIDE.prec else Context(prec=digits)
    return context.multiply(Decimal(text), factor)


def _value(text: str, unit: CsvUnit, line: int) -> int:
    """The decimal value as the stored integer (``value * unit.factor``), never via float."""
    text = text.strip()
    if not _DECIMAL.fullmatch(text):
        raise _reject(line, "value", f"{text!r} is not a decimal number")
    scaled = _exact_product(text, unit.factor)
    if scaled != scaled.to_integral_value():
        problem = (
            f"{text!r} is finer than the stored resolution of 1 {unit.channel} "
            f"(at most {len(str(unit.factor)) - 1} decimal places)"
        )
        raise _reject(line, "value", problem)
    if abs(scaled) > INT48_MAX:
        raise _reject(line, "value", f"{text!r} is too large")
    return int(scaled)


def _cost(text: str, line: int) -> int | None:
    """A cost in currency units as stored integer 10⁻⁵ units (espi.xsd Int48), never via float."""
    text = text.strip()
    if not text:
        return None
    if not _DECIMAL.fullmatch(text):
        raise _reject(line, "cost", f"{text!r} is not a decimal number")
    scaled = _exact_product(text, COST_FACTOR)
    if scaled != scaled.to_integral_value():
        problem = (
            f"{text!r} has more than {-COST_EXPONENT} decimal places "
            "(costs are stored in 10⁻⁵ of the currency)"
        )
        raise _reject(line, "cost", problem)
    if abs(scaled) > INT48_MAX:
        raise _reject(line, "cost", f"{text!r} is too large")
    return int(scaled)


def _channel(text: str, line: int) -> Channel | None:
    """``forward``, ``reverse`` or ``net`` (any case); blank means not stated."""
    text = text.strip()
    if not text:
        return None
    channel = _CHANNELS.get(text.lower())
    if channel is None:
        raise _reject(line, "channel", f"{text!r} is not a channel (forward, reverse or net)")
    return channel


def _currency(text: str, line: int) -> str | None:
    """An ISO 4217 alphabetic code this custodian stores (upper case); blank: not stated."""
    text = text.strip()
    if not text:
        return None
    code = text.upper()
    if currency_number(code) is None:
        known = ", ".join(currency_codes())
        raise _reject(line, "currency", f"{text!r} is not an ISO 4217 currency code ({known})")
    return code


def _quality(text: str, line: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not _DIGITS.fullmatch(text) or int(text) not in KNOWN_QUALITY_CODES:
        known = ", ".join(str(code) for code in sorted(KNOWN_QUALITY_CODES))
        raise _reject(line, "quality", f"{text!r} is not a reading quality code ({known})")
    return int(text)
