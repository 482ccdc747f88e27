"""The writer's Bulk extensions: per-usage-point subscriptions, and a feed written in pieces."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from lxml import etree

from opencustodian.protocols.espi.usage_feed import usage_feed
from tests.conformance.link_rules import certification_problems
from tests.unit.protocols.test_espi_usage_feed import (
    ROOT,
    channels,
    local_time_node,
    meta,
    sample_points,
)
from tests.xsd import schema_errors

if TYPE_CHECKING:
    from opencustodian.domain.metering import Reading

ATOM = "{http://www.w3.org/2005/Atom}"
__all__ = ["channels"]  # the sample feed's readings (a module fixture of the writer's tests)


def whole(channels: dict[str, list[Reading]]) -> bytes:
    return b"".join(usage_feed(meta(), local_time_node(), sample_points(channels)))


def test_pieces_written_apart_join_into_the_whole_feed(channels: dict[str, list[Reading]]) -> None:
    points = sample_points(channels)
    pieces = [
        usage_feed(meta(), local_time_node(), (), tail=False),
        usage_feed(meta(), local_time_node(), points[:1], head=False, tail=False),
        usage_feed(meta(), local_time_node(), points[1:], head=False, tail=False),
        usage_feed(meta(), local_time_node(), (), head=False),
    ]
    joined = b"".join(b"".join(piece) for piece in pieces)
    assert joined == whole(channels)


def test_a_usage_point_of_another_subscription_links_under_that_subscription(
    channels: dict[str, list[Reading]],
) -> None:
    first, *rest = sample_points(channels)
    points = [replace(first, subscription_id="other-subscription"), *rest]
    document = b"".join(usage_feed(meta(), local_time_node(), points))

    assert schema_errors(document) == []
    assert certification_problems(document) == []
    hrefs = [
        link.get("href") or ""
        for link in etree.fromstring(document).iter(f"{ATOM}link")
        if link.get("rel") in {"self", "up"}
    ]
    moved = [href for href in hrefs if "/Subscription/other-subscription/" in href]
    kept = [href for href in hrefs if "/Subscription/5/" in href]
    # The electric point's whole subtree (point, readings, blocks, summaries) moved with it.
    assert f"{ROOT}/Subscription/other-subscription/UsagePoint/{first.entry_id}" in moved
    assert any("/IntervalBlock/" in href for href in moved)
    assert any("/UsageSummary/" in href for href in moved)
    assert kept
    assert not any(str(first.entry_id) in href for href in kept)
