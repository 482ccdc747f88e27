"""One-time Energy Data Agreement usage reports: the period, the window, the CSV and its file.

Seed 003 (initiation form, EM201): a one-time agreement "provides a single energy usage report"
of a chosen *Report Type* — 15-minute interval, daily or monthly CSV — whose length is "the
last 1 day, 1 month, 3 months, 6 months, 1 year"; EM204 tells the third party it is ready.
Accepting the agreement is the customer's authorization for exactly that report, so the report
is built once, by a job, and stored; the third party downloads the stored bytes.

What a report holds:

* **the period**: whole local days before the acceptance day (``report_period``), clipped to
  what the customer of record may share (``report_window``): never before their move-in at the
  service point (an earlier occupant's readings are not theirs to share), never before the
  utility's history limit, never after their move-out or now;
* **the readings**: the service point's delivered channel (and, for a net-metered or other
  two-way point, the received channel) in the commodity's energy or volume unit; only readings
  wholly inside the window count, so nothing from outside the authorized days is summed;
* **one row** per 15-minute interval (finer data summed up to it; coarser data reported at its
  own interval, which the *Interval Length* column states), per local day (23 or 25 hours on
  DST days) or per calendar month (the first and last month partial when the period is).

Columns: ``ESIID``, ``Meter Number`` (the meter in service when the row starts), ``Start`` and
``End`` (local ISO 8601 with the UTC offset, so the hour DST repeats stays two instants),
``Interval Length (seconds)`` (interval reports only), ``Consumption (<unit>)`` (energy
delivered to the customer), ``Received from Customer (<unit>)`` (net-metered points only) and
``Quality``: ``actual``, ``provisional`` or ``estimated`` (``reading_grade``), the worst of the
readings a row sums. Values are exact decimals (integers summed, then scaled), never floats and
never in exponent form. An empty result is a header-only CSV.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
from bisect import bisect_right
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from operator import itemgetter
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias

from opencustodian.domain.agreements import ReportType
from opencustodian.domain.events import EventTag
from opencustodian.domain.metering import (
    AccumulationBehaviour,
    Channel,
    Commodity,
    UnitOfMeasure,
)
from opencustodian.domain.quality import ReadingQuality
from opencustodian.domain.quantities import display_unit, plain
from opencustodian.domain.usage_rights import ReadWindow
from opencustodian.kit.time import (
    from_epoch,
    local_date,
    local_day_bounds,
    local_midnight,
    local_month_bounds,
    to_epoch,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.agreements import ReportDuration
    from opencustodian.domain.metering import ChannelFacts, Reading, ReadingType
    from opencustodian.domain.self_service import MeterFacts

#: The interval report's row length: the seed's "15 minute interval" CSV.
INTERVAL_SECONDS: Final = 900
#: Runs a report gets before it is marked failed (a run lost to a crash counts as one).
MAX_ATTEMPTS: Final = 3
#: A report still running this long after it was queued was lost with its process: run it
#: again. A report builds in seconds (a year of 15-minute rows is ~35,000 readings).
STALE_AFTER: Final = timedelta(hours=1)
#: Stored error texts are cut to the column's width.
MAX_ERROR_CHARS: Final = 500

#: A row's identity: its start and end, epoch seconds.
RowKey: TypeAlias = tuple[int, int]


class ReportStatus(StrEnum):
    """Where a report stands; only a ``ready`` report has a file (seed 003 EM204)."""

    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class ReadingGrade(IntEnum):
    """How far a reading can be trusted, ordered so the worst of several is their ``max``."""

    ACTUAL = 0
    PROVISIONAL = 1
    ESTIMATED = 2

    @property
    def word(self) -> str:
        """As the report's ``Quality`` column writes it."""
        return self.name.lower()


# IEC 61968-9 QualityOfReading codes (espi.xsd) by grade. Estimated: the value was not
# measured as is (edited, estimated, derived, projected, mixed, normalized). Provisional: a
# measured value not (yet) confirmed — raw (14, seed 000 §3.3g), questionable or unclassified.
# Everything else (valid, validated, verified, revenue quality, or no code) is actual.
_ESTIMATED_CODES: Final = frozenset(
    {
        ReadingQuality.MANUALLY_EDITED,
        ReadingQuality.ESTIMATED_USING_REFERENCE_DAY,
        ReadingQuality.ESTIMATED_USING_LINEAR_INTERPOLATION,
        ReadingQuality.DERIVED,
        ReadingQuality.PROJECTED,
        ReadingQuality.MIXED,
        ReadingQuality.NORMALIZED_FOR_WEATHER,
    }
)
_PROVISIONAL_CODES: Final = frozenset(
    {ReadingQuality.RAW, ReadingQuality.QUESTIONABLE, ReadingQuality.OTHER}
)


def reading_grade(quality: int | None) -> ReadingGrade:
    """The report's quality word for a stored quality code (see ``_ESTIMATED_CODES``)."""
    if quality in _ESTIMATED_CODES:
        return ReadingGrade.ESTIMATED
    if quality in _PROVISIONAL_CODES:
        return ReadingGrade.PROVISIONAL
    return ReadingGrade.ACTUAL


# -- the period and the window ----------------------------------------------------------------


def report_period(duration: ReportDuration, accepted_on: date) -> tuple[date, date]:
    """EM201's "the last <duration>": whole local days ``[start, end)`` before acceptance.

    The end (exclusive) is the acceptance day itself, which has not ended when the customer
    accepts; the start is ``duration`` before it (a month back is the same day of the month,
    clamped to the month's length).
    """
    return duration.start_before(accepted_on), accepted_on


def report_window(
    period: tuple[date, date],
    tenure: tuple[date, date | None] | None,
    *,
    zone: ZoneInfo,
    max_history_seconds: int,
    now: datetime,
) -> ReadWindow:
    """The instants the report may read: the period clipped to what may be shared.

    ``tenure`` is the customer of record's move-in and move-out (exclusive) at the service
    point, None when they never held it before the period ended (nothing may be read). The
    history limit is rounded up to the next local midnight so rows stay whole days.
    """
    if tenure is None:
        return ReadWindow(0, 0)
    start, end = period
    move_in, move_out = tenure
    first_day = max(start, move_in, _first_whole_day(now, max_history_seconds, zone))
    end_day = end if move_out is None else min(end, move_out)
    first = to_epoch(local_midnight(first_day, zone))
    last = min(to_epoch(local_midnight(end_day, zone)), to_epoch(now))
    return ReadWindow(first, max(first, last))


def _first_whole_day(now: datetime, max_history_seconds: int, zone: ZoneInfo) -> date:
    """The first local day wholly inside the history limit."""
    limit = to_epoch(now) - max_history_seconds
    day = local_date(limit, zone)
    return day if to_epoch(local_midnight(day, zone)) >= limit else day + timedelta(days=1)


# -- which channels ---------------------------------------------------------------------------

#: The units a commodity's consumption is reported in, preferred first (espi.xsd ``uom``):
#: energy for electricity (never demand, W), volume or energy for gas, volume for water.
_REPORT_UOMS: Final[dict[Commodity, tuple[int, ...]]] = {
    Commodity.ELECTRICITY: (UnitOfMeasure.WATT_HOUR,),
    Commodity.GAS: (UnitOfMeasure.CUBIC_FOOT, UnitOfMeasure.THERM),
    Commodity.WATER: (UnitOfMeasure.US_GALLON, UnitOfMeasure.CUBIC_METRE),
}
#: The header's unit when the point has no usable channel (the report is then header-only).
_DEFAULT_UNITS: Final = {Commodity.ELECTRICITY: "kWh", Commodity.GAS: "CCF", Commodity.WATER: "gal"}
#: Interval data is deltas; register reads (bulk, cumulative) and demand cannot be summed.
_SUMMABLE: Final = frozenset({None, AccumulationBehaviour.DELTA_DATA})


def report_channels(commodity: Commodity, channels: Iterable[ChannelFacts]) -> list[ChannelFacts]:
    """The delivered and received channels a report sums, all in one unit.

    The net channel is left out: it is the difference of the two reported ones. When a point
    has channels in several units (CCF and therms), the first unit of ``_REPORT_UOMS`` wins,
    so no row ever adds two units.
    """
    candidates = [
        channel
        for channel in channels
        if channel.channel in {Channel.FORWARD, Channel.REVERSE}
        and channel.reading_type.accumulation_behaviour in _SUMMABLE
    ]
    for uom in _REPORT_UOMS[commodity]:
        chosen = [channel for channel in candidates if channel.reading_type.uom == uom]
        if chosen:
            return chosen
    return []


# -- the CSV ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelSeries:
    """One channel's readings (sorted by start) and what its values mean."""

    channel: Channel
    reading_type: ReadingType
    readings: Sequence[Reading]


@dataclass(frozen=True, slots=True)
class ReportLayout:
    """Everything a report's rows repeat or depend on, besides the readings."""

    report_type: ReportType
    esiid: str
    commodity: Commodity
    #: Whether the report has a received column (a net-metered point).
    with_received: bool
    zone: ZoneInfo
    window: ReadWindow
    meters: Sequence[MeterFacts] = ()


@dataclass(slots=True)
class _Cell:
    """One row's running sum (in the report's common power of ten) and worst grade."""

    value: int
    grade: ReadingGrade


def report_header(layout: ReportLayout, unit: str) -> list[str]:
    """The header row: the columns of the module docstring, the unit named in the headers."""
    header = ["ESIID", "Meter Number", "Start", "End"]
    if layout.report_type is ReportType.INTERVAL:
        header.append("Interval Length (seconds)")
    header.append(f"Consumption ({unit})")
    if layout.with_received:
        header.append(f"Received from Customer ({unit})")
    header.append("Quality")
    return header


def report_csv(layout: ReportLayout, series: Sequence[ChannelSeries]) -> tuple[bytes, int]:
    """The report's CSV (RFC 4180, UTF-8, CRLF) and its number of data rows.

    Readings of several channels of one direction (a meter whose interval changed has one
    channel per interval) are merged by start; a reading overlapping one already taken is
    dropped, so nothing is counted twice.
    """
    exponent = min((display_unit(item.reading_type).exponent for item in series), default=0)
    unit = display_unit(series[0].reading_type).name if series else _DEFAULT_UNITS[layout.commodity]
    bucket = _bucketer(layout.report_type, layout.zone)
    delivered = _cells(layout.window, bucket, _merged(series, Channel.FORWARD, exponent))
    received = _cells(layout.window, bucket, _merged(series, Channel.REVERSE, exponent))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(report_header(layout, unit))
    meter_at = _meter_lookup(layout.meters, layout.zone)
    keys = sorted(delivered.keys() | received.keys()) if layout.with_received else sorted(delivered)
    for key in keys:
        writer.writerow(
            _row(layout, key, meter_at(key[0]), exponent, (delivered.get(key), received.get(key)))
        )
    return buffer.getvalue().encode("utf-8"), len(keys)


def _row(
    layout: ReportLayout,
    key: RowKey,
    meter: str,
    exponent: int,
    cells: tuple[_Cell | None, _Cell | None],
) -> list[str]:
    """One data row; ``cells`` are the delivered and received sums (None: no reading)."""
    start, end = key
    delivered, received = cells
    row = [layout.esiid, meter, _local(start, layout.zone), _local(end, layout.zone)]
    if layout.report_type is ReportType.INTERVAL:
        row.append(str(end - start))
    row.append(_quantity(delivered, exponent))
    if layout.with_received:
        row.append(_quantity(received, exponent))
    grades = [cell.grade for cell in cells if cell is not None]
    row.append(max(grades).word)
    return row


def _local(epoch: int, zone: ZoneInfo) -> str:
    return from_epoch(epoch).astimezone(zone).isoformat()


def _quantity(cell: _Cell | None, exponent: int) -> str:
    """The cell's exact value in the report's unit (blank when the channel had no reading)."""
    if cell is None:
        return ""
    # Decimal(int).scaleb shifts the exponent without rounding; ``plain`` never writes 1E+3.
    return plain(Decimal(cell.value).scaleb(exponent))


_Scaled: TypeAlias = tuple[int, int, int, int | None]
"""A reading as merged: ``(start, duration, value in 10^exponent units, quality code)``."""


def _merged(
    series: Sequence[ChannelSeries], direction: Channel, exponent: int
) -> Iterator[_Scaled]:
    """The readings of ``direction``'s channels in one time order, in common units."""
    streams = [
        _scaled(item.readings, 10 ** (display_unit(item.reading_type).exponent - exponent))
        for item in series
        if item.channel is direction
    ]
    taken_until: int | None = None
    for reading in heapq.merge(*streams, key=itemgetter(0)):
        start, duration = reading[0], reading[1]
        if taken_until is not None and start < taken_until:
            continue  # overlaps a reading already counted (two channels of one direction)
        taken_until = start + duration
        yield reading


def _scaled(readings: Sequence[Reading], factor: int) -> Iterator[_Scaled]:
    """``(start, duration, value × factor, quality)``: exact integers in the common unit."""
    for start, duration, value, _cost, quality in readings:
        yield start, duration, value * factor, quality


Bucket: TypeAlias = "Callable[[int], RowKey]"


def _bucketer(report_type: ReportType, zone: ZoneInfo) -> Bucket:
    """For a reading start, the row it falls in: its quarter hour, local day or local month.

    Quarter hours are aligned on the epoch, which is aligned on local quarter hours in every
    zone whose offset is a whole number of quarter hours (every zone in use today).
    """
    if report_type is ReportType.INTERVAL:
        return _quarter_hour
    if report_type is ReportType.DAILY:
        return _cached(lambda start: local_day_bounds(local_date(start, zone), zone))

    def month(start: int) -> RowKey:
        day = local_date(start, zone)
        return local_month_bounds(day.year, day.month, zone)

    return _cached(month)


def _quarter_hour(start: int) -> RowKey:
    first = start - start % INTERVAL_SECONDS
    return first, first + INTERVAL_SECONDS


def _cached(bounds: Bucket) -> Bucket:
    """``bounds`` remembering the last answer: readings come in time order, a day at a time."""
    last: list[RowKey] = []

    def bucket(start: int) -> RowKey:
        if last and last[0][0] <= start < last[0][1]:
            return last[0]
        found = bounds(start)
        last[:] = [found]
        return found

    return bucket


def _cells(window: ReadWindow, bucket: Bucket, readings: Iterable[_Scaled]) -> dict[RowKey, _Cell]:
    """Rows of one direction: sums per bucket, clipped to the window.

    Only readings wholly inside the window count. A reading longer than its bucket (hourly
    gas in an interval report, a monthly meter's reading in a daily one) is a row of its own
    over its own interval: it cannot be split without inventing a profile.
    """
    cells: dict[RowKey, _Cell] = {}
    for start, duration, value, quality in readings:
        end = start + duration
        if start < window.first or end > window.end:
            continue
        first, last = bucket(start)
        key = (start, end) if end > last else (max(first, window.first), min(last, window.end))
        grade = reading_grade(quality)
        cell = cells.get(key)
        if cell is None:
            cells[key] = _Cell(value, grade)
        else:
            cell.value += value
            cell.grade = max(cell.grade, grade)
    return cells


def _meter_lookup(meters: Sequence[MeterFacts], zone: ZoneInfo) -> Callable[[int], str]:
    """The number of the meter in service at an instant (blank when none is on record)."""
    ordered = sorted(meters, key=lambda meter: meter.installed_on)
    installed = [to_epoch(local_midnight(meter.installed_on, zone)) for meter in ordered]

    def meter_at(instant: int) -> str:
        index = bisect_right(installed, instant) - 1
        if index < 0:
            return ""
        meter = ordered[index]
        removed = meter.removed_on
        if removed is not None and instant >= to_epoch(local_midnight(removed, zone)):
            return ""
        return meter.meter_number

    return meter_at


# -- one report, end to end -------------------------------------------------------------------


class ReportFacts(Protocol):
    """A queued report and the agreement it serves (``storage.agreement_reports``)."""

    @property
    def id(self) -> int: ...  # noqa: D102
    @property
    def agreement_id(self) -> int: ...  # noqa: D102
    @property
    def agreement_number(self) -> str: ...  # noqa: D102
    @property
    def report_type(self) -> ReportType: ...  # noqa: D102
    @property
    def esiid(self) -> str: ...  # noqa: D102
    @property
    def service_point_id(self) -> int: ...  # noqa: D102
    @property
    def service_point_uuid(self) -> uuid.UUID: ...  # noqa: D102
    @property
    def commodity(self) -> Commodity: ...  # noqa: D102
    @property
    def net_metered(self) -> bool: ...  # noqa: D102
    @property
    def account_id(self) -> int: ...  # noqa: D102
    @property
    def period_start(self) -> date: ...  # noqa: D102
    @property
    def period_end(self) -> date: ...  # noqa: D102
    @property
    def client_id(self) -> str: ...  # noqa: D102


class ReportSource(Protocol):
    """The reads a report needs, inside the transaction that stores it."""

    def tenure(
        self, account_id: int, service_point_id: int, before: date
    ) -> tuple[date, date | None] | None:
        """The account's latest tenure at the point that began before ``before``."""
        ...

    def channels(self, service_point_id: int) -> Sequence[ChannelFacts]:
        """Every channel of the service point, with its reading type."""
        ...

    def readings(self, channel_id: int, first: int, end: int) -> Sequence[Reading]:
        """The channel's readings starting in ``[first, end)``, by start."""
        ...

    def meters(self, service_point_id: int) -> Sequence[MeterFacts]:
        """Every meter installed at the service point."""
        ...


class ReportStore(Protocol):
    """Where a report's outcome is recorded (``storage.agreement_reports``)."""

    def store_result(  # noqa: PLR0913 - a result has these parts
        self,
        report_id: int,
        attempt: int,
        *,
        file_name: str,
        content: bytes,
        row_count: int,
        sha256: str,
        now: datetime,
    ) -> bool:
        """Mark the report ready with its file, if run ``attempt`` still holds it."""
        ...

    def store_failure(
        self, report_id: int, attempt: int, error: str, now: datetime, *, final: bool
    ) -> bool:
        """Record a failed run: failed for good when ``final``, else pending again."""
        ...

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event in the same transaction."""
        ...


@dataclass(frozen=True, slots=True)
class BuiltReport:
    """A report's file, ready to store."""

    file_name: str
    content: bytes
    row_count: int
    sha256: str
    window: ReadWindow


def report_file_name(number: str, report_type: ReportType, period: tuple[date, date]) -> str:
    """``agreement-<number>-<type>-<first day>-<last day>.csv`` (days of the agreed period)."""
    first, end = period
    last = end - timedelta(days=1)
    return f"agreement-{number}-{report_type.value}-{first.isoformat()}-{last.isoformat()}.csv"


def build_report(
    source: ReportSource,
    report: ReportFacts,
    *,
    zone: ZoneInfo,
    max_history_seconds: int,
    now: datetime,
) -> BuiltReport:
    """Read the report's readings through ``source`` and write its CSV (module docstring)."""
    period = (report.period_start, report.period_end)
    tenure = source.tenure(report.account_id, report.service_point_id, report.period_end)
    window = report_window(
        period, tenure, zone=zone, max_history_seconds=max_history_seconds, now=now
    )
    channels = report_channels(report.commodity, source.channels(report.service_point_id))
    series = [
        ChannelSeries(
            channel.channel,
            channel.reading_type,
            [] if window.is_empty else source.readings(channel.id, window.first, window.end),
        )
        for channel in channels
    ]
    layout = ReportLayout(
        report_type=report.report_type,
        esiid=report.esiid,
        commodity=report.commodity,
        with_received=report.net_metered
        or any(channel.channel is Channel.REVERSE for channel in channels),
        zone=zone,
        window=window,
        meters=source.meters(report.service_point_id),
    )
    content, rows = report_csv(layout, series)
    return BuiltReport(
        file_name=report_file_name(report.agreement_number, report.report_type, period),
        content=content,
        row_count=rows,
        sha256=hashlib.sha256(content).hexdigest(),
        window=window,
    )


def report_read_event(report: ReportFacts, built: BuiltReport) -> dict[str, object]:
    """The audit event of a report's read (the customer's "Who read my data" lists it).

    ``path`` names the agreement (``agreements/<number>``): the access log describes a read of
    this kind from it (``services.self_service.describe_read``).
    """
    last = report.period_end - timedelta(days=1)
    return {
        "path": f"agreements/{report.agreement_number}",
        "agreement": report.agreement_number,
        "report_type": report.report_type.value,
        "usage_points": [str(report.service_point_uuid)],
        "from": report.period_start.isoformat(),
        "to": last.isoformat(),
        "rows": built.row_count,
        "sha256": built.sha256,
    }


def finish_report(
    store: ReportStore, report: ReportFacts, built: BuiltReport, *, attempt: int, now: datetime
) -> bool:
    """Store the file and audit the read in the caller's transaction; False when fenced out.

    DESIGN.md: every data access is an audit event in the same transaction. The event's
    subject is the agreement's (``agreement:<number>``, as the agreement's other events) and
    its actor the third party's client. A run whose claim was taken over by a later run
    (``attempt`` no longer current) stores nothing and audits nothing.
    """
    stored = store.store_result(
        report.id,
        attempt,
        file_name=built.file_name,
        content=built.content,
        row_count=built.row_count,
        sha256=built.sha256,
        now=now,
    )
    if stored:
        store.record_event(
            EventTag.AGREEMENT_REPORT_READ,
            f"agreement:{report.agreement_number}",
            report_read_event(report, built),
            f"client:{report.client_id}",
        )
    return stored


def fail_report(
    store: ReportStore, report_id: int, attempt: int, error: str, now: datetime
) -> ReportStatus | None:
    """Record a failed run: pending for a retry, failed after ``MAX_ATTEMPTS`` runs.

    None when the run no longer held the report (a later run took it over).
    """
    final = attempt >= MAX_ATTEMPTS
    if not store.store_failure(report_id, attempt, error[:MAX_ERROR_CHARS], now, final=final):
        return None
    return ReportStatus.FAILED if final else ReportStatus.PENDING
