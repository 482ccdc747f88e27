"""Connect My Data usage feeds: what a grant may read, described for the ESPI feed writer.

``plan_subscription_feed`` runs after ``services.access.check_bearer`` accepted the token. It
decides, from the token's scope (``domain.usage_rights``) and the live service points of the
grant, which usage points, channels, readings and summaries the feed holds, and hands the
writer lazy iterables: readings are read page by page while the response streams.

Paging (``max-results``/``depth``, ``start-index``) counts IntervalBlocks only, the entries
that make a feed large. Every block is preceded by its UsagePoint, MeterReading and
ReadingType entries, so a page never holds a block without its tree; when a limit stops the
feed early, ``Paging.next_start_index`` says where the next page starts and the feed ends
with a ``link rel="next"`` (RFC 5005 §3) carrying it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opencustodian.domain.metering import Commodity
from opencustodian.domain.usage_rights import (
    ReadWindow,
    UsageRights,
    coarsened,
    real_time,
    usage_rights,
)
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import from_epoch, local_date, local_midnight, to_epoch
from opencustodian.protocols.espi.query import FeedQuery
from opencustodian.protocols.espi.uris import resource_root
from opencustodian.protocols.espi.usage_feed import (
    BlockNode,
    FeedMeta,
    LocalTimeNode,
    MeterReadingNode,
    UsagePointNode,
    UsageSummaryNode,
    local_blocks,
    local_time_parameters,
)
from opencustodian.protocols.scopes import grant_scopes

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterator, Sequence
    from datetime import date, datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from opencustodian.domain.metering import BillFacts, ChannelFacts, Reading, ServicePointFacts
    from opencustodian.domain.ports import UsageReader

SERVICE_KINDS = {"electricity": 0, "gas": 1, "water": 2}
ISO_CURRENCIES = {"USD": 840, "CAD": 124, "EUR": 978}
MONEY_SCALE = 100_000  # ESPI cost: 10⁻⁵ currency units (research/espi.md §4)
#: Bill usage units as ESPI (uom code, powerOfTenMultiplier): Wh 72, therm 169, ft³ 119.
BILL_UNITS = {"kwh": (72, 3), "therm": (169, 0), "therms": (169, 0), "ccf": (119, 2)}


_EVERYTHING = FeedQuery()


class ResourceNotFoundError(LookupError):
    """The requested resource is not in the token's subscription (or does not exist)."""


class UsagePointNotFoundError(ResourceNotFoundError):
    """The requested usage point is not in the token's subscription (or does not exist)."""


@dataclass(frozen=True, slots=True)
class Focus:
    """The part of a subscription a request's path reaches, and what must be read for it.

    ``usage_point`` and ``meter_reading`` come from the XPath forms' path
    (``…/UsagePoint/{u}/MeterReading/{m}``); ``with_blocks`` is false when no IntervalBlock
    will be written (a MeterReading or ReadingType request), so no reading is read at all.
    """

    usage_point: uuid.UUID | None = None
    meter_reading: uuid.UUID | None = None
    with_blocks: bool = True
    #: The real-time form: electricity only, the last day, provisional (``plan_subscription_feed``).
    real_time: bool = False


class RealTimeUnavailableError(ValueError):
    """Real-time data was asked of a usage point that has none (gas and water: seed 000 §3.3)."""


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """The custodian's side of every feed."""

    base_url: str
    zone: ZoneInfo
    max_history_seconds: int
    certification_href: str | None = None
    real_time_window_seconds: int = 86_400  # seed 000 §3.3f: the last 24 hours
    real_time_latency_seconds: int = 2_700  # … offered 45 minutes after the request time


@dataclass
class Paging:
    """IntervalBlock paging of one feed (module docstring); filled in while it streams."""

    skip: int
    limit: int | None
    seen: int = 0
    emitted: int = 0
    next_start_index: int | None = None

    def admit(self) -> bool:
        """Count one block; whether it belongs on this page."""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.limit is not None and self.emitted >= self.limit:
            if self.next_start_index is None:
                self.next_start_index = self.seen  # one-based index of the first left out
            return False
        self.emitted += 1
        return True


@dataclass
class FeedPlan:
    """Everything the writer needs, lazily; ``paging`` is final once the feed is written."""

    meta: FeedMeta
    local_time: LocalTimeNode
    usage_points: Iterator[UsagePointNode]
    paging: Paging
    service_point_uuids: list[str] = field(default_factory=list)


class FeedGrant(Protocol):
    """The grant a feed is read for: a token's ``AccessRecord``, or a batch's ``SharedGrant``."""

    @property
    def subscription_uuid(self) -> str:
        """The grant's ESPI Subscription id."""
        ...

    @property
    def scope(self) -> str:
        """The granted ESPI scope string(s)."""
        ...

    @property
    def authorized_end(self) -> datetime | None:
        """When the authorized period ends (None: open-ended)."""
        ...

    @property
    def held_since(self) -> tuple[tuple[int, date], ...]:
        """(service point id, first day of the sharing account's tenure) per live point."""
        ...

    @property
    def live_service_point_ids(self) -> tuple[int, ...]:
        """The covered service points still held by the account they were shared from."""
        ...


def rights_of(record: FeedGrant, settings: FeedSettings) -> UsageRights:
    """What the token's scope allows (an unparsable stored scope allows nothing)."""
    return usage_rights(grant_scopes(record.scope), settings.max_history_seconds)


def plan_subscription_feed(  # noqa: PLR0913 - one feed request has this many inputs
    reader: UsageReader,
    record: FeedGrant,
    settings: FeedSettings,
    *,
    now: datetime,
    query: FeedQuery,
    self_href: str,
    usage_point: uuid.UUID | None = None,
    focus: Focus | None = None,
) -> FeedPlan:
    """The Batch/Subscription feed of the token's grant, or the part ``focus`` reaches.

    Raises ``ResourceNotFoundError`` when the focused usage point or meter reading is not
    one the grant serves (another customer's id looks exactly like an unknown one).

    The real-time form (seed 000 §3.3e–g) serves electric usage points only, readings of the
    last ``real_time_window_seconds`` that ended ``real_time_latency_seconds`` before the
    request, marked provisional; ``RealTimeUnavailableError`` when a gas or water usage point
    is asked for, or the subscription has no electric one.
    """
    focus = focus or Focus(usage_point=usage_point)
    rights = rights_of(record, settings)
    points = reader.service_points(record.live_service_point_ids)
    if focus.usage_point is not None:
        points = [point for point in points if point.uuid == focus.usage_point]
        if not points:
            raise UsagePointNotFoundError(str(focus.usage_point))
    if focus.real_time:
        points = _electric_only(points)
    channels = _served_channels(reader, rights, points, focus.meter_reading)
    end = to_epoch(record.authorized_end) if record.authorized_end else None
    window = _narrowed(rights.window(to_epoch(now), end), query)
    offered_until = None
    if focus.real_time:
        offered_until = to_epoch(now) - settings.real_time_latency_seconds
        recent = to_epoch(now) - settings.real_time_window_seconds
        window = ReadWindow(max(window.first, recent), min(window.end, offered_until))
    paging = Paging(query.skip, query.entry_limit)
    held_since = {
        point: to_epoch(local_midnight(day, settings.zone)) for point, day in record.held_since
    }
    builder = _TreeBuilder(
        reader,
        rights,
        settings,
        window,
        query,
        paging,
        held_since,
        focus.with_blocks,
        offered_until,
    )
    meta = FeedMeta(
        feed_id=stable_uuid("feed", record.subscription_uuid, self_href),
        title="Green Button Usage Feed",
        self_href=self_href,
        updated=now,
        resource_root=resource_root(settings.base_url),
        subscription_id=record.subscription_uuid,
        certification_href=settings.certification_href,
        next_href=lambda: _page_href(self_href, paging.next_start_index),
    )
    return FeedPlan(
        meta=meta,
        local_time=local_time_node(settings.zone, now),
        usage_points=builder.usage_points(points, channels),
        paging=paging,
        service_point_uuids=[str(point.uuid) for point in points],
    )


def grant_usage_points(  # noqa: PLR0913 - one grant's read has this many inputs
    reader: UsageReader,
    grant: FeedGrant,
    settings: FeedSettings,
    *,
    now: datetime,
    query: FeedQuery,
    paging: Paging,
    rights: UsageRights | None = None,
) -> Iterator[UsagePointNode]:
    """One grant's usage-point trees, read under its own rights, hrefs naming its subscription.

    What a Bulk feed holds per grant (research/espi.md §2.1): the grant's scope, its
    accounts' tenure, the history cap and its authorized period decide exactly as for its
    own Batch/Subscription feed. ``paging`` is shared by every grant of the feed; ``rights``
    may be given when already known (``rights_of`` the grant: many grants share a scope).
    """
    rights = rights or rights_of(grant, settings)
    points = reader.service_points(grant.live_service_point_ids)
    channels = _served_channels(reader, rights, points, None)
    end = to_epoch(grant.authorized_end) if grant.authorized_end else None
    window = _narrowed(rights.window(to_epoch(now), end), query)
    held_since = {
        point: to_epoch(local_midnight(day, settings.zone)) for point, day in grant.held_since
    }
    builder = _TreeBuilder(reader, rights, settings, window, query, paging, held_since)
    for node in builder.usage_points(points, channels):
        yield replace(node, subscription_id=grant.subscription_uuid)


def _electric_only(points: Sequence[ServicePointFacts]) -> list[ServicePointFacts]:
    """The electric ones of ``points``; ``RealTimeUnavailableError`` when there are none."""
    electric = [point for point in points if point.commodity is Commodity.ELECTRICITY]
    if not electric:
        kinds = sorted({point.commodity.value for point in points}) or ["no usage point"]
        msg = (
            "real-time data is offered for electricity only; this request reaches "
            f"{', '.join(kinds)}"
        )
        raise RealTimeUnavailableError(msg)
    return electric


def _served_channels(
    reader: UsageReader,
    rights: UsageRights,
    points: Sequence[ServicePointFacts],
    meter_reading: uuid.UUID | None,
) -> list[ChannelFacts]:
    """The channels of ``points`` the grant serves, or the one ``meter_reading`` names."""
    by_id = {point.id: point for point in points}
    served = []
    for channel in reader.channels(list(by_id)) if points else []:
        point = by_id[channel.service_point_id]
        if channel.channel in rights.channels(point.commodity, net_metered=point.net_metered):
            served.append(channel)
    if meter_reading is None:
        return served
    chosen = [channel for channel in served if channel.uuid == meter_reading]
    if not chosen:
        raise ResourceNotFoundError(str(meter_reading))
    return chosen


#: Download My Data: the customer's own data, every block (research/espi.md §9).
DOWNLOAD_BLOCKS = frozenset({4, 5, 7, 8, 10, 11, 12, 15, 16})


def plan_download_feed(  # noqa: PLR0913 - one download has this many inputs
    reader: UsageReader,
    service_point_ids: Sequence[int],
    settings: FeedSettings,
    *,
    now: datetime,
    window: ReadWindow,
    self_href: str,
    feed_key: str,
) -> FeedPlan:
    """A Download My Data feed: every channel and summary of these points within ``window``.

    The caller (the customer portal, or the operator's CLI) has already decided whose points
    these are; ``feed_key`` names the download stably (it seeds the hrefs' collection id).
    """
    rights = UsageRights(DOWNLOAD_BLOCKS, settings.max_history_seconds, None)
    points = reader.service_points(service_point_ids)
    paging = Paging(0, None)
    builder = _TreeBuilder(reader, rights, settings, window, _EVERYTHING, paging, {})
    collection = str(stable_uuid("download", feed_key))
    meta = FeedMeta(
        feed_id=stable_uuid("download-feed", feed_key, window.first, window.end),
        title="Green Button Download My Data",
        self_href=self_href,
        updated=now,
        resource_root=resource_root(settings.base_url),
        subscription_id=collection,
        certification_href=settings.certification_href,
    )
    return FeedPlan(
        meta=meta,
        local_time=local_time_node(settings.zone, now),
        usage_points=builder.usage_points(points, _served_channels(reader, rights, points, None)),
        paging=paging,
        service_point_uuids=[str(point.uuid) for point in points],
    )


def _page_href(self_href: str, start_index: int | None) -> str | None:
    """``self_href`` with ``start-index`` set to ``start_index`` (None: there is no next page)."""
    if start_index is None:
        return None
    parts = urlsplit(self_href)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "start-index"]
    query.append(("start-index", str(start_index)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def local_time_node(zone: ZoneInfo, now: datetime) -> LocalTimeNode:
    """The territory's LocalTimeParameters entry (one stable id per zone)."""
    return LocalTimeNode(
        entry_id=stable_uuid("LocalTimeParameters", zone.key),
        published=now,
        updated=now,
        params=local_time_parameters(zone, now.astimezone(zone).year),
    )


def _narrowed(window: ReadWindow, query: FeedQuery) -> ReadWindow:
    """The readings a ``published-min``/``-max`` query could keep (blocks are checked later)."""
    first = max(window.first, query.published_min or window.first)
    end = min(window.end, query.published_max if query.published_max is not None else window.end)
    return ReadWindow(first, end)


@dataclass(frozen=True, slots=True)
class _TreeBuilder:
    """Builds the lazy usage-point trees of one feed."""

    reader: UsageReader
    rights: UsageRights
    settings: FeedSettings
    window: ReadWindow
    query: FeedQuery
    paging: Paging
    #: Per service point, the epoch its current holder's tenure began: earlier readings and
    #: bills were the previous occupant's and are never served.
    held_since: dict[int, int]
    #: False when no IntervalBlock will be written: then no reading is read.
    with_blocks: bool = True
    #: Real-time form: serve readings that ended by this epoch, marked provisional.
    offered_until: int | None = None

    def usage_points(
        self, points: Sequence[ServicePointFacts], channels: Sequence[ChannelFacts]
    ) -> Iterator[UsagePointNode]:
        """The trees of ``points`` over their served ``channels`` (built as they stream)."""
        bills = self._bills(points)
        for point in points:
            mine = [channel for channel in channels if channel.service_point_id == point.id]
            yield UsagePointNode(
                entry_id=point.uuid,
                published=point.created_at,
                updated=point.created_at,
                title=point.title or "",
                service_kind=SERVICE_KINDS[point.commodity.value],
                meter_readings=(self._meter_reading(channel, point) for channel in mine),
                summaries=[
                    self._summary(bill) for bill in bills if bill.service_point_id == point.id
                ],
            )

    def _bills(self, points: Sequence[ServicePointFacts]) -> list[BillFacts]:
        if not self.rights.summaries or self.window.is_empty:
            return []
        earliest = local_date(self.window.first, self.settings.zone)
        return [
            bill
            for bill in self.reader.bills((point.id for point in points), earliest)
            if self._bill_in_window(bill)
        ]

    def _bill_in_window(self, bill: BillFacts) -> bool:
        start = to_epoch(local_midnight(bill.period_start, self.settings.zone))
        first = self._first(bill.service_point_id)
        return first <= start < self.window.end

    def _first(self, service_point_id: int) -> int:
        """The earliest reading start this feed may serve for a service point."""
        return max(self.window.first, self.held_since.get(service_point_id, self.window.first))

    def _meter_reading(self, channel: ChannelFacts, point: ServicePointFacts) -> MeterReadingNode:
        return MeterReadingNode(
            entry_id=channel.uuid,
            reading_type_id=stable_uuid("ReadingType", channel.uuid),
            published=point.created_at,
            updated=point.created_at,
            title=channel.title or "",
            reading_type=channel.reading_type,
            blocks=self._blocks(channel) if self.with_blocks else (),
        )

    def _blocks(self, channel: ChannelFacts) -> Iterator[BlockNode]:
        first = self._first(channel.service_point_id)
        if first >= self.window.end:
            return
        readings = self.reader.readings(channel.id, first, self.window.end)
        if self.offered_until is not None:
            readings = real_time(readings, self.offered_until)
        readings = coarsened(
            readings,
            self.rights.finest_interval,
            self.settings.zone,
            keep_cost=self.rights.costs,
        )
        for start, duration, block in local_blocks(readings, self.settings.zone):
            node = self._block(channel, start, duration, block)
            if node is not None and self.paging.admit():
                yield node

    def _block(
        self, channel: ChannelFacts, start: int, duration: int, readings: list[Reading]
    ) -> BlockNode | None:
        """A block, trimmed to start at its first reading; None when the query excludes it.

        A block cut by the history window starts at its first reading (certification rule
        D042: the first reading starts where the block's interval starts).
        """
        first = readings[0][0]
        if first > start:
            duration -= first - start
            start = first
        if not self._block_wanted(start, duration):
            return None
        published = from_epoch(start + duration)
        return BlockNode(
            entry_id=stable_uuid("IntervalBlock", channel.uuid, start),
            published=published,
            updated=published,
            start=start,
            duration=duration,
            readings=readings,
        )

    def _block_wanted(self, start: int, duration: int) -> bool:
        """IntervalBlocks match ``published-*`` on data time (research/espi.md §3)."""
        query = self.query
        if query.published_min is not None and start < query.published_min:
            return False
        if query.published_max is not None and start + duration > query.published_max:
            return False
        published = start + duration
        if query.updated_min is not None and published < query.updated_min:
            return False
        return query.updated_max is None or published <= query.updated_max

    def _summary(self, bill: BillFacts) -> UsageSummaryNode:
        zone = self.settings.zone
        start = to_epoch(local_midnight(bill.period_start, zone))
        end = to_epoch(local_midnight(bill.period_end, zone))
        issued = to_epoch(local_midnight(bill.issued_on, zone))
        # ESPI quantities are value × 10^powerOfTenMultiplier of uom (kWh = Wh × 10³, CCF =
        # ft³ × 10²). The value is an integer, so a bill's fractional usage lowers the power
        # instead of being rounded: the summary agrees with the bill to the Wh (or ft³).
        uom, unit_power = BILL_UNITS.get(bill.usage_unit.lower(), BILL_UNITS["kwh"])
        consumption, power = exact_measurement(bill.usage, unit_power)
        return UsageSummaryNode(
            entry_id=bill.uuid,
            published=from_epoch(issued),
            updated=from_epoch(issued),
            period_start=start,
            period_duration=end - start,
            status_time_stamp=issued,
            currency=ISO_CURRENCIES.get(bill.currency, 840),
            bill_last_period=(int(bill.total * MONEY_SCALE) if self.rights.summary_costs else None),
            consumption_value=consumption,
            consumption_uom=uom,
            consumption_power_of_ten=power,
        )


def exact_measurement(quantity: Decimal, power: int) -> tuple[int, int]:
    """``quantity`` (in units of 10^``power``) as an integer value and its power of ten.

    espi.xsd ``SummaryMeasurement``: value × 10^powerOfTenMultiplier. ``Decimal("512.345")``
    kWh (power 3) is 512345 at power 0, never rounded to 512.
    """
    exponent = quantity.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return int(quantity.scaleb(places)), power - places
