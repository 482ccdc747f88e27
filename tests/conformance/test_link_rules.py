"""The certification link-rule checker flags every rule on small broken feeds.

A conforming hand-made feed passes; each variant breaks exactly one rule and must be flagged
with that rule's code, so the checker cannot pass silently. It also passes the usage-feed
writer's output and reads every shared sample without crashing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from opencustodian.domain.metering import ReadingType
from opencustodian.kit.ids import stable_uuid
from opencustodian.protocols.espi.usage_feed import (
    BlockNode,
    FeedMeta,
    LocalTimeNode,
    MeterReadingNode,
    UsagePointNode,
    local_time_parameters,
    usage_feed,
)
from tests.conformance.link_rules import certification_problems
from tests.samples import SAMPLES

R = "/espi/1_1/resource"
UP = f"{R}/Subscription/9/UsagePoint"
ID = {name: stable_uuid("rules", name) for name in ("up", "mr", "rt", "ib1", "ib2", "ltp")}


def entry(atom_id: uuid.UUID | str, links: list[tuple[str, str]], content: str) -> str:
    urn = atom_id.urn if isinstance(atom_id, uuid.UUID) else atom_id
    link_xml = "".join(
        f'<link rel="{rel}" href="{href}" type="espi-entry/X"/>' for rel, href in links
    )
    return (
        f"<entry><id>{urn}</id>{link_xml}<title/><published>2024-01-01T00:00:00Z</published>"
        f"<updated>2024-01-01T00:00:00Z</updated><content>{content}</content></entry>"
    )


def block(start: int, readings: list[int]) -> str:
    rows = "".join(
        f"<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration>"
        f"<espi:start>{at}</espi:start></espi:timePeriod><espi:value>1</espi:value>"
        "</espi:IntervalReading>"
        for at in readings
    )
    return (
        f"<espi:IntervalBlock><espi:interval><espi:duration>86400</espi:duration>"
        f"<espi:start>{start}</espi:start></espi:interval>{rows}</espi:IntervalBlock>"
    )


def feed(  # noqa: PLR0913 - each keyword breaks one rule
    *,
    up_id: uuid.UUID | str = ID["up"],
    mr_related: tuple[str, ...] | None = None,
    ib2_up: str | None = None,
    ib2_id: uuid.UUID = ID["ib2"],
    ib2_self: str | None = None,
    ib2_start: int = 86_400,
    ib2_readings: tuple[int, ...] = (86_400, 87_300),
    mr_up: str | None = None,
    up_ltp: int = 1,
) -> bytes:
    """A small conforming feed; each keyword argument breaks one rule when changed."""
    point = f"{UP}/{ID['up']}"
    readings = f"{point}/MeterReading"
    reading = f"{readings}/{ID['mr']}"
    blocks = f"{reading}/IntervalBlock"
    reading_type = f"{R}/ReadingType/{ID['rt']}"
    ltp = f"{R}/LocalTimeParameters/{ID['ltp']}"
    if mr_related is None:
        mr_related = (reading_type, blocks)
    entries = [
        entry(
            ID["ltp"],
            [("self", ltp), ("up", f"{R}/LocalTimeParameters")],
            "<espi:LocalTimeParameters><espi:dstEndRule>B40E2000</espi:dstEndRule>"
            "<espi:dstOffset>3600</espi:dstOffset><espi:dstStartRule>360E2000</espi:dstStartRule>"
            "<espi:tzOffset>-18000</espi:tzOffset></espi:LocalTimeParameters>",
        ),
        entry(
            up_id,
            [("self", point), ("up", UP), ("related", readings)]
            + [("related", f"{ltp}{'x' * n}") for n in range(up_ltp)],
            "<espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind>"
            "</espi:ServiceCategory></espi:UsagePoint>",
        ),
        entry(
            ID["mr"],
            [("self", reading), ("up", mr_up or readings)]
            + [("related", href) for href in mr_related],
            "<espi:MeterReading/>",
        ),
        entry(
            ID["rt"],
            [("self", reading_type), ("up", f"{R}/ReadingType")],
            "<espi:ReadingType><espi:uom>72</espi:uom></espi:ReadingType>",
        ),
        entry(
            ID["ib1"],
            [("self", f"{blocks}/{ID['ib1']}"), ("up", blocks)],
            block(0, [0, 900]),
        ),
        entry(
            ib2_id,
            [("self", ib2_self or f"{blocks}/{ID['ib2']}"), ("up", ib2_up or blocks)],
            block(ib2_start, list(ib2_readings)),
        ),
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">'
        f"<id>urn:uuid:{uuid.uuid4()}</id><title>t</title><updated>2024-01-01T00:00:00Z</updated>"
        f'<link rel="self" href="{R}/Batch/Subscription/9" type="espi-feed/UsagePoint"/>'
        f"{''.join(entries)}</feed>"
    ).encode()


def test_the_conforming_feed_passes() -> None:
    assert certification_problems(feed()) == []


BLOCKS = f"{UP}/{ID['up']}/MeterReading/{ID['mr']}/IntervalBlock"
READING_TYPE = f"{R}/ReadingType/{ID['rt']}"


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        # D004: two entries with one atom:id.
        ({"ib2_id": ID["ib1"]}, "D004: atom:id"),
        # D004: two entries with one self href.
        ({"ib2_self": f"{BLOCKS}/{ID['ib1']}"}, "D004: self href"),
        # GBA: the up link holds the entry's own identifier.
        ({"mr_up": f"{UP}/{ID['up']}/MeterReading/{ID['mr']}"}, "not its collection"),
        # GBA: a random (v4) id.
        ({"up_id": uuid.UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427")}, "is UUID v4"),
        ({"up_id": "urn:uuid:not-a-uuid"}, "is not a UUID"),
        # D007: two LocalTimeParameters.
        ({"up_ltp": 2}, "D007"),
        # D024: no ReadingType, two ReadingTypes, one that is not in the feed.
        ({"mr_related": (BLOCKS,)}, "D024: "),
        ({"mr_related": (READING_TYPE, f"{R}/ReadingType/other", BLOCKS)}, "2 related ReadingType"),
        ({"mr_related": (f"{R}/ReadingType/other", BLOCKS)}, "not in the feed"),
        # D037: a block whose up is no MeterReading's related collection.
        ({"ib2_up": f"{BLOCKS}/elsewhere"}, "D037"),
        # D042: the first reading does not start the block.
        ({"ib2_readings": (87_300, 88_200)}, "D042"),
        # D146: two blocks starting at once.
        ({"ib2_start": 0, "ib2_readings": (0, 1800)}, "D146"),
        # D145: one reading start twice within the MeterReading.
        ({"ib2_readings": (86_400, 900)}, "D145"),
    ],
)
def test_each_broken_rule_is_flagged(broken: dict[str, object], rule: str) -> None:
    problems = certification_problems(feed(**broken))  # type: ignore[arg-type]
    assert problems, f"{broken} went unnoticed"
    assert any(rule in problem for problem in problems), problems


def test_writer_output_passes() -> None:
    when = datetime(2024, 3, 1, tzinfo=UTC)
    blocks = [
        BlockNode(
            stable_uuid("w", day),
            when,
            when,
            1_709_251_200 + day * 86_400,
            86_400,
            [(1_709_251_200 + day * 86_400 + 900 * i, 900, i, None, None) for i in range(96)],
        )
        for day in range(3)
    ]
    reading = MeterReadingNode(
        stable_uuid("w", "mr"),
        stable_uuid("w", "rt"),
        when,
        when,
        "kWh",
        ReadingType(commodity=1, kind=12, uom=72),
        iter(blocks),
    )
    point = UsagePointNode(stable_uuid("w", "up"), when, when, "home", 0, [reading])
    meta = FeedMeta(stable_uuid("w", "feed"), "t", f"{R}/Batch/Subscription/9", when, R, "9")
    local = LocalTimeNode(
        stable_uuid("w", "ltp"),
        when,
        when,
        local_time_parameters(ZoneInfo("America/New_York"), 2024),
    )
    assert certification_problems(b"".join(usage_feed(meta, local, [point]))) == []


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir() if p.is_file()))
def test_reads_every_shared_sample(name: str) -> None:
    problems = certification_problems((SAMPLES / name).read_bytes())
    # The GBA samples predate the UUID v3/v5 rule: their random v4 ids are flagged, which
    # shows the checker runs on real files; it must not choke on any of them.
    assert all(isinstance(problem, str) for problem in problems)
    if name == "test_usage_data.xml":
        assert problems
        assert all("is UUID v4" in problem for problem in problems), problems
