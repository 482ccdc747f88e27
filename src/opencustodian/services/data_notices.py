"""New data arrived: tell every subscription that covers it (ESPI FB_39, research/espi.md §7).

Run in the transaction of the import that wrote the readings, so a notice is queued exactly
when the data it announces is committed. Each third party gets one BatchList per import,
naming what to fetch: a grant's ``…/Batch/Subscription/{id}`` narrowed with
``published-min``/``published-max`` to the span that changed (the reference implementation's
shape), or, for a grant taken for bulk (``BR=`` in its scope), ``…/Batch/Bulk/{bulkId}`` once.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from opencustodian.domain.events import EventTag
from opencustodian.kit.time import from_epoch, local_date, local_day_bounds, local_month_bounds
from opencustodian.protocols.espi.uris import bulk_uri, subscription_uri
from opencustodian.protocols.scopes import grant_scopes
from opencustodian.services.notifications import queue_batch_list

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from zoneinfo import ZoneInfo

    from opencustodian.domain.ingest import ChangedSpan
    from opencustodian.domain.notifications import DataAudience
    from opencustodian.domain.ports import DataAudienceStore, NotificationStore

#: Readings at least this long sit in month IntervalBlocks (``protocols.espi.local_time``).
_SHORTEST_DAY = 23 * 3600


def notify_new_data(  # noqa: PLR0913 - the stores, what changed, and how URIs are written
    audiences: DataAudienceStore,
    outbox: NotificationStore,
    changed_spans: Mapping[int, ChangedSpan],
    *,
    base_url: str,
    zone: ZoneInfo,
    render: Callable[[Sequence[str]], str],
) -> int:
    """Queue the BatchLists for readings changed in ``changed_spans``; how many were queued.

    ``changed_spans`` maps a meter reading to the span of its inserted or corrected
    readings. A third party without a notification URI is skipped.
    """
    if not changed_spans:
        return 0
    per_application: dict[int, dict[str, ChangedSpan]] = defaultdict(dict)
    for audience in audiences.audiences(changed_spans):
        span = changed_spans[audience.meter_reading_id]
        key = _resource_key(audience, base_url)
        known = per_application[audience.application_id].get(key)
        per_application[audience.application_id][key] = span if known is None else known.union(span)
    queued = 0
    for application_id, resources in sorted(per_application.items()):
        uris = [_with_span(key, span, zone) for key, span in sorted(resources.items())]
        queued += queue_batch_list(
            outbox,
            application_id,
            tag=EventTag.INGEST_FILE_IMPORTED.value,
            resources=uris,
            render=render,
        )
    return queued


def _resource_key(audience: DataAudience, base_url: str) -> str:
    """What the third party fetches for this grant: its bulk, or its subscription."""
    bulk_ids = sorted({s.bulk_id for s in grant_scopes(audience.scope) if s.bulk_id})
    if bulk_ids:
        return bulk_uri(base_url, bulk_ids[0])
    return subscription_uri(base_url, audience.subscription_uuid)


def _with_span(uri: str, span: ChangedSpan, zone: ZoneInfo) -> str:
    """``uri`` narrowed to the IntervalBlocks holding the changed span.

    ``published-*`` keep a block only when it lies wholly inside them (research/espi.md §3,
    the reference ExportFilter), so the bounds are widened to the local days (or, for daily
    readings, the local months) the changed readings fall in; a narrower window would
    announce data the announced URI then leaves out (COMMON issue #280). A bulk URI names
    every grant and is left whole.
    """
    if "/Batch/Bulk/" in uri:
        return uri
    first, end = _block_bounds(span, zone)
    query = {
        "published-min": from_epoch(first).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published-max": from_epoch(end).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return f"{uri}?{urlencode(query, safe=':')}"


def _block_bounds(span: ChangedSpan, zone: ZoneInfo) -> tuple[int, int]:
    """The start of the first and the end of the last local block the span touches."""
    last = local_date(span.end - 1, zone)
    start = local_date(span.first, zone)
    if span.shortest >= _SHORTEST_DAY:
        return (
            local_month_bounds(start.year, start.month, zone)[0],
            local_month_bounds(last.year, last.month, zone)[1],
        )
    return local_day_bounds(start, zone)[0], local_day_bounds(last, zone)[1]
