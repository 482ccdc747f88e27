"""Download My Data files: the date range a download covers, and its bytes as XML or CSV.

Shared by the operator's ``opencustodian export`` and the customer portal, so both read dates
the same way and produce the same documents. Which service points may be downloaded is the
caller's decision (the CLI's operator names any; the portal only the customer's own).

The CSV holds exactly the readings of the ESPI feed, because it is written from the same
``FeedPlan`` (``services.usage_feeds.plan_download_feed``).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from opencustodian.domain.metering import channel_for
from opencustodian.domain.usage_rights import ReadWindow
from opencustodian.kit.time import local_date, local_day_bounds, local_midnight, to_epoch
from opencustodian.protocols.csv.usage_export import CsvChannel, usage_csv
from opencustodian.protocols.espi.usage_feed import usage_feed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.self_service import MeterFacts
    from opencustodian.services.usage_feeds import FeedPlan

SECONDS_PER_DAY: Final = 86_400
#: A range of N years spans up to N leap days, and DST adds an hour; never refuse over those.
CALENDAR_SLACK_SECONDS: Final = 2 * SECONDS_PER_DAY
SECONDS_PER_YEAR: Final = 365 * SECONDS_PER_DAY


class DownloadFormat(StrEnum):
    """The two Download My Data formats (seed 000 §2.1: "either CSV or XML")."""

    XML = "xml"
    CSV = "csv"

    @property
    def media_type(self) -> str:
        """The Content-Type of a file in this format."""
        return "application/atom+xml" if self is DownloadFormat.XML else "text/csv; charset=utf-8"


class DateRangeError(ValueError):
    """A date or range that cannot be served; the message is written for people."""


def parse_day(text: str, what: str) -> date:
    """A ``YYYY-MM-DD`` day; ``DateRangeError`` naming ``what`` otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        msg = f"The {what} day {text.strip()!r} is not a date; write it as YYYY-MM-DD."
        raise DateRangeError(msg) from None


def download_window(
    first: date | None,
    last: date | None,
    *,
    zone: ZoneInfo,
    max_history_seconds: int,
    now: datetime,
) -> ReadWindow:
    """``[first local midnight, the midnight after last)``, at most the history limit long.

    ``last`` defaults to today and ``first`` to the history limit before the end. Ranges are
    local days in the territory's zone (23 or 25 hours on DST days).
    """
    last = last or now.astimezone(zone).date()
    end = local_day_bounds(last, zone)[1]
    start = to_epoch(local_midnight(first, zone)) if first else end - max_history_seconds
    if end <= start:
        msg = "The 'to' day is before the 'from' day."
        raise DateRangeError(msg)
    if end - start > max_history_seconds + CALENDAR_SLACK_SECONDS:
        years = max(1, max_history_seconds // SECONDS_PER_YEAR)
        msg = f"A download covers at most {years} years; choose a shorter range."
        raise DateRangeError(msg)
    return ReadWindow(start, end)


def download_event(
    service_points: Sequence[str], fmt: DownloadFormat, window: ReadWindow, zone: ZoneInfo
) -> dict[str, object]:
    """What the audit event of a download records: whose points, in which format, which days.

    DESIGN.md: every data access is an audit event; the portal's (``DATA_DOWNLOADED``) and the
    operator's (``DATA_EXPORTED``) carry the same facts so one query finds both.
    """
    return {
        "service_points": sorted(service_points),
        "format": fmt.value,
        "from": local_date(window.first, zone).isoformat(),
        "to": local_date(window.end - 1, zone).isoformat(),
    }


def download_chunks(
    plan: FeedPlan, fmt: DownloadFormat, zone: ZoneInfo, meters: Sequence[MeterFacts] = ()
) -> Iterator[bytes]:
    """The file's bytes, produced while readings are read page by page."""
    if fmt is DownloadFormat.XML:
        return usage_feed(plan.meta, plan.local_time, plan.usage_points)
    return usage_csv(csv_channels(plan, meters, zone), zone)


def csv_channels(
    plan: FeedPlan, meters: Sequence[MeterFacts], zone: ZoneInfo
) -> Iterator[CsvChannel]:
    """Every channel of the plan's usage points, with its readings, for the CSV writer."""
    timelines = _meter_timelines(meters, zone)
    for point in plan.usage_points:
        meter_at = timelines.get(str(point.entry_id), _no_meter)
        for meter_reading in point.meter_readings:
            yield CsvChannel(
                service_point=str(point.entry_id),
                channel=channel_for(meter_reading.reading_type),
                reading_type=meter_reading.reading_type,
                readings=(reading for block in meter_reading.blocks for reading in block.readings),
                meter_at=meter_at,
            )


def _no_meter(_start: int) -> str:
    return ""


def _meter_timelines(
    meters: Sequence[MeterFacts], zone: ZoneInfo
) -> dict[str, Callable[[int], str]]:
    """Per service point id, the meter number in service at an instant (blank: none)."""
    by_point: dict[str, list[MeterFacts]] = {}
    for meter in meters:
        by_point.setdefault(str(meter.service_point_uuid), []).append(meter)
    return {point: _timeline(installed, zone) for point, installed in by_point.items()}


def _timeline(meters: list[MeterFacts], zone: ZoneInfo) -> Callable[[int], str]:
    """A lookup of the meter installed at an epoch: the latest installed by then, not removed."""
    meters = sorted(meters, key=lambda meter: meter.installed_on)
    installed = [to_epoch(local_midnight(meter.installed_on, zone)) for meter in meters]
    removed = [
        to_epoch(local_midnight(meter.removed_on, zone)) if meter.removed_on else None
        for meter in meters
    ]

    def meter_at(start: int) -> str:
        index = bisect_right(installed, start) - 1
        if index < 0:
            return ""
        gone = removed[index]
        return "" if gone is not None and start >= gone else meters[index].meter_number

    return meter_at
