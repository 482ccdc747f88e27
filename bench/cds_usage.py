"""CDS usage benchmark: ``/cds/v1/usage-segments`` against the ESPI feed of the same readings.

Set-up (not timed, except the import, reported for scale): a fresh migrated database (a
temporary SQLite file, or ``--database-url``), one customer with one account holding
``--points`` electric service points, each with one 15-minute channel of ``--days`` local
days (730: 70,080 readings) of readings with cost (and quality 17, unless ``--no-quality``)
ending at today's local midnight, written through the ingest service
(``services.ingest.import_records``, as ``opencustodian import`` does). One third party is
registered with the scope ``SCOPE``; the customer signs in and consents over HTTP
(``tests.custodian.walk_consent``) to every service point, and the code is exchanged at
``/oauth/token`` for a Bearer access token and the subscription's ``resourceURI``.

The app (``create_app``) is served by uvicorn on a loopback port in a thread of this process
(``tests.live.serving``, as the functional tests' live custodian is), so both responses
stream through a real HTTP server; the client is httpx in the main thread, asking for
``identity`` encoding and reading every byte of each streamed body. Timed, alternately, best
of ``--repeat``:

* ``cds``: ``GET /cds/v1/usage-segments`` page by page (the server's default page, or
  ``--cds-limit`` units), following ``next`` until it is null;
* ``espi``: ``GET …/Batch/Subscription/{id}/UsagePoint/{id}`` for each service point (no
  filter: the whole history; ``rel="next"`` followed if the feed is paged).

The ratio is cds time / espi time. A first, untimed walk of each (the warm-up) keeps the
bodies and checks that both carry the same readings: as many CDS rows with a value as ESPI
IntervalReadings (every reading imported), and the same total usage and cost.

Then, for what the server alone costs, both server sides run in-process without HTTP (best of
``--repeat``): the CDS route's steps for every unit at once (Bearer check, grants, plan, each
unit's readings grouped into segments and encoded) and the ESPI route's (plan, ``usage_feed``),
each once more under tracemalloc for the most Python heap it holds at once. Peak RSS is this
process's (server and client; the client keeps only the tail of each body), reset before each
timed walk (``VmHWM``), so it shows growth over what the process already holds, if any.

The readings window is three years in the bench profile: the bundled profile's two years
would start the ESPI window at the request time, cutting the first hours of a history that
starts at a local midnight. The scope's ``HistoryLength`` is three years too. ``--profile``
prints a cProfile of the CDS server side. It ends with one JSON line of the figures::

    python bench/cds_usage.py                     # SQLite, 1 service point × 730 days
    python bench/cds_usage.py --database-url postgresql://postgres@127.0.0.1:5432/oc_cds_bench
    python bench/cds_usage.py --points 4 --repeat 3 --profile

``--database-url`` names the database to use: when it does not exist (PostgreSQL) it is
created and dropped afterwards; when it exists it must hold no tables, and is left as it is.

``bench/token.py`` shadows the standard library's ``token`` module for scripts run from this
directory, so the script takes its own directory off ``sys.path`` first (as token.py does).
"""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) in sys.path:
    sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import cProfile
import html
import json
import pstats
import re
import resource
import tempfile
import time
import tracemalloc
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from opencustodian.config import Environment, Settings
from opencustodian.demo.synthetic import DEMO_PASSWORD
from opencustodian.domain.ingest import (
    ImportSummary,
    SourceMeterReading,
    SourceReadings,
    SourceServicePoint,
)
from opencustodian.domain.metering import Commodity, ReadingType
from opencustodian.domain.record_rights import RecordKind
from opencustodian.kit import exact_json
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.passwords import hash_password
from opencustodian.kit.time import local_midnight, to_epoch, utc_now
from opencustodian.profile import load_profile
from opencustodian.protocols.espi.query import FeedQuery
from opencustodian.protocols.espi.usage_feed import usage_feed
from opencustodian.services.access import check_bearer
from opencustodian.services.cds_records import read_grants
from opencustodian.services.cds_usage import plan_units, unit_segments
from opencustodian.services.ingest import import_records
from opencustodian.services.usage_feeds import Focus, plan_subscription_feed
from opencustodian.storage import db
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.ingest_target import SqlIngestTarget
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Meter,
    RetailCustomer,
    ServicePoint,
)
from opencustodian.storage.usage import SqlUsageStore
from opencustodian.web.api.cds import CdsReader, cds_settings
from opencustodian.web.api.espi_usage import feed_settings
from opencustodian.web.app import create_app
from tests.custodian import SECRET_KEY, register_third_party, walk_consent
from tests.live import free_port, serving

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import date, datetime

    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

    from opencustodian.domain.consent import AccessRecord
    from opencustodian.domain.metering import Reading
    from opencustodian.web.app import AppContext

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILE = ROOT / "src" / "opencustodian" / "default_profile.toml"
HISTORY_YEARS = 3
#: Interval data with cost (FB 4, 5, 12) and usage summaries (FB 15, 16), daily blocks, three
#: years of history: the same grant opens the ESPI feed and the CDS usage listing.
SCOPE = (
    "FB=1_3_4_5_12_15_16;IntervalDuration=900;BlockDuration=Daily;"
    f"HistoryLength={HISTORY_YEARS * 365 * 86_400};"
)
USERNAME = "cdsbench"
ENERGY = ReadingType(
    commodity=1,
    kind=12,
    uom=72,
    power_of_ten_multiplier=0,
    accumulation_behaviour=4,
    flow_direction=1,
    interval_length=900,
    currency=840,
)
QUALITY = 17  # validated
IDENTITY = {"Accept-Encoding": "identity"}
TAIL_BYTES = 4096  # enough for a body's closing links
BLOCK_READINGS = 2_000  # feed-sized batches, as a parser yields them
_CDS_NEXT = re.compile(rb'"next":(null|"(?:[^"\\]|\\.)*")')
_ESPI_NEXT = re.compile(rb'<link rel="next" href="([^"]*)"')
_ESPI_VALUE = re.compile(rb"<espi:value>(-?\d+)</espi:value>")
_ESPI_COST = re.compile(rb"<espi:cost>(-?\d+)</espi:cost>")
_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


# -- the database ------------------------------------------------------------------------------


@contextmanager
def database(url: str | None, directory: Path) -> Iterator[str]:
    """The URL of an empty database: a temporary SQLite file, or ``url`` (module docstring)."""
    if url is None:
        yield f"sqlite:///{directory / 'cds_usage.sqlite3'}"
        return
    parsed = make_url(db.normalize_url(url))
    if parsed.get_backend_name() != "postgresql":
        _require_empty(url)
        yield url
        return
    name = parsed.database or ""
    if not _SAFE_NAME.fullmatch(name):
        msg = f"--database-url: {name!r} is not a plain database name"
        raise SystemExit(msg)
    admin_url = parsed.set(database="postgres").render_as_string(hide_password=False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    exists = True  # until the server says otherwise: never drop what this run did not create
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        if exists:
            _require_empty(url)
        yield url
    finally:
        if not exists:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _require_empty(url: str) -> None:
    engine = db.make_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        msg = f"--database-url: the database holds {len(tables)} tables; give an empty one"
        raise SystemExit(msg)


def write_profile(directory: Path) -> Path:
    """The bundled profile with ``HISTORY_YEARS`` of history (module docstring)."""
    lines = DEFAULT_PROFILE.read_text(encoding="utf-8").splitlines()
    changed = [
        f"history_years = {HISTORY_YEARS}" if line.startswith("history_years") else line
        for line in lines
    ]
    assert changed != lines, "the bundled profile has no history_years"
    path = directory / "bench-profile.toml"
    path.write_text("\n".join(changed) + "\n", encoding="utf-8")
    return path


# -- set-up ------------------------------------------------------------------------------------


def readings(first: int, end: int, seed: int, *, quality: int | None) -> list[Reading]:
    """15-minute readings with cost from ``first`` to ``end`` (epoch seconds)."""
    rows: list[Reading] = []
    for moment in range(first, end, 900):
        slot = moment // 900 + seed
        rows.append((moment, 900, slot * 7919 % 4000, slot * 104_729 % 90_000, quality))
    return rows


def point_uuid(index: int) -> uuid.UUID:
    """The stable public id of service point ``index``."""
    return stable_uuid("bench-cds", "point", index)


def source_records(points: int, first: int, end: int, *, quality: int | None) -> Iterator[Any]:
    """The data as an import source: one service point and one channel per point."""
    for index in range(points):
        key = f"sp{index}"
        yield SourceServicePoint(
            key=key, uuid=point_uuid(index), title=f"Home {index}", commodity=Commodity.ELECTRICITY
        )
        yield SourceMeterReading(
            key=f"mr{index}",
            service_point_key=key,
            reading_type=ENERGY,
            uuid=stable_uuid("bench-cds", "channel", index),
            title="Electricity, 15 minutes",
        )
        rows = readings(first, end, index, quality=quality)
        for offset in range(0, len(rows), BLOCK_READINGS):
            yield SourceReadings(f"mr{index}", rows[offset : offset + BLOCK_READINGS])


@dataclass(frozen=True)
class Seeded:
    """What set-up wrote."""

    readings: int
    first_day: date
    import_seconds: float


def seed(engine: Engine, points: int, days: int, *, quality: int | None) -> Seeded:
    """Import the readings, then give the service points to one customer's account."""
    zone = load_profile().time_zone
    today = utc_now().astimezone(zone).date()
    first_day = today - timedelta(days=days)
    first = to_epoch(local_midnight(first_day, zone))
    end = to_epoch(local_midnight(today, zone))
    summary = ImportSummary("bench", "bench")
    began = time.perf_counter()
    with db.transaction(db.session_factory(engine)) as session:
        import_records(
            source_records(points, first, end, quality=quality), SqlIngestTarget(session), summary
        )
    import_seconds = time.perf_counter() - began
    with db.transaction(db.session_factory(engine)) as session:
        customer = RetailCustomer(
            uuid=uuid.uuid4(),
            username=USERNAME,
            password_hash=hash_password(DEMO_PASSWORD),
            first_name="Bench",
            last_name="Customer",
            email="cdsbench@example.com",
        )
        session.add(customer)
        session.flush()
        account = Account(
            uuid=uuid.uuid4(),
            account_number="CDS000000001",
            customer_id=customer.id,
            account_class="residential",
            billing_zip="10001",
            opened_on=first_day - timedelta(days=30),
        )
        session.add(account)
        session.flush()
        for index in range(points):
            point_id = session.scalar(
                select(ServicePoint.id).where(ServicePoint.uuid == point_uuid(index))
            )
            assert point_id is not None
            session.add(
                AccountServicePoint(
                    account_id=account.id,
                    service_point_id=point_id,
                    move_in=first_day - timedelta(days=30),
                )
            )
            session.add(
                Meter(
                    uuid=uuid.uuid4(),
                    service_point_id=point_id,
                    meter_number=f"CDSM{index:06d}",
                    installed_on=first_day - timedelta(days=30),
                )
            )
    return Seeded(summary.readings.inserted, first_day, import_seconds)


def bench_settings(url: str, base_url: str, profile: Path) -> Settings:
    """The custodian's settings: testing (plain HTTP), a fixed key, the bench profile."""
    return Settings(
        environment=Environment.TESTING,
        database_url=url,
        secret_key=SECRET_KEY,
        base_url=base_url,
        profile=profile,
    )


def customer_token(http: httpx.Client, base_url: str, engine: Engine) -> tuple[str, str]:
    """Register a third party, consent as the customer; the access token and resourceURI."""
    party = register_third_party(engine, "CDS Bench Energy", scopes=(SCOPE,))
    query = {
        "response_type": "code",
        "client_id": party.client_id,
        "redirect_uri": party.redirect_uri,
        "scope": SCOPE,
        "state": "bench",
    }
    redirect = walk_consent(http, base_url, query, username=USERNAME)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    response = http.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": party.redirect_uri},
        auth=(party.client_id, party.client_secret),
    )
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    return body["access_token"], body["resourceURI"]


# -- the walks ---------------------------------------------------------------------------------


@dataclass
class Walk:
    """One walk of a listing or feed: its time, size, requests and (when kept) bodies."""

    seconds: float = 0.0
    size: int = 0
    requests: int = 0
    bodies: list[bytes] = field(default_factory=list)


def fetch(http: httpx.Client, url: str, token: str, walk: Walk, *, keep: bool) -> bytes:
    """Stream one response to its end; count its bytes; return its tail (or whole body)."""
    headers = {**IDENTITY, "Authorization": f"Bearer {token}"}
    parts: list[bytes] = []
    tail = b""
    with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == HTTPStatus.OK, response.read()[:500]
        for chunk in response.iter_raw():
            walk.size += len(chunk)
            if keep:
                parts.append(chunk)
            tail = chunk[-TAIL_BYTES:] if len(chunk) >= TAIL_BYTES else (tail + chunk)[-TAIL_BYTES:]
    walk.requests += 1
    if keep:
        walk.bodies.append(b"".join(parts))
    return tail


def walk_cds(
    http: httpx.Client, base_url: str, token: str, limit: int | None, *, keep: bool = False
) -> Walk:
    """Every usage segment, page by page, following ``next`` until it is null."""
    walk = Walk()
    url: str | None = f"{base_url}/cds/v1/usage-segments" + (f"?limit={limit}" if limit else "")
    began = time.perf_counter()
    while url is not None:
        tail = fetch(http, url, token, walk, keep=keep)
        links = _CDS_NEXT.findall(tail)
        assert links, tail[-300:]
        url = json.loads(links[-1])
    walk.seconds = time.perf_counter() - began
    return walk


def walk_espi(
    http: httpx.Client, subscription_uri: str, points: int, token: str, *, keep: bool = False
) -> Walk:
    """Each service point's Batch/Subscription/{id}/UsagePoint/{id} feed, every page of it."""
    walk = Walk()
    began = time.perf_counter()
    for index in range(points):
        url: str | None = f"{subscription_uri}/UsagePoint/{point_uuid(index)}"
        while url is not None:
            tail = fetch(http, url, token, walk, keep=keep)
            following = _ESPI_NEXT.search(tail)
            url = html.unescape(following.group(1).decode()) if following else None
    walk.seconds = time.perf_counter() - began
    return walk


@dataclass(frozen=True)
class Carried:
    """What a walk's bodies carry: readings, total usage (Wh) and cost (10⁻⁵ USD)."""

    readings: int
    usage_wh: Decimal
    cost: Decimal


def cds_carried(walk: Walk) -> Carried:
    """Rows with a usage value in every segment of every page, and their totals."""
    count, usage, cost = 0, Decimal(0), Decimal(0)
    for body in walk.bodies:
        for segment in json.loads(body, parse_float=Decimal)["usage_segments"]:
            kinds = [described["type"] for described in segment["formats"]]
            for row in segment["values"]:
                values = [c for c, kind in zip(row, kinds, strict=True) if kind != "cost"]
                if any(value is not None for value in values):
                    count += 1
                for cell in row:
                    if cell is None:
                        continue
                    for name, amount in cell.items():
                        if name == "c":
                            cost += amount
                        else:
                            usage += amount
    return Carried(count, usage * 1000, cost * 100_000)


def espi_carried(walk: Walk) -> Carried:
    """IntervalReadings of every feed, and their totals."""
    count, usage, cost = 0, 0, 0
    for body in walk.bodies:
        count += body.count(b"<espi:IntervalReading>")
        usage += sum(int(value) for value in _ESPI_VALUE.findall(body))
        cost += sum(int(value) for value in _ESPI_COST.findall(body))
    return Carried(count, Decimal(usage), Decimal(cost))


# -- memory ------------------------------------------------------------------------------------


def reset_peak_rss() -> float:
    """Forget this process's peak RSS so far (``clear_refs``); its current RSS in MiB."""
    clear_refs = Path("/proc/self/clear_refs")
    if clear_refs.exists():
        clear_refs.write_text("5")  # proc(5): reset the peak resident set size
    return _status_mib("VmRSS:")


def peak_rss_mib() -> float:
    """This process's peak RSS since ``reset_peak_rss`` (``VmHWM``), else ``ru_maxrss``."""
    return _status_mib("VmHWM:")


def _status_mib(key: str) -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def heap_peak_mib(work: Callable[[], object]) -> float:
    """The most Python heap ``work`` held at once (tracemalloc), in MiB."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# -- the server side alone --------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """The served side of a run: the app, the token and the subscription it reads."""

    app: FastAPI
    token: str
    subscription_uri: str
    points: int


def _access_record(context: AppContext, token: str, now: datetime) -> AccessRecord:
    with context.sessions() as session:
        return check_bearer(
            SqlConsentStore(session),
            token,
            key=context.key,
            now=now,
            zone=context.profile.time_zone,
        )


def cds_in_process(served: Served) -> int:
    """The server side of one whole CDS listing (every unit at once), without HTTP; its bytes.

    The route's steps (``web.api.cds``): the Bearer check, the grants, the plan of month
    units, then each unit's readings read, grouped into segments and encoded.
    """
    context: AppContext = served.app.state.context
    settings = cds_settings(context)
    now = utc_now()
    record = _access_record(context, served.token, now)
    with context.sessions() as session:
        reader = CdsReader(session, context.engine)
        grants = read_grants(record, RecordKind.USAGE, lambda _: [])
        units = plan_units(reader, grants, settings, now=now, period=(None, None))
        return sum(
            len(exact_json.encode(segment))
            for unit in units
            for segment in unit_segments(reader, unit, settings, now)
        )


def espi_in_process(served: Served) -> int:
    """The server side of each service point's ESPI feed, without HTTP; their bytes."""
    context: AppContext = served.app.state.context
    now = utc_now()
    record = _access_record(context, served.token, now)
    size = 0
    for index in range(served.points):
        plan = plan_subscription_feed(
            SqlUsageStore(context.engine),
            record,
            feed_settings(context),
            now=now,
            query=FeedQuery(),
            self_href=f"{served.subscription_uri}/UsagePoint/{point_uuid(index)}",
            focus=Focus(usage_point=point_uuid(index)),
        )
        chunks = usage_feed(plan.meta, plan.local_time, plan.usage_points)
        size += sum(len(chunk) for chunk in chunks)
    return size


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    """The best wall time of ``repeat`` runs of ``work``."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def profile_cds(served: Served) -> None:
    """Print where the CDS server side spends its time (cProfile, in-process)."""
    profiler = cProfile.Profile()
    profiler.enable()
    cds_in_process(served)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(25)


# -- the measurement ---------------------------------------------------------------------------


@dataclass
class Measured:
    """Every figure of one run."""

    cds: Walk
    espi: Walk
    rss_before_mib: float
    cds_rss_mib: float
    espi_rss_mib: float
    cds_server_seconds: float
    espi_server_seconds: float
    cds_heap_mib: float
    espi_heap_mib: float


def measure(
    http: httpx.Client, served: Served, arguments: argparse.Namespace, readings: int
) -> Measured:
    """Warm up, time both walks alternately, check what they carry, then the server alone."""
    base_url = str(served.app.state.context.base_url)

    def cds_walk(*, keep: bool = False) -> Walk:
        return walk_cds(http, base_url, served.token, arguments.cds_limit, keep=keep)

    def espi_walk(*, keep: bool = False) -> Walk:
        return walk_espi(http, served.subscription_uri, served.points, served.token, keep=keep)

    check_same_readings(cds_walk(keep=True), espi_walk(keep=True), readings)  # also warms up
    cds_runs: list[Walk] = []
    espi_runs: list[Walk] = []
    cds_rss = espi_rss = 0.0
    rss_before = reset_peak_rss()
    for _ in range(arguments.repeat):
        reset_peak_rss()
        cds_runs.append(cds_walk())
        cds_rss = max(cds_rss, peak_rss_mib())
        reset_peak_rss()
        espi_runs.append(espi_walk())
        espi_rss = max(espi_rss, peak_rss_mib())
    return Measured(
        min(cds_runs, key=lambda walk: walk.seconds),
        min(espi_runs, key=lambda walk: walk.seconds),
        rss_before,
        cds_rss,
        espi_rss,
        best_seconds(lambda: cds_in_process(served), arguments.repeat),
        best_seconds(lambda: espi_in_process(served), arguments.repeat),
        heap_peak_mib(lambda: cds_in_process(served)),
        heap_peak_mib(lambda: espi_in_process(served)),
    )


def check_same_readings(cds: Walk, espi: Walk, readings: int) -> None:
    """Both walks carry every imported reading, with the same total usage and cost."""
    cds_data, espi_data = cds_carried(cds), espi_carried(espi)
    assert cds_data == espi_data, (cds_data, espi_data)
    assert cds_data.readings == readings, (cds_data, readings)


# -- main --------------------------------------------------------------------------------------


def report(measured: Measured, seeded: Seeded, backend: str, arguments: argparse.Namespace) -> None:
    """Print the figures, ending with one JSON line."""
    cds, espi, readings = measured.cds, measured.espi, seeded.readings
    for name, walk in (("cds", cds), ("espi", espi)):
        print(
            f"{name:<5} {walk.seconds * 1000:8.1f} ms  {walk.size / 1e6:6.1f} MB"
            f" in {walk.requests} responses  {readings / walk.seconds:>9,.0f} readings/s"
            f"  {walk.size / 1e6 / walk.seconds:6.1f} MB/s"
        )
    ratio = cds.seconds / espi.seconds
    server_ratio = measured.cds_server_seconds / measured.espi_server_seconds
    print(f"ratio cds / espi {ratio:.2f}")
    print(
        f"server side alone (in-process, no HTTP): cds {measured.cds_server_seconds * 1000:.1f} ms"
        f" ({measured.cds_heap_mib:.1f} MiB heap peak), espi"
        f" {measured.espi_server_seconds * 1000:.1f} ms ({measured.espi_heap_mib:.1f} MiB heap"
        f" peak), ratio {server_ratio:.2f}"
    )
    print(
        f"process peak RSS (server and client): {measured.cds_rss_mib:.0f} MiB (cds),"
        f" {measured.espi_rss_mib:.0f} MiB (espi), {measured.rss_before_mib:.0f} MiB before"
    )
    figures: dict[str, Any] = {
        "backend": backend,
        "points": arguments.points,
        "days": arguments.days,
        "readings": readings,
        "import_s": round(seeded.import_seconds, 2),
        "cds_ms": round(cds.seconds * 1000, 1),
        "cds_mb": round(cds.size / 1e6, 2),
        "cds_responses": cds.requests,
        "cds_readings_per_s": round(readings / cds.seconds),
        "espi_ms": round(espi.seconds * 1000, 1),
        "espi_mb": round(espi.size / 1e6, 2),
        "espi_responses": espi.requests,
        "espi_readings_per_s": round(readings / espi.seconds),
        "ratio": round(ratio, 2),
        "cds_server_ms": round(measured.cds_server_seconds * 1000, 1),
        "espi_server_ms": round(measured.espi_server_seconds * 1000, 1),
        "server_ratio": round(server_ratio, 2),
        "cds_server_heap_peak_mib": round(measured.cds_heap_mib, 1),
        "espi_server_heap_peak_mib": round(measured.espi_heap_mib, 1),
        "rss_before_mib": round(measured.rss_before_mib, 1),
        "cds_peak_rss_mib": round(measured.cds_rss_mib, 1),
        "espi_peak_rss_mib": round(measured.espi_rss_mib, 1),
    }
    print(json.dumps({"bench": "cds_usage", "results": figures}))


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1, help="service points (default 1)")
    parser.add_argument("--days", type=int, default=730, help="local days of readings")
    parser.add_argument("--repeat", type=int, default=5, help="timed walks of each (best of)")
    parser.add_argument("--cds-limit", type=int, help="usage units per CDS page (server default)")
    parser.add_argument("--database-url", help="an empty database (default: temporary SQLite)")
    parser.add_argument("--no-quality", action="store_true", help="store readings without quality")
    parser.add_argument("--profile", action="store_true", help="cProfile the CDS server side")
    arguments = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as directory,
        database(arguments.database_url, Path(directory)) as url,
    ):
        engine = db.make_engine(url)
        db.upgrade(engine)
        quality = None if arguments.no_quality else QUALITY
        seeded = seed(engine, arguments.points, arguments.days, quality=quality)
        print(
            f"{engine.dialect.name}: {arguments.points} service point(s) × {arguments.days} days"
            f" from {seeded.first_day}: {seeded.readings:,} readings imported in"
            f" {seeded.import_seconds:.1f} s (not timed below)"
        )
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        app = create_app(bench_settings(url, base_url, write_profile(Path(directory))), engine)
        with serving(app, port), httpx.Client(timeout=600) as http:
            token, subscription_uri = customer_token(http, base_url, engine)
            served = Served(app, token, subscription_uri, arguments.points)
            measured = measure(http, served, arguments, seeded.readings)
            if arguments.profile:
                profile_cds(served)
        backend = engine.dialect.name
        engine.dispose()
    report(measured, seeded, backend, arguments)


if __name__ == "__main__":
    main()
