"""Write synthetic Green Button usage feeds of any size, streaming, for tests and benchmarks.

Deliberately independent of the custodian's own code: plain string templates following
ESPI 4.0 (espi.xsd UsagePoint, MeterReading, ReadingType, IntervalBlock) and RFC 4287 links.
"""

from __future__ import annotations

import uuid
from typing import IO

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
DAY = 86_400


def _entry(entry_id: str, self_href: str, up_href: str, related: list[str], content: str) -> str:
    links = "".join(f'<link rel="related" href="{href}"/>' for href in related)
    return (
        f"<entry><id>urn:uuid:{entry_id}</id>"
        f'<link rel="self" href="{self_href}"/><link rel="up" href="{up_href}"/>{links}'
        f"<title>synthetic</title><content>{content}</content>"
        "<published>2024-01-01T00:00:00Z</published><updated>2024-01-01T00:00:00Z</updated>"
        "</entry>\n"
    )


def write_usage_feed(  # noqa: PLR0913 - every knob is a keyword with a default
    stream: IO[str],
    *,
    usage_points: int = 1,
    days: int = 1,
    interval: int = 900,
    start: int = 1_704_085_200,
    value_of=lambda point, index: 100 + (point * 7 + index * 13) % 900,
) -> int:
    """Write a feed of ``usage_points`` electric points with ``days`` daily blocks each.

    Returns the number of IntervalReading elements written.
    """
    stream.write(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="{ATOM}" xmlns:espi="{ESPI}">'
    )
    stream.write(
        f"<id>urn:uuid:{uuid.uuid4()}</id><title>feed</title><updated>2024-01-01T00:00:00Z</updated>\n"
    )
    written = 0
    per_day = DAY // interval
    for point in range(usage_points):
        base = f"/espi/1_1/resource/RetailCustomer/1/UsagePoint/{point}"
        ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/{part}")) for part in ("up", "mr", "rt")]
        stream.write(
            _entry(
                ids[0],
                base,
                "/espi/1_1/resource/RetailCustomer/1/UsagePoint",
                [f"{base}/MeterReading"],
                "<espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind></espi:ServiceCategory></espi:UsagePoint>",
            )
        )
        mr = f"{base}/MeterReading/1"
        rt = f"/espi/1_1/resource/ReadingType/{point}"
        stream.write(
            _entry(
                ids[1],
                mr,
                f"{base}/MeterReading",
                [rt, f"{mr}/IntervalBlock"],
                "<espi:MeterReading/>",
            )
        )
        stream.write(
            _entry(
                ids[2],
                rt,
                "/espi/1_1/resource/ReadingType",
                [],
                "<espi:ReadingType><espi:accumulationBehaviour>4</espi:accumulationBehaviour>"
                "<espi:commodity>1</espi:commodity><espi:currency>840</espi:currency>"
                "<espi:flowDirection>1</espi:flowDirection>"
                f"<espi:intervalLength>{interval}</espi:intervalLength><espi:kind>12</espi:kind>"
                "<espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:uom>72</espi:uom>"
                "</espi:ReadingType>",
            )
        )
        for day in range(days):
            day_start = start + day * DAY
            readings = []
            for slot in range(per_day):
                index = day * per_day + slot
                value = value_of(point, index)
                readings.append(
                    "<espi:IntervalReading><espi:cost>"
                    f"{value * 12}</espi:cost><espi:ReadingQuality><espi:quality>17</espi:quality>"
                    f"</espi:ReadingQuality><espi:timePeriod><espi:duration>{interval}</espi:duration>"
                    f"<espi:start>{day_start + slot * interval}</espi:start></espi:timePeriod>"
                    f"<espi:value>{value}</espi:value></espi:IntervalReading>"
                )
            written += per_day
            block_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{mr}/IntervalBlock/{day}"))
            stream.write(
                _entry(
                    block_id,
                    f"{mr}/IntervalBlock/{day}",
                    f"{mr}/IntervalBlock",
                    [],
                    f"<espi:IntervalBlock><espi:interval><espi:duration>{DAY}</espi:duration>"
                    f"<espi:start>{day_start}</espi:start></espi:interval>{''.join(readings)}"
                    "</espi:IntervalBlock>",
                )
            )
    stream.write("</feed>\n")
    return written
