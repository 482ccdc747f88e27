"""The signed-in customer's own data: which services, which dates, and who read what.

Every portal read starts from ``held_points``: the service points the customer's open accounts
hold today (``domain.self_service``). A download or chart may name only those, and never a
day before the current tenure began (the previous occupant's readings are not this
customer's; seed 001: the utility stops sharing "when a Customer moves"). Another customer's
service point id is refused exactly like an unknown one, so ids cannot be probed.

The access log lists the audited third-party reads of the customer's own grants — Green
Button (ESPI) feeds, CDS listings and ECIS requests (``EventTag.DATA_READ``, ``CDS_DATA_READ``,
``ECIS_DATA_READ``) — and the usage reports of their one-time Energy Data Agreements
(``AGREEMENT_REPORT_READ``), in plain words, each naming the API that read (DESIGN.md:
"customers can see who read their data").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from opencustodian.domain.events import EventTag
from opencustodian.kit.time import local_date
from opencustodian.protocols.espi.uris import resource_root
from opencustodian.services.downloads import (
    DateRangeError,
    DownloadFormat,
    download_chunks,
    download_event,
    download_window,
)
from opencustodian.services.usage_feeds import plan_download_feed

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.ports import AuditLog, SelfServiceDirectory, UsageReader
    from opencustodian.domain.self_service import DataReadEvent, HeldServicePoint
    from opencustodian.domain.usage_rights import ReadWindow
    from opencustodian.services.usage_feeds import FeedSettings

ACCESS_LOG_PAGE_SIZE: Final = 25


class ChoiceError(ValueError):
    """A choice of services that cannot be served; the message is written for people."""


class NotYourServicePointError(ChoiceError):
    """A requested service point is not one the customer holds today (or does not exist)."""

    def __init__(self) -> None:
        super().__init__("One of the chosen services is not on your account.")


def long_date(day: date) -> str:
    """``31 October 2026``: how a page writes a day."""
    return f"{day.day} {day:%B %Y}"


def held_points(
    directory: SelfServiceDirectory,
    customer_id: int,
    *,
    today: date,
    account_id: int | None = None,
) -> list[HeldServicePoint]:
    """The service points the customer may see today (one account when they verified one)."""
    return directory.held_service_points(customer_id, today, account_id)


def chosen_points(
    held: Sequence[HeldServicePoint], wanted: Iterable[str]
) -> list[HeldServicePoint]:
    """The held points named by id in ``wanted``; refuses any other id and an empty choice."""
    by_id = {str(point.uuid): point for point in held}
    names = list(dict.fromkeys(text.strip().lower() for text in wanted if text.strip()))
    if not names:
        msg = "Choose at least one service."
        raise ChoiceError(msg)
    if any(name not in by_id for name in names):
        raise NotYourServicePointError
    return [by_id[name] for name in names]


def customer_window(
    points: Sequence[HeldServicePoint],
    first: date,
    last: date,
    *,
    settings: FeedSettings,
    now: datetime,
) -> ReadWindow:
    """The range ``[first, last]`` when every chosen point was the customer's all along it."""
    window = download_window(
        first, last, zone=settings.zone, max_history_seconds=settings.max_history_seconds, now=now
    )
    for point in points:
        if first < point.held_since:
            msg = (
                f"Your data for {point.label} starts on {long_date(point.held_since)}, "
                "when you moved in; choose a 'from' day on or after it."
            )
            raise DateRangeError(msg)
    return window


@dataclass(frozen=True, slots=True)
class Download:
    """A file to send: its name, its format and its bytes (produced lazily)."""

    filename: str
    format: DownloadFormat
    chunks: Iterator[bytes]


def customer_download(  # noqa: PLR0913 - one download has this many inputs
    reader: UsageReader,
    directory: SelfServiceDirectory,
    customer_id: int,
    points: Sequence[HeldServicePoint],
    days: tuple[date, date],
    *,
    settings: FeedSettings,
    now: datetime,
    fmt: DownloadFormat,
    audit: AuditLog,
) -> Download:
    """The customer's Download My Data file of ``points`` (from ``chosen_points``) over ``days``.

    The range is checked here (``customer_window``), before anything is read, so no caller
    can serve a day before a move-in. The feed's hrefs follow the reference implementation's
    DMD shape, ``…/Batch/RetailCustomer/{customer}/UsagePoint`` (research/espi.md §9).
    The download is audited (``EventTag.DATA_DOWNLOADED``, DESIGN.md: every data access is an
    audit event) and committed before the file's first byte; a refused one records nothing.
    """
    window = customer_window(points, *days, settings=settings, now=now)
    customer = directory.customer_uuid(customer_id)
    ids = [point.id for point in points]
    plan = plan_download_feed(
        reader,
        ids,
        settings,
        now=now,
        window=window,
        self_href=f"{resource_root(settings.base_url)}/Batch/RetailCustomer/{customer}/UsagePoint",
        feed_key=f"{customer}:{','.join(str(point.uuid) for point in points)}",
    )
    meters = directory.meters(ids) if fmt is DownloadFormat.CSV else []
    first = local_date(window.first, settings.zone)
    last = local_date(window.end - 1, settings.zone)
    audit.record_event(
        EventTag.DATA_DOWNLOADED,
        f"customer:{customer}",
        download_event(plan.service_point_uuids, fmt, window, settings.zone),
        f"customer:{customer}",
    )
    return Download(
        filename=f"GreenButtonDownload-{first}-to-{last}.{fmt.value}",
        format=fmt,
        chunks=download_chunks(plan, fmt, settings.zone, meters),
    )


def default_range(points: Sequence[HeldServicePoint], today: date, days: int) -> tuple[date, date]:
    """The range a download form offers: the last ``days`` days, within every tenure."""
    first = today - timedelta(days=days - 1)
    latest_move_in = max((point.held_since for point in points), default=first)
    return max(first, latest_move_in), today


# -- the access log ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessLogEntry:
    """One third-party read, as the customer reads it."""

    when: datetime  # local time in the territory
    third_party: str
    what: str
    services: tuple[str, ...]
    #: The API that read, as the log shows it (``API_NAMES``).
    api: str = "Green Button (ESPI)"


@dataclass(frozen=True, slots=True)
class AccessLogPage:
    """One page of the access log, newest first."""

    entries: list[AccessLogEntry]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """Whether a newer page exists."""
        return self.page > 1


#: Path segments (ESPI resource names, research/espi.md §2) and what a read of them means.
_RESOURCE_WORDS: Final = (
    ("RetailCustomer", "Your account and contact details"),
    ("IntervalBlock", "Interval readings"),
    ("MeterReading", "Meter readings"),
    ("UsageSummary", "Billing summaries"),
    ("ReadingType", "Descriptions of your readings (units and intervals)"),
    ("LocalTimeParameters", "Your time zone settings"),
    ("Bulk", "Your usage data, sent in bulk"),
)
NO_LONGER_YOURS: Final = "a service no longer on your account"
#: CDS listing paths (``/cds/v1/<name>``) and what a read of them means.
_CDS_WORDS: Final = {
    "accounts": "Your account details",
    "service-contracts": "Your service contracts and rate plans",
    "service-points": "Your service points",
    "meter-devices": "Your meters",
    "bill-statements": "Your bills",
    "bill-sections": "Your bills in detail",
    "usage-segments": "Usage data",
    "eacs": "Energy attribute certificates",
}
#: ECIS request types (seed 004) and what they return.
_ECIS_WORDS: Final = {
    "basic": "Your account summary: rate, meter and list of bills",
    "invoice": "One bill: its total, due date and whether it is paid",
    "invoice_detail": "One bill in detail: usage, rates and charges",
}

# -- one-time Energy Data Agreement reports (seed 003, EM204) ---------------------------------

#: The ``api`` of a one-time agreement's usage report read (``EventTag.AGREEMENT_REPORT_READ``).
AGREEMENT_READS: Final = "agreement"


def agreement_report_words(path: str) -> str:
    """``Usage report for agreement 102512000233``: the read a one-time agreement's report made.

    The event's ``path`` is ``agreements/<number>`` (``services.agreement_reports``).
    """
    number = path.rstrip("/").rsplit("/", 1)[-1]
    return f"Usage report for agreement {number}" if number else "A usage report you agreed to"


#: How the log names each API.
API_NAMES: Final = {
    "espi": "Green Button (ESPI)",
    "cds": "CDS",
    "ecis": "ECIS",
    AGREEMENT_READS: "Energy Data Agreement",
}


def describe_read(path: str, api: str = "espi", request_type: str | None = None) -> str:
    """Plain words for what a read of ``path`` (by ``api``) returned."""
    if api == "ecis":
        return _ECIS_WORDS.get(request_type or "", "Your bills")
    if api == "cds":
        return _CDS_WORDS.get(path.rstrip("/").rsplit("/", 1)[-1], "Your energy data")
    segments = [segment for segment in path.split("/") if segment]
    for name, words in _RESOURCE_WORDS:
        if name in segments:
            return words
    if "UsagePoint" in segments and segments[-1] != "UsagePoint":
        return "Usage data of one service"
    if "Subscription" in segments:
        return "All the usage data you shared"
    return "Your energy data"


def access_log(
    directory: SelfServiceDirectory,
    customer_id: int,
    *,
    page: int,
    zone: ZoneInfo,
    page_size: int = ACCESS_LOG_PAGE_SIZE,
) -> AccessLogPage:
    """Page ``page`` (one-based) of the third-party reads of the customer's data."""
    reads = directory.data_reads(customer_id, skip=(page - 1) * page_size, limit=page_size + 1)
    names = {str(name.uuid): name.label for name in directory.service_point_names(customer_id)}
    entries = [_entry(read, names, zone) for read in reads[:page_size]]
    return AccessLogPage(entries, page, has_next=len(reads) > page_size)


def _entry(read: DataReadEvent, names: dict[str, str], zone: ZoneInfo) -> AccessLogEntry:
    services = tuple(
        dict.fromkeys(names.get(point, NO_LONGER_YOURS) for point in read.usage_points)
    )
    return AccessLogEntry(
        when=read.occurred_at.astimezone(zone),
        third_party=read.third_party,
        what=(
            agreement_report_words(read.path)
            if read.api == AGREEMENT_READS
            else describe_read(read.path, read.api, read.request_type)
        ),
        services=services,
        api=API_NAMES.get(read.api, read.api),
    )
