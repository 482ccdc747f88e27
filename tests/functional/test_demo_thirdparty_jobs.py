"""A feed the custodian prepares as a job reaches the demo third party through its BatchList.

The custodian's profile is set to defer any Batch/Subscription read above 50 readings: the
first fetch after connecting gets ``202 Accepted`` with a job URI, the custodian's own worker
builds the feed and POSTs a BatchList naming the job to the third party's notification URI,
and the third party fetches the job with the connection's token and charts the readings.
"""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx

from opencustodian.config import Environment, Settings
from opencustodian.demo.thirdparty import PREDEFINED_SCOPES, ThirdPartyConfig, create_thirdparty_app
from opencustodian.web.app import create_app
from tests.custodian import SECRET_KEY, register_third_party, seed_small_utility, walk_consent
from tests.demo_pages import charts, wait_for
from tests.live import free_port, serving
from tests.samples import REPO_ROOT
from tests.served_usage import daily_sums, grant_uuid_of, served_channels

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Engine

DEFAULT_PROFILE = "src/opencustodian/default_profile.toml"


def small_batch_profile(tmp_path: Path) -> Path:
    """The default profile, deferring every Batch/Subscription read of over 50 readings."""
    text = (REPO_ROOT / DEFAULT_PROFILE).read_text(encoding="utf-8")
    setting = re.compile(r"(?m)^sync_feed_max_readings = \d+")
    changed, count = setting.subn("sync_feed_max_readings = 50", text)
    assert count == 1
    profile = tmp_path / "profile.toml"
    profile.write_text(changed, encoding="utf-8")
    return profile


def test_a_deferred_feed_arrives_by_notification(engine: Engine, tmp_path: Path):
    seed_small_utility(engine)
    custodian_port, tp_port = free_port(), free_port()
    custodian, tp = f"http://127.0.0.1:{custodian_port}", f"http://127.0.0.1:{tp_port}"
    party = register_third_party(
        engine,
        "SunSpark Solar",
        redirect_uris=(f"{tp}/callback",),
        notification_uri=f"{tp}/notifications",
    )
    settings = Settings(
        environment=Environment.TESTING,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
        base_url=custodian,
        profile=small_batch_profile(tmp_path),
    )
    config = ThirdPartyConfig(
        name="SunSpark Solar",
        base_url=tp,
        custodian_name="Demo Utility",
        custodian_base_url=custodian,
        client_id=party.client_id,
        client_secret=party.client_secret,
        database_path=tmp_path / "tp.sqlite3",
    )

    def rows(sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(tmp_path / "tp.sqlite3") as connection:
            return connection.execute(sql).fetchall()

    with (
        serving(create_app(settings, engine), custodian_port),
        serving(create_thirdparty_app(config), tp_port),
        httpx.Client(timeout=30) as browser,
    ):
        chosen = browser.post(f"{tp}/connect/data", data={"scope": [PREDEFINED_SCOPES[0].scope]})
        query = {k: v[0] for k, v in parse_qs(urlsplit(chosen.headers["location"]).query).items()}
        consented = walk_consent(browser, custodian, query, username="customer0001")
        assert browser.get(consented.headers["location"]).status_code == 303

        ((resource_uri, authorization_uri),) = rows(
            "SELECT resource_uri, authorization_uri FROM connections"
        )
        ((outcome, job),) = rows("SELECT outcome, error FROM fetches WHERE reason = 'connected'")
        assert outcome == "pending"
        assert isinstance(job, str)
        assert job.startswith(f"{resource_uri}/Job/")

        wait_for(
            lambda: rows("SELECT outcome FROM fetches WHERE reason = 'notification'") == [("ok",)],
            "the custodian's BatchList and the job's fetch",
        )
        assert rows("SELECT resource_uri FROM notifications") == [(job,)]
        assert rows("SELECT uri FROM fetches WHERE reason = 'notification'") == [(job,)]

        assert isinstance(authorization_uri, str)
        stored = served_channels(engine, grant_uuid_of(authorization_uri))
        shown = charts(browser.get(f"{tp}/connections/1/usage").text)
        assert {meter: chart.daily for meter, chart in shown.items()} == {
            meter: daily_sums(readings) for meter, readings in stored.items()
        }
