"""The demo third party fetches real ESPI feeds from a live custodian and charts them.

Real HTTP both ways: the customer connects through the custodian's sign-in and consent pages,
the demo third party fetches the Batch/Subscription feed with its token, stores the readings
in its own SQLite file and draws them. The chart's numbers are checked against sums computed
independently from the custodian's database; a BatchList notification makes it fetch again;
an access token about to expire is refreshed before the fetch that needs it.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import Request  # noqa: TC002 - FastAPI reads the handler's annotations
from fastapi.responses import Response
from sqlalchemy import select, update

from opencustodian.demo.thirdparty import PREDEFINED_SCOPES, ThirdPartyConfig, create_thirdparty_app
from opencustodian.storage.models import (
    MeterReading,
    interval_readings,
)
from tests.custodian import walk_consent
from tests.demo_pages import WAIT_SECONDS, charts, wait_for
from tests.fake_custodian import FakeCustodian
from tests.functional.oauth.conftest import module_engine, server
from tests.functional.oauth.flows import revoke, unique_name
from tests.live import free_port, serving
from tests.samples import SAMPLES
from tests.served_usage import (
    NEW_YORK,
    daily_sums,
    grant_uuid_of,
    hourly_sums,
    served_channels,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.custodian import LiveCustodian, ThirdParty

__all__ = ["module_engine", "server"]

ELECTRIC = PREDEFINED_SCOPES[0].scope


@dataclass
class MovableClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Demo:
    tp: str
    custodian: str
    party: ThirdParty
    database: Path
    clock: MovableClock

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()

    def connect(self, username: str) -> int:
        """The whole journey over HTTP; returns the new connection's id."""
        with httpx.Client(timeout=30) as browser:
            chosen = browser.post(f"{self.tp}/connect/data", data={"scope": [ELECTRIC]})
            assert chosen.status_code == 303
            query = {
                k: v[0] for k, v in parse_qs(urlsplit(chosen.headers["location"]).query).items()
            }
            consented = walk_consent(browser, self.custodian, query, username=username)
            callback = browser.get(consented.headers["location"])
            assert callback.status_code == 303, callback.text
        return int(callback.headers["location"].rsplit("/", 1)[1])

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.tp}{path}", params=params, timeout=30)

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(f"{self.tp}{path}", timeout=30, **kwargs)  # type: ignore[arg-type]

    def value(self, sql: str, *params: object) -> object:
        (row,) = self.rows(sql, *params)
        return row[0]


@pytest.fixture
def demo(server: LiveCustodian, tmp_path: Path) -> Iterator[Demo]:
    port = free_port()
    tp = f"http://127.0.0.1:{port}"
    party = server.register(
        unique_name("SunSpark"),
        redirect_uris=(f"{tp}/callback",),
        notification_uri=f"{tp}/notifications",
    )
    config = ThirdPartyConfig(
        name="SunSpark Solar",
        base_url=tp,
        custodian_name="Demo Utility",
        custodian_base_url=server.base_url,
        client_id=party.client_id,
        client_secret=party.client_secret,
        database_path=tmp_path / "tp.sqlite3",
    )
    clock = MovableClock()
    with serving(create_thirdparty_app(config, clock=clock), port=port):
        yield Demo(tp, server.base_url, party, tmp_path / "tp.sqlite3", clock)


def grant_of(demo: Demo, connection_id: int) -> uuid.UUID:
    authorization_uri = demo.value(
        "SELECT authorization_uri FROM connections WHERE id = ?", connection_id
    )
    assert isinstance(authorization_uri, str)
    return grant_uuid_of(authorization_uri)


def test_the_chart_shows_the_custodians_readings(demo: Demo, server: LiveCustodian):
    connection_id = demo.connect("customer0001")
    assert demo.value("SELECT outcome FROM fetches WHERE connection_id = ?", connection_id) == "ok"
    page = demo.get(f"/connections/{connection_id}")
    assert f'href="/connections/{connection_id}/usage"' in page.text
    assert "See your usage chart" in page.text

    usage = demo.get(f"/connections/{connection_id}/usage")
    assert usage.status_code == 200
    assert "the utility's local time (UTC-5 with daylight saving time)" in unescape(usage.text)
    shown = charts(usage.text)
    stored = served_channels(server.engine, grant_of(demo, connection_id))
    assert stored
    assert set(shown) == set(stored)  # one chart per served channel, no more
    latest = max(day for readings in stored.values() for day in daily_sums(readings))
    assert latest == "2026-11-01"  # the seed ends on the day DST ends
    for meter, readings in stored.items():
        expected_days = daily_sums(readings)
        assert shown[meter].daily == expected_days
        assert shown[meter].daily_table == expected_days
        assert sum(expected_days.values()) == sum(kwh for _, kwh in readings)
        expected_hours = hourly_sums(readings, latest)
        assert shown[meter].hourly == expected_hours
        # 01:00 comes twice on 1 November: once daylight time, once standard time.
        assert {"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"} <= set(expected_hours)


def test_another_day_and_a_bad_day(demo: Demo, server: LiveCustodian):
    connection_id = demo.connect("customer0001")
    stored = served_channels(server.engine, grant_of(demo, connection_id))
    day = demo.get(f"/connections/{connection_id}/usage", day="2026-10-31")
    assert 'datetime="2026-10-31"' in day.text
    for meter, chart in charts(day.text).items():
        assert chart.hourly == hourly_sums(stored[meter], "2026-10-31")
        assert len(chart.hourly) == 24
    for bad_day in ("31/10/2026", "9999-12-31", "0001-01-01", "2026-02-30", "x" * 5000):
        bad = demo.get(f"/connections/{connection_id}/usage", day=bad_day)
        assert bad.status_code == 400, bad_day
        assert "YYYY-MM-DD" in bad.text
    assert demo.get("/connections/99/usage").status_code == 404


def test_a_notification_makes_it_fetch_again(
    demo: Demo, server: LiveCustodian, caplog: pytest.LogCaptureFixture
):
    connection_id = demo.connect("customer0002")
    grant = grant_of(demo, connection_id)
    meter, readings = min(served_channels(server.engine, grant).items())
    before = daily_sums(readings)["2026-10-31"]
    assert (
        charts(demo.get(f"/connections/{connection_id}/usage").text)[meter].daily["2026-10-31"]
        == before
    )

    # New data at the custodian: a corrected reading on 31 October (+5 kWh).
    noon = int(datetime(2026, 10, 31, 12, tzinfo=NEW_YORK).timestamp())
    with server.engine.begin() as connection:
        meter_id = connection.scalar(
            select(MeterReading.id).where(MeterReading.uuid == uuid.UUID(meter))
        )
        changed = connection.execute(
            update(interval_readings)
            .where(interval_readings.c.meter_reading_id == meter_id)
            .where(interval_readings.c.start == noon)
            .values(value=interval_readings.c.value + 5000)
        )
        assert changed.rowcount == 1
    after = daily_sums(served_channels(server.engine, grant)[meter])["2026-10-31"]
    assert after == before + 5

    resource_uri = demo.value("SELECT resource_uri FROM connections WHERE id = ?", connection_id)
    authorization_uri = demo.value(
        "SELECT authorization_uri FROM connections WHERE id = ?", connection_id
    )
    notified = (
        f"{resource_uri}?published-min=2026-10-31T04:00:00Z&published-max=2026-11-01T04:00:00Z"
    )
    paged = f"{resource_uri}?max-results=1"  # one IntervalBlock a page: rel="next" to follow
    foreign = "https://elsewhere.example/espi/1_1/resource/Batch/Subscription/1"
    body = (
        '<BatchList xmlns="http://naesb.org/espi">'
        f"<resources>{notified.replace('&', '&amp;')}</resources>"
        f"<resources>{paged}</resources>"
        f"<resources>{authorization_uri}</resources>"
        f"<resources>{foreign}</resources>"
        f"<resources>{resource_uri}/../../Subscription/other</resources>"
        "</BatchList>"
    )
    with caplog.at_level("INFO", logger="opencustodian.demo.thirdparty.fetching"):
        answer = demo.post("/notifications", content=body)
        assert answer.status_code == 200
        wait_for(
            lambda: (
                len(
                    demo.rows(
                        "SELECT 1 FROM fetches WHERE reason = 'notification'"
                        " AND finished_at IS NOT NULL"
                    )
                )
                == 2
            ),
            "the notified fetches",
        )
        wait_for(lambda: "names no connection" in caplog.text, "the ignored URIs to be logged")
    fetched = demo.rows(
        "SELECT uri, outcome, pages, readings FROM fetches WHERE reason = 'notification'"
    )
    # Only the connection's own feed was fetched: the day, then the whole feed page by page.
    assert [(uri, outcome) for uri, outcome, *_ in fetched] == [(notified, "ok"), (paged, "ok")]
    served = served_channels(server.engine, grant)
    blocks = sum(len(daily_sums(channel)) for channel in served.values())  # one per local day
    assert blocks >= 3
    assert fetched[1][2] == blocks  # pages
    assert fetched[1][3] == sum(len(channel) for channel in served.values())  # readings
    assert foreign in caplog.text
    assert "Subscription/other" in caplog.text
    assert "the authorization changed" in caplog.text
    shown = charts(demo.get(f"/connections/{connection_id}/usage").text)[meter]
    assert shown.daily["2026-10-31"] == after
    assert shown.daily == daily_sums(served_channels(server.engine, grant)[meter])


def test_a_token_about_to_expire_is_refreshed_before_the_fetch(demo: Demo, server: LiveCustodian):
    connection_id = demo.connect("customer0003")
    obtained = demo.value("SELECT obtained_at FROM connections WHERE id = ?", connection_id)
    first_token = demo.value("SELECT access_token FROM connections WHERE id = ?", connection_id)
    assert isinstance(obtained, str)
    assert isinstance(first_token, str)
    # The custodian stops this access token (RFC 7009); its refresh token still works. From
    # now on a fetch succeeds only if a fresh access token is obtained before it.
    with httpx.Client() as http:
        assert revoke(http, server, demo.party, first_token, "access_token").status_code == 200

    demo.clock.now = datetime.fromisoformat(obtained) + timedelta(minutes=10)
    early = demo.post(f"/connections/{connection_id}/fetch")
    assert early.status_code == 502  # not near expiry: no refresh, and the dead token fails
    assert demo.value("SELECT refresh_count FROM connections WHERE id = ?", connection_id) == 0
    error = demo.value("SELECT error FROM fetches ORDER BY id DESC LIMIT 1")
    assert isinstance(error, str)
    assert "HTTP 401" in error

    demo.clock.now = datetime.fromisoformat(obtained) + timedelta(seconds=3600 - 30)
    late = demo.post(f"/connections/{connection_id}/fetch")
    assert late.status_code == 303, late.text
    assert late.headers["location"] == f"/connections/{connection_id}/usage"
    assert demo.value("SELECT refresh_count FROM connections WHERE id = ?", connection_id) == 1
    assert demo.value("SELECT access_token FROM connections WHERE id = ?", connection_id) != (
        first_token
    )
    outcome, readings = demo.rows("SELECT outcome, readings FROM fetches ORDER BY id DESC LIMIT 1")[
        0
    ]
    assert outcome == "ok"
    assert isinstance(readings, int)
    assert readings > 0
    new_expiry = demo.clock.now + timedelta(hours=1)
    page = demo.get(f"/connections/{connection_id}")
    assert new_expiry.strftime("%Y-%m-%d %H:%M:%S") in page.text


# -- against a fake custodian whose feed endpoint the test controls -------------------------


@dataclass
class HeldFeed:
    """A feed endpoint serving a real sample, which can be held until the test releases it.

    With ``as_job`` the subscription answers ``202`` and the feed is at its job URI, as a
    custodian answers a feed too large to stream (seed 000 §3.1).
    """

    custodian: FakeCustodian
    body: bytes
    as_job: bool = False
    open: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    bearer: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.open.set()

    def subscription(self, request: Request, subscription: str) -> Response:
        if self.as_job:
            job = f"/espi/1_1/resource/Batch/Subscription/{subscription}/Job/j1"
            return Response(status_code=202, headers={"Location": job, "Retry-After": "60"})
        return self.serve(request)

    def job(self, request: Request, subscription: str, job: str) -> Response:
        assert (subscription, job) == ("1", "j1")
        return self.serve(request)

    def serve(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        self.bearer.append(token)
        if token not in self.custodian.access_tokens:
            return Response(status_code=401)
        self.entered.set()
        assert self.open.wait(WAIT_SECONDS)
        return Response(self.body, media_type="application/atom+xml")


@dataclass
class FakeWorld:
    tp: str
    custodian_url: str
    browser: httpx.Client
    database: Path

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql).fetchall()

    def connect(self) -> None:
        chosen = self.browser.post(f"{self.tp}/connect/data", data={"scope": [ELECTRIC]})
        authorized = self.browser.get(chosen.headers["location"])
        assert self.browser.get(authorized.headers["location"]).status_code == 303

    def notify(self, *uris: str) -> httpx.Response:
        listed = "".join(f"<resources>{uri}</resources>" for uri in uris)
        body = f'<BatchList xmlns="http://naesb.org/espi">{listed}</BatchList>'
        return self.browser.post(f"{self.tp}/notifications", content=body)


@contextmanager
def fake_world(tmp_path: Path, held: HeldFeed | None) -> Iterator[FakeWorld]:
    custodian = held.custodian if held else FakeCustodian()
    app = custodian.app()
    if held is not None:
        feed = "/espi/1_1/resource/Batch/Subscription/{subscription}"
        app.add_api_route(feed, held.subscription)
        app.add_api_route(f"{feed}/Job/{{job}}", held.job)
    port = free_port()
    with serving(app) as custodian_url:
        config = ThirdPartyConfig(
            name="SunSpark Solar",
            base_url=f"http://127.0.0.1:{port}",
            custodian_name="Demo Utility",
            custodian_base_url=custodian_url,
            client_id=custodian.client_id,
            client_secret=custodian.client_secret,
            database_path=tmp_path / "tp.sqlite3",
        )
        with serving(create_thirdparty_app(config), port=port) as tp, httpx.Client() as browser:
            yield FakeWorld(tp, custodian_url, browser, tmp_path / "tp.sqlite3")


def notified_outcomes(world: FakeWorld) -> list[tuple[object, ...]]:
    return world.rows("SELECT outcome FROM fetches WHERE reason = 'notification'")


def test_the_notification_is_answered_before_the_fetch_ends(tmp_path):
    held = HeldFeed(FakeCustodian(), (SAMPLES / "test_usage_data.xml").read_bytes())
    with fake_world(tmp_path, held) as world:
        world.connect()
        assert world.rows("SELECT reason, outcome, readings FROM fetches") == [
            ("connected", "ok", 1340)
        ]
        usage = world.browser.get(f"{world.tp}/connections/1/usage", params={"day": "2012-03-11"})
        (chart,) = charts(usage.text).values()
        assert len(chart.hourly) == 23  # the sample's own DST day, in its own local time

        held.open.clear()
        held.entered.clear()
        answer = world.notify(f"{world.custodian_url}/espi/1_1/resource/Batch/Subscription/1")
        assert answer.status_code == 200  # answered while the fetch cannot have finished
        assert held.entered.wait(WAIT_SECONDS)
        assert notified_outcomes(world) == [(None,)]
        held.open.set()
        wait_for(lambda: notified_outcomes(world) == [("ok",)], "the notified fetch")
        assert held.bearer[-1] in held.custodian.access_tokens


def test_a_feed_prepared_as_a_job_is_fetched_when_notified(tmp_path):
    held = HeldFeed(FakeCustodian(), (SAMPLES / "test_usage_data.xml").read_bytes(), as_job=True)
    with fake_world(tmp_path, held) as world:
        world.connect()
        job = f"{world.custodian_url}/espi/1_1/resource/Batch/Subscription/1/Job/j1"
        assert world.rows("SELECT outcome, error FROM fetches") == [("pending", job)]
        page = world.browser.get(f"{world.tp}/connections/1")
        assert "Demo Utility is preparing this data and will notify us" in page.text
        assert "See your usage chart" not in page.text

        assert world.notify(job).status_code == 200
        wait_for(lambda: notified_outcomes(world) == [("ok",)], "the job's feed")
        assert world.rows("SELECT uri, readings FROM fetches WHERE reason = 'notification'") == [
            (job, 1340)
        ]
        assert "See your usage chart" in world.browser.get(f"{world.tp}/connections/1").text


def test_a_failed_first_fetch_keeps_the_connection(tmp_path):
    with fake_world(tmp_path, None) as world:  # the fake has no feed endpoint: 404
        world.connect()
        tp, browser = world.tp, world.browser
        page = browser.get(f"{tp}/connections/1")
        assert "The last fetch failed: OAuthError: HTTP 404" in page.text
        assert "See your usage chart" not in page.text
        usage = browser.get(f"{tp}/connections/1/usage")
        assert usage.status_code == 200
        assert "No interval readings have been fetched" in usage.text
        assert browser.post(f"{tp}/connections/1/fetch").status_code == 502
        assert browser.post(f"{tp}/connections/9/fetch").status_code == 404
