"""Usage feeds in the client: real samples into series, paging, gzip, and hostile input refused."""

from __future__ import annotations

import gzip
from decimal import Decimal
from typing import TYPE_CHECKING

import httpx
import pytest
from lxml import etree

from opencustodian.client import (
    FeedError,
    FeedPendingError,
    OAuthError,
    ReadingKind,
    fetch_usage_feed,
    parse_usage_feed,
)
from tests.samples import SAMPLES

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ESPI = "{http://naesb.org/espi}"
USAGE_SAMPLES = sorted(
    path
    for path in SAMPLES.glob("*.xml")
    if "IntervalReading" in path.read_text(encoding="utf-8", errors="replace")
)
NOT_USAGE = [
    "ApplicationInformation-Entry-Anonymized.xml",
    "Authorization-Entry-Anonymized.xml",
    "Customer-Subscription-Feed-Anonymized.xml",
]
FEED_URL = "https://dc.example/espi/1_1/resource/Batch/Subscription/5"


def independent_readings(path: Path) -> list[tuple[int, int, int]]:
    """Every IntervalReading of a sample as (start, duration, raw value), read with lxml."""
    found = []
    for reading in etree.parse(str(path)).iter(f"{ESPI}IntervalReading"):
        start = reading.findtext(f"{ESPI}timePeriod/{ESPI}start")
        duration = reading.findtext(f"{ESPI}timePeriod/{ESPI}duration")
        value = reading.findtext(f"{ESPI}value")
        assert start
        assert duration
        assert value
        found.append((int(Decimal(start)), int(duration), int(value)))
    return found


def test_there_are_usage_samples_to_read():
    names = {path.name for path in USAGE_SAMPLES}
    assert {"test_usage_data.xml", "Gas.xml", "threeusagepointsonecustomer.xml"} <= names
    assert len(names) >= 9


@pytest.mark.parametrize("path", USAGE_SAMPLES, ids=lambda path: path.name)
def test_every_sample_reading_lands_in_a_series(path):
    feed = parse_usage_feed(path.read_bytes())
    expected = independent_readings(path)
    series = [meter for point in feed.usage_points for meter in point.meter_readings]
    repeated = sum(meter.repeated_starts for meter in series)
    assert feed.reading_count + repeated == len(expected)
    starts = {reading[0] for reading in expected}
    assert {reading.start for meter in series for reading in meter.readings} == starts
    for meter in series:
        assert [r.start for r in meter.readings] == sorted({r.start for r in meter.readings})


def test_electric_values_are_kwh_and_exact():
    path = SAMPLES / "test_usage_data.xml"
    feed = parse_usage_feed(path.read_bytes())
    (point,) = feed.usage_points
    assert point.title == "Front Electric Meter"
    assert point.service_kind == 0
    assert point.href.endswith("/UsagePoint/5446AF3F")
    (meter,) = point.meter_readings
    assert meter.reading_type.uom == 72
    assert meter.unit == "kWh"
    assert meter.reading_type.interval_length == 900
    raw = independent_readings(path)
    assert meter.readings[0].value == Decimal(raw[0][2]) / 1000
    assert sum(r.value for r in meter.readings) == Decimal(sum(v for *_, v in raw)) / 1000
    assert all(isinstance(r.value, Decimal) for r in meter.readings)


def test_gas_therms_water_gallons_and_positive_multipliers():
    gas = parse_usage_feed((SAMPLES / "Gas.xml").read_bytes())
    (gas_meter,) = gas.usage_points[0].meter_readings
    assert (gas_meter.unit, gas_meter.reading_type.power_of_ten_multiplier) == ("therm", -3)
    assert gas_meter.readings[0].value == Decimal("79.450")
    assert gas.usage_points[0].service_kind == 1
    water = parse_usage_feed((SAMPLES / "Water.xml").read_bytes())
    (water_meter,) = water.usage_points[0].meter_readings
    assert water_meter.unit == "gal"
    assert str(water_meter.readings[0].value) == "24720000"  # 24720 × 10³, no exponent form


def test_ccf_from_cubic_feet():
    kind = ReadingKind(uom=119, power_of_ten_multiplier=0)
    assert (kind.unit, kind.scaled(250)) == ("CCF", Decimal("2.50"))
    assert ReadingKind(uom=999).unit == "uom 999"


def test_three_usage_points_keep_their_own_meter_readings():
    feed = parse_usage_feed((SAMPLES / "threeusagepointsonecustomer.xml").read_bytes())
    assert [len(point.meter_readings) for point in feed.usage_points] == [2, 1, 1]
    hourly = feed.usage_points[0].meter_readings[1]
    assert hourly.reading_type.power_of_ten_multiplier == -5


def test_a_repeated_start_keeps_the_later_reading_and_says_so():
    feed = parse_usage_feed((SAMPLES / "ngma_gas_provider_2024-07-16.xml").read_bytes())
    (meter,) = feed.usage_points[0].meter_readings
    raw = independent_readings(SAMPLES / "ngma_gas_provider_2024-07-16.xml")
    assert len({start for start, *_ in raw}) == 1  # that export stamps every block alike
    assert len(meter.readings) == 1
    assert meter.repeated_starts == len(raw) - 1
    assert meter.readings[0].value == Decimal(raw[-1][2])  # the later reading wins
    assert meter.readings[0].start == 1721154384  # a fractional epoch truncated


@pytest.mark.parametrize("name", NOT_USAGE)
def test_other_espi_documents_hold_no_usage_points(name):
    assert parse_usage_feed((SAMPLES / name).read_bytes()).usage_points == ()


def test_local_time_parameters_are_read():
    coastal = SAMPLES / "Coastal_Multi_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_5.xml"
    local_time = parse_usage_feed(coastal.read_bytes()).local_time
    assert local_time is not None
    assert (local_time.tz_offset, local_time.dst_offset) == (-28800, 3600)
    assert (local_time.dst_start_rule, local_time.dst_end_rule) == (0x360E2000, 0xB40E2000)


# -- hostile and malformed input -----------------------------------------------------------

FEED_HEAD = b'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">'
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
    + FEED_HEAD
    + b"<title>&c;</title></feed>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + FEED_HEAD
    + b"<title>&x;</title></feed>"
)
UTF16_DOCTYPE = (
    '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE feed [<!ENTITY e "x">]>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom"><title>&e;</title></feed>'
).encode("utf-16")
COMMENTED_DOCTYPE = (
    b"<?xml version='1.0'?>\n<!-- "
    + b"padding " * 5000
    + b"-->\n<!DOCTYPE feed>"
    + FEED_HEAD
    + b"</feed>"
)


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, UTF16_DOCTYPE, COMMENTED_DOCTYPE],
    ids=["laughs", "xxe", "utf16", "after-a-long-comment"],
)
def test_doctype_and_entities_are_refused(body):
    with pytest.raises(FeedError, match="DOCTYPE"):
        parse_usage_feed(body)
    with pytest.raises(FeedError, match="DOCTYPE"):  # also when it arrives a byte at a time
        parse_usage_feed(body[i : i + 1] for i in range(len(body)))


def test_an_oversized_feed_is_refused_while_it_arrives():
    body = (SAMPLES / "test_usage_data.xml").read_bytes()
    chunks_read = 0

    def chunks():
        nonlocal chunks_read
        for offset in range(0, len(body), 4096):
            chunks_read += 1
            yield body[offset : offset + 4096]

    with pytest.raises(FeedError, match="larger than 100,000 bytes"):
        parse_usage_feed(chunks(), max_bytes=100_000)
    assert chunks_read < len(body) // 4096  # it stopped at the cap, not at the end


def reading_feed(*readings: str, value: str = "1") -> bytes:
    blocks = "".join(
        f"<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration>"
        f"<espi:start>{start}</espi:start></espi:timePeriod><espi:value>{value}</espi:value>"
        "</espi:IntervalReading>"
        for start in readings
    )
    return (
        FEED_HEAD + b"<entry><link rel='self' href='/UP/1'/><link rel='related' href='/UP/1/MR'/>"
        b"<content><espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind>"
        b"</espi:ServiceCategory></espi:UsagePoint></content></entry>"
        b"<entry><link rel='self' href='/UP/1/MR/1'/><link rel='up' href='/UP/1/MR'/>"
        b"<link rel='related' href='/UP/1/MR/1/IB'/><link rel='related' href='/RT/1'/>"
        b"<content><espi:MeterReading/></content></entry>"
        b"<entry><link rel='self' href='/RT/1'/><content><espi:ReadingType>"
        b"<espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:uom>72</espi:uom>"
        b"</espi:ReadingType></content></entry>"
        b"<entry><link rel='self' href='/UP/1/MR/1/IB/1'/><link rel='up' href='/UP/1/MR/1/IB'/>"
        b"<content><espi:IntervalBlock>" + blocks.encode() + b"</espi:IntervalBlock></content>"
        b"</entry></feed>"
    )


def test_the_minimal_feed_parses():
    feed = parse_usage_feed(reading_feed("1000", "1900"), base_url="https://dc.example/x")
    (meter,) = feed.usage_points[0].meter_readings
    assert meter.href == "https://dc.example/UP/1/MR/1"  # hrefs resolve against the URL
    assert [(r.start, r.value) for r in meter.readings] == [
        (1000, Decimal("0.001")),
        (1900, Decimal("0.001")),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not well-formed"),
        (b"not xml", "not well-formed"),
        (FEED_HEAD + b"<entry>", "not well-formed"),
        (b'<BatchList xmlns="http://naesb.org/espi"/>', "expected an Atom feed"),
        (b"<wrapper>" + FEED_HEAD + b"</feed></wrapper>", "expected an Atom feed"),
        (reading_feed("soon"), "IntervalReading start is not an epoch time"),
        (reading_feed("1000", value="1.5"), "IntervalReading value is not a whole number"),
        (reading_feed("1000", value=str(2**63)), "IntervalReading value is not a whole"),
        (reading_feed("NaN"), "not an epoch time"),
        (reading_feed(str(2**62)), "not an epoch time"),
        (reading_feed("-99999999999"), "not an epoch time"),
        (
            reading_feed("1000").replace(
                b"'/UP/1/MR/1/IB/1'/><link rel='up' href='/UP/1/MR/1/IB'",
                b"'/elsewhere/IB/1'/><link rel='up' href='/elsewhere/IB'",
            ),
            "IntervalBlock .* belongs to no MeterReading",
        ),
        (
            reading_feed("1000").replace(b"href='/RT/1'/>", b"href='/RT/2'/>", 1),
            "links to no ReadingType",
        ),
        (
            reading_feed("1000").replace(b"<link rel='up' href='/UP/1/MR'/>", b"", 1),
            None,
        ),
    ],
    ids=[
        "empty",
        "text",
        "truncated",
        "batch-list",
        "wrapped",
        "word-start",
        "fraction-value",
        "huge-value",
        "nan-start",
        "year-146-billion",
        "year-1653",
        "orphan-block",
        "no-reading-type",
        "prefix-fallback",
    ],
)
def test_malformed_feeds_raise_a_clear_error(body, message):
    if message is None:  # linked by self-href prefix instead: still fine
        assert parse_usage_feed(body).reading_count == 1
        return
    with pytest.raises(FeedError, match=message):
        parse_usage_feed(body)


def test_a_feed_error_is_a_value_error():
    with pytest.raises(ValueError, match="not well-formed"):
        parse_usage_feed(b"<")


# -- fetching ------------------------------------------------------------------------------


def serve(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def paged(next_href: str | None, *starts: str) -> bytes:
    body = reading_feed(*starts)
    if next_href is None:
        return body
    return body.replace(b"</feed>", f'<link rel="next" href="{next_href}"/></feed>'.encode())


def test_pages_are_followed_gzip_is_decoded_and_the_token_asked_each_time():
    seen: list[httpx.Request] = []
    pages = {
        FEED_URL: paged(f"{FEED_URL}?start-index=2", "1000", "1900"),
        f"{FEED_URL}?start-index=2": paged("/espi/1_1/resource/Batch/Subscription/5?p=3", "2800"),
        f"{FEED_URL}?p=3": paged(None, "3700"),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            content=gzip.compress(pages[str(request.url)]),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/atom+xml"},
        )

    tokens = iter(["first", "second", "third"])
    with serve(handler) as http:
        feed = fetch_usage_feed(FEED_URL, lambda: next(tokens), http=http)
    assert feed.pages == 3
    (point,) = feed.usage_points  # the tree each page repeats is read once
    assert [r.start for r in point.meter_readings[0].readings] == [1000, 1900, 2800, 3700]
    assert [r.headers["authorization"] for r in seen] == [
        "Bearer first",
        "Bearer second",
        "Bearer third",
    ]
    assert all("gzip" in r.headers["accept-encoding"] for r in seen)
    assert all(r.headers["accept"].startswith("application/atom+xml") for r in seen)


@pytest.mark.parametrize(
    ("next_href", "message"),
    [
        ("https://evil.example/espi/1_1/resource/Batch/Subscription/5", "leaves the feed"),
        ("http://dc.example/espi/1_1/resource/Batch/Subscription/5", "leaves the feed"),
        ("https://dc.example:8443/espi/1_1/resource/Batch/Subscription/5", "leaves the feed"),
        (FEED_URL, "loop"),
    ],
    ids=["other-host", "downgrade", "other-port", "loop"],
)
def test_paging_never_sends_the_token_elsewhere_or_loops(next_href, message):
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        return httpx.Response(200, content=paged(next_href, "1000"))

    with serve(handler) as http, pytest.raises(FeedError, match=message):
        fetch_usage_feed(FEED_URL, "token", http=http)
    assert requested == [FEED_URL]


def test_page_count_is_capped():
    def handler(request: httpx.Request) -> httpx.Response:
        following = int(request.url.params.get("n", "0")) + 1
        return httpx.Response(200, content=paged(f"{FEED_URL}?n={following}", str(following)))

    with serve(handler) as http, pytest.raises(FeedError, match="more than 3 pages"):
        fetch_usage_feed(FEED_URL, "token", http=http, max_pages=3)


def test_a_gzip_bomb_stops_at_the_cap():
    bomb = gzip.compress(FEED_HEAD + b"<title>" + b"a" * 20_000_000 + b"</title></feed>")
    assert len(bomb) < 100_000

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    with serve(handler) as http, pytest.raises(FeedError, match="larger than 1,000,000 bytes"):
        fetch_usage_feed(FEED_URL, "token", http=http, max_bytes=1_000_000)


def test_http_errors_become_oauth_errors():
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"error": "insufficient_scope", "error_description": "not your subscription"},
        )

    with serve(handler) as http, pytest.raises(OAuthError) as caught:
        fetch_usage_feed(FEED_URL, "token", http=http)
    assert (caught.value.status, caught.value.error) == (403, "insufficient_scope")
    assert caught.value.description == "not your subscription"


def test_the_first_url_must_be_http():
    with serve(lambda _: httpx.Response(200)) as http, pytest.raises(FeedError, match="http"):
        fetch_usage_feed("file:///etc/passwd", "token", http=http)


def test_a_feed_prepared_as_a_job_says_where():
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            202,
            json={"status": "pending", "job": "…"},
            headers={
                "Location": "/espi/1_1/resource/Batch/Subscription/5/Job/7",
                "Retry-After": "30",
            },
        )

    with serve(handler) as http, pytest.raises(FeedPendingError) as caught:
        fetch_usage_feed(FEED_URL, "token", http=http)
    assert caught.value.job_uri == f"{FEED_URL}/Job/7"
    assert caught.value.retry_after == 30
