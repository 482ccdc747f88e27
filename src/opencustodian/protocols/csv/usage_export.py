"""Download My Data as CSV: one row per reading, written in chunks with flat memory.

Seed 000 §2.1: customers download "detailed energy usage information … in either CSV or XML
formats". The format (RFC 4180, UTF-8, CRLF, one header row)::

    service_point,meter,channel,start,duration,value,unit,cost,currency,quality
    b556f96d-…,E00000011,net,2026-11-01T01:00:00-05:00,900,0.412,kWh,0.05871,USD,17

* ``service_point``: the ESPI UsagePoint id;
* ``meter``: the meter installed at the service point when the reading was taken (blank when
  none is on record);
* ``channel``: ``forward`` (delivered to the customer), ``reverse`` (received from them, e.g.
  solar) or ``net`` (their difference, what a net-metered customer is billed on);
* ``start``: local ISO 8601 with the UTC offset, so the hour a DST change repeats is still two
  distinct instants (``…T01:00:00-04:00`` and ``…T01:00:00-05:00``);
* ``duration``: seconds;
* ``value``: the quantity in ``unit`` — kWh for electricity, CCF or therms for gas, as the
  channel's reading type (uom × 10^powerOfTenMultiplier) says (``domain.quantities``); exact
  decimals, never rounded through a float;
* ``cost``, ``currency``: the reading's cost in currency units (ESPI stores 10⁻⁵), blank
  when the reading has none;
* ``quality``: the ESPI ``QualityOfReading`` code (17 validated, 14 raw, 8–9 estimated).

Every column is one the readings CSV that ``opencustodian import`` reads
(``protocols.csv.readings``) knows, with the same names, forms and units, so a download
imports back with its values, costs, currencies, qualities and channels unchanged (it ignores
``service_point``: the meter names it). A row with a blank meter cannot be imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from opencustodian.domain.quantities import cost_amount, currency_code, display_unit, plain
from opencustodian.kit.time import from_epoch

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from zoneinfo import ZoneInfo

    from opencustodian.domain.metering import Channel, Reading, ReadingType

HEADER: Final = (
    "service_point",
    "meter",
    "channel",
    "start",
    "duration",
    "value",
    "unit",
    "cost",
    "currency",
    "quality",
)
#: Characters buffered before a chunk is handed on: big enough that a socket write carries a
#: useful payload, small enough that memory stays flat (about 600 rows).
CHUNK_CHARS: Final = 64 * 1024


def _no_meter(_start: int) -> str:
    return ""


@dataclass(frozen=True, slots=True)
class CsvChannel:
    """One channel's readings and what every row of it repeats."""

    service_point: str
    channel: Channel
    reading_type: ReadingType
    readings: Iterable[Reading]
    #: The meter number in service at a reading's start (epoch seconds).
    meter_at: Callable[[int], str] = field(default=_no_meter)


def usage_csv(channels: Iterable[CsvChannel], zone: ZoneInfo) -> Iterator[bytes]:
    """The CSV document of ``channels`` as UTF-8 chunks; readings are pulled as it goes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for channel in channels:
        unit = display_unit(channel.reading_type)
        currency = currency_code(channel.reading_type.currency)
        for start, duration, value, cost, quality in channel.readings:
            writer.writerow(
                (
                    channel.service_point,
                    channel.meter_at(start),
                    channel.channel.value,
                    from_epoch(start).astimezone(zone).isoformat(),
                    duration,
                    plain(unit.quantity(value)),
                    unit.name,
                    "" if cost is None else plain(cost_amount(cost)),
                    "" if cost is None else currency,
                    "" if quality is None else quality,
                )
            )
            if buffer.tell() >= CHUNK_CHARS:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
