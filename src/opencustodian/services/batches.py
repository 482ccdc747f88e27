"""Asynchronous batches: Bulk, and Batch/Subscription feeds too large to stream on request.

Seed 000 §3.1 ("Synchronous vs Batch APIs") and research/espi.md §2.1, §7: such a request is
answered ``202 Accepted`` with the URI of a *job*; the job assembles the feed in the background,
then a BatchList naming that URI is POSTed to the third party's notification URI. A duplicate
request while its job is open is refused, naming the open job (seed 000: "The GBC platform will
reject duplicate requests").

- ``Batch/Bulk/{bulkId}`` (FB 35) holds the usage points of every active customer grant of the
  calling application whose scope carries ``BR={bulkId}`` — the scope is parsed, never matched
  as text — each read under that grant's own rights (``services.usage_feeds``), and each
  usage point once (the oldest grant that covers it).
- A Batch/Subscription request is deferred when ``estimated_readings`` exceeds the profile's
  ``sync_feed_max_readings``; its job builds exactly the feed a synchronous read would.

Job URIs sit under the resource they answer (``…/Batch/Subscription/{id}/Job/{jobId}``,
``…/Batch/Bulk/{bulkId}/Job/{jobId}``), so a third party that maps a notified URI to its token
by the ``resourceURI`` prefix (the reference third party does) finds the right token.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import astuple, dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from opencustodian.domain.batches import MAX_ATTEMPTS, BatchKind, BatchRequest
from opencustodian.domain.events import EventTag
from opencustodian.domain.scopes import nominal_seconds
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import local_midnight, to_epoch
from opencustodian.protocols.espi.query import FeedQuery, parse_feed_query
from opencustodian.protocols.espi.uris import resource_root
from opencustodian.protocols.espi.usage_feed import FeedMeta
from opencustodian.protocols.scopes import grant_scopes
from opencustodian.services.notifications import queue_batch_list
from opencustodian.services.usage_feeds import (
    FeedPlan,
    Focus,
    Paging,
    grant_usage_points,
    local_time_node,
    plan_subscription_feed,
    rights_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from datetime import date, datetime

    from opencustodian.domain.batches import BatchJob, SharedGrant
    from opencustodian.domain.metering import BillFacts, ChannelFacts, Reading, ServicePointFacts
    from opencustodian.domain.ports import BatchStore, NotificationStore, UsageReader
    from opencustodian.domain.scopes import DataScope
    from opencustodian.domain.usage_rights import ReadWindow, UsageRights
    from opencustodian.protocols.espi.usage_feed import UsagePointNode
    from opencustodian.services.usage_feeds import FeedGrant, FeedSettings

#: ESPI function block 35, "REST for Energy Usage Bulk": what a client token needs for Bulk.
BULK_BLOCK = 35
#: Grants whose service points and channels a Bulk reads in one go (``Prefetched``).
PREFETCH_GRANTS = 500
#: The notification tag of a finished (or failed) batch.
BATCH_READY = "espi:batch:ready"
#: Readings per local day of the finest data stored (5-minute): the most one IntervalBlock
#: holds, which bounds a request limited by ``max-results``/``depth``.
_MAX_READINGS_PER_BLOCK = 25 * 3600 // 300


class BatchRefusedError(Exception):
    """The job cannot run: what it was asked to read is no longer readable."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """The job answering a request, and whether this request opened it (else: duplicate)."""

    job: BatchJob
    created: bool


@dataclass(frozen=True, slots=True)
class BatchFeed:
    """A planned batch feed and, filled while it is written, what each grant had read."""

    plan: FeedPlan
    #: grant uuid → usage point uuids written for it (the audit trail of the job).
    served: dict[str, list[str]] = field(default_factory=dict)


def request_key(  # noqa: PLR0913 - a request is identified by all of these
    *,
    kind: BatchKind,
    application_id: int,
    grant_id: int | None,
    subject: str,
    usage_point: str | None,
    query: FeedQuery,
) -> str:
    """The identity of a request: caller, resource and the query parameters that matter.

    The query counts as parsed (``FeedQuery``), so unknown parameters or their order do not
    make a request new; a different window or page does.
    """
    text = repr((kind.value, application_id, grant_id, subject, usage_point, astuple(query)))
    return hashlib.sha256(text.encode()).hexdigest()


def request_batch(store: BatchStore, request: BatchRequest, now: datetime) -> Accepted:
    """Open a job for ``request``, or return the open job it duplicates."""
    existing = store.open_job(request.key)
    if existing is not None:
        return Accepted(existing, created=False)
    job = store.add_job(request, now)
    if job is not None:
        return Accepted(job, created=True)
    # Another process opened the same request between the two statements.
    raced = store.open_job(request.key)
    if raced is None:  # …and it has finished already: open ours after all
        job = store.add_job(request, now)
        if job is None:
            msg = "a duplicate batch request keeps racing this one"
            raise RuntimeError(msg)
        return Accepted(job, created=True)
    return Accepted(raced, created=False)


def job_uri(base_url: str, job: BatchJob) -> str:
    """Where a job is polled and its result fetched (module docstring)."""
    resource = "Subscription" if job.request.kind is BatchKind.SUBSCRIPTION else "Bulk"
    subject = quote(job.request.subject, safe="")  # a bulk id is any text a scope can carry
    return f"{resource_root(base_url)}/Batch/{resource}/{subject}/Job/{job.uuid}"


@lru_cache(maxsize=1024)
def _scopes(scope: str) -> tuple[DataScope, ...]:
    """The parsed scopes of a grant (none when unreadable); grants of a Bulk share a few."""
    return tuple(grant_scopes(scope))


def carries_bulk_id(scope: str, bulk_id: str) -> bool:
    """Whether one of the ``|``-joined scopes in ``scope`` states ``BR={bulk_id}``."""
    return any(one.bulk_id == bulk_id for one in _scopes(scope))


def client_may_bulk(scope: str) -> bool:
    """Whether a client access token's scope holds FB 35 (REST for Energy Usage Bulk)."""
    return any(BULK_BLOCK in one.function_blocks for one in _scopes(scope))


def bulk_grants(grants: Iterable[SharedGrant], bulk_id: str) -> list[SharedGrant]:
    """The grants whose scope carries ``BR={bulk_id}``, each usage point kept once.

    A customer who authorized the same third party twice would otherwise put one usage point
    (one stable id) twice into the feed; the oldest grant that covers it serves it.
    """
    seen: set[int] = set()
    chosen = []
    for grant in grants:
        if not carries_bulk_id(grant.scope, bulk_id):
            continue
        held = tuple((point, day) for point, day in grant.held_since if point not in seen)
        seen.update(point for point, _ in held)
        if held:
            chosen.append(replace(grant, held_since=held))
    return chosen


def grants_to_read(store: BatchStore, job: BatchJob, today: date) -> list[SharedGrant]:
    """The grants the job reads, as they stand now; ``BatchRefusedError`` when none may be."""
    request = job.request
    if request.kind is BatchKind.SUBSCRIPTION:
        grant = store.shared_grant(request.grant_id or 0, today)
        if grant is None or grant.subscription_uuid != request.subject:
            msg = "the authorization ended before its batch was built"
            raise BatchRefusedError(msg)
        return [grant]
    return bulk_grants(store.shared_grants(request.application_id, today), request.subject)


def plan_batch_feed(
    reader: UsageReader,
    job: BatchJob,
    grants: Sequence[SharedGrant],
    settings: FeedSettings,
    now: datetime,
) -> BatchFeed:
    """The job's feed: a grant's Batch/Subscription feed, or the Bulk feed of ``grants``."""
    request = job.request
    query = parse_feed_query(_query_pairs(request.query))
    if request.kind is BatchKind.SUBSCRIPTION:
        plan = plan_subscription_feed(
            reader,
            grants[0],
            settings,
            now=now,
            query=query,
            self_href=request.self_href,
            focus=Focus(usage_point=_uuid(request.usage_point)),
        )
        return BatchFeed(plan, {grants[0].grant_uuid: plan.service_point_uuids})
    return plan_bulk_feed(
        reader,
        grants,
        settings,
        now=now,
        query=query,
        self_href=request.self_href,
        feed_key=f"{request.application_id}/{request.subject}",
    )


def plan_bulk_feed(  # noqa: PLR0913 - one Bulk feed has this many inputs
    reader: UsageReader,
    grants: Sequence[SharedGrant],
    settings: FeedSettings,
    *,
    now: datetime,
    query: FeedQuery,
    self_href: str,
    feed_key: str,
) -> BatchFeed:
    """The Bulk feed of ``grants`` (already chosen by ``bulk_grants``), lazily.

    Paging counts IntervalBlocks across the whole feed, as in a Batch/Subscription feed.
    """
    paging = Paging(query.skip, query.entry_limit)
    meta = FeedMeta(
        feed_id=stable_uuid("bulk-feed", feed_key, self_href),
        title="Green Button Bulk Feed",
        self_href=self_href,
        updated=now,
        resource_root=resource_root(settings.base_url),
        subscription_id=str(stable_uuid("bulk", feed_key)),
        certification_href=settings.certification_href,
        next_href=lambda: _page_href(self_href, paging.next_start_index),
    )
    feed = BatchFeed(
        FeedPlan(
            meta=meta,
            local_time=local_time_node(settings.zone, now),
            usage_points=iter(()),
            paging=paging,
        )
    )
    feed.plan.usage_points = _bulk_points(reader, grants, settings, feed, now=now, query=query)
    return feed


def _bulk_points(  # noqa: PLR0913 - the inputs of plan_bulk_feed, passed on
    reader: UsageReader,
    grants: Sequence[SharedGrant],
    settings: FeedSettings,
    feed: BatchFeed,
    *,
    now: datetime,
    query: FeedQuery,
) -> Iterator[UsagePointNode]:
    """Each grant's usage points in turn, noting which were written for which grant."""
    rights: dict[str, UsageRights] = {}  # per scope string: thousands of grants share one
    for start in range(0, len(grants), PREFETCH_GRANTS):
        some = grants[start : start + PREFETCH_GRANTS]
        prefetched = Prefetched(
            reader, [point for grant in some for point in grant.live_service_point_ids]
        )
        for grant in some:
            served = feed.served.setdefault(grant.grant_uuid, [])
            if grant.scope not in rights:
                rights[grant.scope] = rights_of(grant, settings)
            for node in grant_usage_points(
                prefetched,
                grant,
                settings,
                now=now,
                query=query,
                paging=feed.plan.paging,
                rights=rights[grant.scope],
            ):
                served.append(str(node.entry_id))
                yield node


class Prefetched:
    """A ``UsageReader`` answering service points and channels of many grants from memory.

    Every grant of a Bulk asks for its service points and channels; reading them for a few
    hundred grants at once saves two queries per grant: about 0.8 ms each, 8 s of a
    10,000-grant Bulk (BENCHMARKS.md, "Bulk"). Readings and bills are read as asked.
    """

    def __init__(self, reader: UsageReader, service_point_ids: Sequence[int]) -> None:
        """Read the service points ``service_point_ids`` and their channels now."""
        self._reader = reader
        self._points = {point.id: point for point in reader.service_points(service_point_ids)}
        self._channels: dict[int, list[ChannelFacts]] = {}
        for channel in reader.channels(service_point_ids) if service_point_ids else []:
            self._channels.setdefault(channel.service_point_id, []).append(channel)

    def service_points(self, ids: Iterable[int]) -> list[ServicePointFacts]:
        """Service points by id, ordered by id (as ``SqlUsageStore`` orders them)."""
        return [self._points[point] for point in sorted(set(ids)) if point in self._points]

    def channels(self, service_point_ids: Iterable[int]) -> list[ChannelFacts]:
        """Channels of these service points, each point's in channel order."""
        wanted = sorted(set(service_point_ids))
        return [channel for point in wanted for channel in self._channels.get(point, ())]

    def readings(self, channel_id: int, first: int, end: int) -> Iterator[Reading]:
        """A channel's readings, read now."""
        return self._reader.readings(channel_id, first, end)

    def bills(self, service_point_ids: Iterable[int], ending_after: date) -> list[BillFacts]:
        """Bills, read now."""
        return self._reader.bills(service_point_ids, ending_after)


def _page_href(self_href: str, start_index: int | None) -> str | None:
    """``self_href`` with ``start-index`` set (RFC 5005 §3 ``next``); None: no next page."""
    if start_index is None:
        return None
    parts = urlsplit(self_href)
    query = [(name, value) for name, value in parse_qsl(parts.query) if name != "start-index"]
    query.append(("start-index", str(start_index)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def finish_batch(  # noqa: PLR0913 - one finished job touches all of these
    store: BatchStore,
    notifications: NotificationStore,
    job: BatchJob,
    *,
    result: tuple[str, int],
    served: dict[str, list[str]],
    now: datetime,
    base_url: str,
    render_batch_list: Callable[[Sequence[str]], str],
) -> None:
    """Record the result file, audit each grant's read, and queue the BatchList.

    ``result`` is the file name and its size. Each grant gets a ``DATA_READ`` event naming
    the usage points written for it (the customer's access log shows it), in the same
    transaction as the job's completion.
    """
    file_name, byte_count = result
    store.finish(job.id, file_name=file_name, byte_count=byte_count, now=now)
    uri = job_uri(base_url, job)
    actor = f"client:{store.client_id(job.request.application_id)}"
    path, batch = _path_of(uri), str(job.uuid)
    store.record_events(
        EventTag.DATA_READ,
        [
            (f"grant:{grant_uuid}", {"path": path, "usage_points": points, "batch": batch})
            for grant_uuid, points in served.items()
        ],
        actor,
    )
    queue_batch_list(
        notifications,
        job.request.application_id,
        tag=BATCH_READY,
        resources=[uri],
        render=render_batch_list,
    )


def fail_batch(  # noqa: PLR0913 - one failed run touches all of these
    store: BatchStore,
    notifications: NotificationStore,
    job: BatchJob,
    *,
    error: str,
    final: bool,
    now: datetime,
    base_url: str,
    render_batch_list: Callable[[Sequence[str]], str],
) -> bool:
    """Record a failed run; True when the job failed for good.

    A job runs at most ``MAX_ATTEMPTS`` times. When it fails for good the third party is
    still notified: its job URI then says so, rather than staying ``202`` forever (the
    "202s that never resolve" third parties complain of, research/espi.md §13).
    """
    final = final or job.attempts >= MAX_ATTEMPTS
    store.fail(job.id, error, now, final=final)
    if final:
        queue_batch_list(
            notifications,
            job.request.application_id,
            tag=BATCH_READY,
            resources=[job_uri(base_url, job)],
            render=render_batch_list,
        )
    return final


def estimated_readings(  # noqa: PLR0913 - one feed request has this many inputs
    reader: UsageReader,
    grant: FeedGrant,
    settings: FeedSettings,
    *,
    now: datetime,
    query: FeedQuery,
    usage_point: uuid.UUID | None = None,
) -> int:
    """About how many readings a Batch/Subscription request would write.

    Per channel the grant serves: the seconds its read window spans (history cap, tenure,
    authorized period, ``published-*``) divided by the channel's interval, or by the finest
    interval granted when that is coarser. A ``max-results``/``depth`` limit bounds it by
    that many full-day blocks.
    """
    rights = rights_of(grant, settings)
    points = reader.service_points(grant.live_service_point_ids)
    if usage_point is not None:
        points = [point for point in points if point.uuid == usage_point]
    by_id = {point.id: point for point in points}
    first, end = _narrowed(rights.window(to_epoch(now), _end(grant)), query)
    held = {point: to_epoch(local_midnight(day, settings.zone)) for point, day in grant.held_since}
    granted = rights.finest_interval
    coarsest_allowed = nominal_seconds(granted) if granted is not None else 0
    total = 0
    for channel in reader.channels(list(by_id)) if by_id else []:
        point = by_id[channel.service_point_id]
        if channel.channel not in rights.channels(point.commodity, net_metered=point.net_metered):
            continue
        interval = max(channel.reading_type.interval_length or 900, coarsest_allowed, 1)
        span = end - max(first, held.get(point.id, first))
        total += max(span, 0) // interval
    if query.entry_limit is not None:
        total = min(total, query.entry_limit * _MAX_READINGS_PER_BLOCK)
    return total


def _narrowed(window: ReadWindow, query: FeedQuery) -> tuple[int, int]:
    """The part of ``window`` a ``published-min``/``-max`` query can keep."""
    first, end = window.first, window.end
    if query.published_min is not None:
        first = max(first, query.published_min)
    if query.published_max is not None:
        end = min(end, query.published_max)
    return first, end


def _end(grant: FeedGrant) -> int | None:
    return to_epoch(grant.authorized_end) if grant.authorized_end else None


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def _uuid(text: str | None) -> uuid.UUID | None:
    return None if text is None else uuid.UUID(text)


def _path_of(uri: str) -> str:
    return urlsplit(uri).path
