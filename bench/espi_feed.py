"""ESPI feed benchmark: the streaming usage-feed writer against a minimal f-string serializer.

One usage point with ``--days`` (730: two years, 70,080 readings) of 15-minute readings with
cost, grouped into local days in America/Los_Angeles by ``local_blocks`` (timed on its own).
In the same run, best of ``--repeat``:

* ``floor``: the cheapest serializer of the same blocks that still writes comparable XML: one
  minimal entry per block (id, interval) and the same IntervalReading elements, joined from
  f-strings and encoded in ~64 KiB chunks; no links, no titles, no escaping;
* ``writer``: ``usage_feed`` writing the whole feed (head, LocalTimeParameters, UsagePoint,
  MeterReading, ReadingType, every IntervalBlock entry with its links).

The ratio is writer time / floor time (target ≤ 2.0). Then peak RSS: the writer runs in a
child process for a small feed and for a large one (``--large-points`` usage points ×
``--large-days`` days, ~1 GB of XML), its readings generated lazily and its chunks counted and
dropped; the child reports its own ``ru_maxrss`` (target < 150 MB, flat with size). It ends
with one JSON line of the figures.

``bench/token.py`` shadows the standard library's ``token`` module for scripts run from this
directory, so the script takes its own directory off ``sys.path`` first (as token.py does).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import resource
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from opencustodian.domain.metering import ReadingType
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import local_midnight, to_epoch
from opencustodian.protocols.espi.usage_feed import (
    BlockNode,
    FeedMeta,
    LocalTimeNode,
    MeterReadingNode,
    UsagePointNode,
    local_blocks,
    local_time_parameters,
    usage_feed,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from opencustodian.domain.metering import Reading

ZONE = ZoneInfo("America/Los_Angeles")
FIRST_DAY = date(2023, 1, 1)
WHEN = datetime(2025, 1, 2, tzinfo=UTC)
ROOT = "https://dc.example/espi/1_1/resource"
CHUNK_CHARS = 64 * 1024
READING_TYPE = ReadingType(
    commodity=1,
    kind=12,
    uom=72,
    power_of_ten_multiplier=0,
    accumulation_behaviour=4,
    flow_direction=1,
    interval_length=900,
    currency=840,
)


def readings(days: int, seed: int = 0) -> Iterator[Reading]:
    """15-minute readings with cost over ``days`` local days, generated lazily."""
    start = to_epoch(local_midnight(FIRST_DAY, ZONE))
    end = to_epoch(local_midnight(FIRST_DAY + timedelta(days=days), ZONE))
    for moment in range(start, end, 900):
        slot = moment // 900 + seed
        yield (moment, 900, slot * 7919 % 4000, slot * 104_729 % 90_000, None)


def block_nodes(key: str, grouped: Iterable[tuple[int, int, list[Reading]]]) -> Iterator[BlockNode]:
    """BlockNodes with stable ids over grouped readings, lazily."""
    for start, duration, rows in grouped:
        yield BlockNode(stable_uuid(key, start), WHEN, WHEN, start, duration, rows)


def feed_parts(
    points: int, days: int, *, blocks: list[BlockNode] | None = None
) -> tuple[FeedMeta, LocalTimeNode, Iterator[UsagePointNode]]:
    """The arguments of ``usage_feed``: ``points`` usage points of ``days`` days each."""
    meta = FeedMeta(
        stable_uuid("bench", "feed"),
        "Green Button Usage Feed",
        f"{ROOT}/Batch/Subscription/1",
        WHEN,
        ROOT,
        "1",
        "https://cert.example/certificate/1",
    )
    local = LocalTimeNode(
        stable_uuid("bench", "ltp"), WHEN, WHEN, local_time_parameters(ZONE, 2024)
    )

    def point(index: int) -> UsagePointNode:
        key = f"point-{index}"
        node_blocks: Iterable[BlockNode] = (
            blocks
            if blocks is not None
            else block_nodes(key, local_blocks(readings(days, seed=index), ZONE))
        )
        reading = MeterReadingNode(
            stable_uuid(key, "mr"),
            stable_uuid("bench", "rt"),
            WHEN,
            WHEN,
            "Fifteen-minute electricity",
            READING_TYPE,
            node_blocks,
        )
        return UsagePointNode(stable_uuid(key, "up"), WHEN, WHEN, f"Meter {index}", 0, [reading])

    return meta, local, (point(index) for index in range(points))


def floor_serializer(blocks: list[BlockNode]) -> Iterator[bytes]:
    """The practical floor: minimal block entries, the same IntervalReading XML, 64 KiB chunks."""
    parts: list[str] = [
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:espi="http://naesb.org/espi">'
        )
    ]
    size = 0
    for block in blocks:
        text = (
            f"<entry><id>{block.entry_id.urn}</id><content><espi:IntervalBlock><espi:interval>"
            f"<espi:duration>{block.duration}</espi:duration><espi:start>{block.start}"
            "</espi:start></espi:interval>"
            + "".join(
                [
                    f"<espi:IntervalReading><espi:cost>{cost}</espi:cost><espi:timePeriod>"
                    f"<espi:duration>{duration}</espi:duration><espi:start>{start}</espi:start>"
                    f"</espi:timePeriod><espi:value>{value}</espi:value></espi:IntervalReading>"
                    for start, duration, value, cost, _ in block.readings
                ]
            )
            + "</espi:IntervalBlock></content></entry>"
        )
        parts.append(text)
        size += len(text)
        if size >= CHUNK_CHARS:
            yield "".join(parts).encode()
            parts.clear()
            size = 0
    parts.append("</feed>")
    yield "".join(parts).encode()


def best(function: Callable[[], Iterable[bytes]], repeat: int) -> tuple[float, int]:
    """Best wall time of ``repeat`` runs of a chunk generator, and the bytes it wrote."""
    times, written = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        written = sum(len(chunk) for chunk in function())
        times.append(time.perf_counter() - began)
    return min(times), written


def child(points: int, days: int) -> None:
    """Write a lazily generated feed to a counting sink; print bytes and peak RSS."""
    began = time.perf_counter()
    written = 0
    chunks = 0
    for chunk in usage_feed(*feed_parts(points, days)):
        written += len(chunk)
        chunks += 1
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "bytes": written,
                "chunks": chunks,
                "seconds": seconds,
                "peak_rss_mib": peak_kib / 1024,
            }
        )
    )


def measure_rss(points: int, days: int) -> dict[str, Any]:
    """Run ``child`` in a fresh process and return what it reports."""
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, __file__, "--child", str(points), str(days)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    figures.update(points=points, days=days)
    return figures


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--small-points", type=int, default=1)
    parser.add_argument("--small-days", type=int, default=30)
    parser.add_argument("--large-points", type=int, default=40)
    parser.add_argument("--large-days", type=int, default=1461)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--child", nargs=2, type=int, metavar=("POINTS", "DAYS"))
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child)
        return

    rows = list(readings(arguments.days))
    began = time.perf_counter()
    grouped = list(local_blocks(rows, ZONE))
    grouping_seconds = time.perf_counter() - began
    blocks = list(block_nodes("point-0", grouped))
    assert sum(len(block.readings) for block in blocks) == len(rows)

    # Both write the same IntervalReading text: the writer's output contains the floor's
    # readings of the first block verbatim.
    floor_first = next(floor_serializer(blocks[:1])).decode()
    reading_xml = floor_first[
        floor_first.index("<espi:IntervalReading>") : floor_first.index("</espi:IntervalBlock>")
    ]
    writer_text = b"".join(usage_feed(*feed_parts(1, 0, blocks=blocks[:1]))).decode()
    assert reading_xml in writer_text

    floor_seconds, floor_bytes = best(lambda: floor_serializer(blocks), arguments.repeat)
    writer_seconds, writer_bytes = best(
        lambda: usage_feed(*feed_parts(1, 0, blocks=blocks)), arguments.repeat
    )
    ratio = writer_seconds / floor_seconds
    print(f"readings {len(rows):,} in {len(blocks)} local-day blocks ({ZONE.key})")
    print(f"local_blocks grouping {grouping_seconds * 1000:.1f} ms")
    print(
        f"floor  {floor_seconds * 1000:8.1f} ms  {floor_bytes / 1e6:7.1f} MB"
        f"  {floor_bytes / 1e6 / floor_seconds:6.1f} MB/s"
    )
    print(
        f"writer {writer_seconds * 1000:8.1f} ms  {writer_bytes / 1e6:7.1f} MB"
        f"  {writer_bytes / 1e6 / writer_seconds:6.1f} MB/s  ratio {ratio:.2f}"
    )
    figures: dict[str, Any] = {
        "readings": len(rows),
        "blocks": len(blocks),
        "grouping_ms": round(grouping_seconds * 1000, 1),
        "floor_ms": round(floor_seconds * 1000, 1),
        "floor_mb": round(floor_bytes / 1e6, 2),
        "writer_ms": round(writer_seconds * 1000, 1),
        "writer_mb": round(writer_bytes / 1e6, 2),
        "writer_mb_per_s": round(writer_bytes / 1e6 / writer_seconds, 1),
        "ratio": round(ratio, 2),
    }
    if not arguments.skip_rss:
        for label, points, days in (
            ("small", arguments.small_points, arguments.small_days),
            ("large", arguments.large_points, arguments.large_days),
        ):
            rss = measure_rss(points, days)
            print(
                f"rss {label}: {points} usage points × {days} days, {rss['bytes'] / 1e6:,.0f} MB"
                f" in {rss['seconds']:.1f} s, peak RSS {rss['peak_rss_mib']:.1f} MiB"
            )
            figures[f"rss_{label}"] = rss
    print(json.dumps({"bench": "espi_feed", "results": figures}))


if __name__ == "__main__":
    main()
