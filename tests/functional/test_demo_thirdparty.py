"""The demo third party end to end over real HTTP, against the fake custodian.

The browser is an httpx client that follows redirects by hand, so each hop of the Green Button
journey (seed 001) is checked: landing → select utility → choose data → custodian authorize →
callback → connection page; the denial path; the utility-initiated scope selection; refresh,
disconnect and notifications.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from opencustodian.client import split_scopes
from opencustodian.demo.thirdparty import (
    PREDEFINED_SCOPES,
    ThirdPartyConfig,
    create_thirdparty_app,
)
from tests.fake_custodian import FakeCustodian
from tests.live import free_port, serving

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ELECTRIC = PREDEFINED_SCOPES[0].scope
RETAIL = PREDEFINED_SCOPES[5].scope
CUSTOM = "FB=1_3_4_5;IntervalDuration=900;BlockDuration=Daily;HistoryLength=63072000;"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    tp: str
    custodian: FakeCustodian
    custodian_url: str
    browser: httpx.Client
    database: Path
    clock: Clock

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.browser.get(url, **kwargs)

    def connect(self, *scopes: str, custom: str = "") -> httpx.Response:
        """Choose data, follow the custodian's redirect, return the callback's response."""
        chosen = self.browser.post(
            f"{self.tp}/connect/data", data={"scope": list(scopes), "custom_scope": custom}
        )
        assert chosen.status_code == 303
        authorize = self.get(chosen.headers["location"])
        assert authorize.status_code == 302
        callback = authorize.headers["location"]
        assert callback.startswith(f"{self.tp}/callback?")
        return self.get(callback)

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql).fetchall()


def make_world(tmp_path: Path, **options) -> Iterator[World]:
    custodian = FakeCustodian()
    clock = Clock()
    port = free_port()
    with serving(custodian.app()) as custodian_url:
        config = ThirdPartyConfig(
            name="SunSpark Solar",
            base_url=f"http://127.0.0.1:{port}",
            custodian_name="Demo Utility",
            custodian_base_url=custodian_url,
            client_id=custodian.client_id,
            client_secret=custodian.client_secret,
            database_path=tmp_path / "tp.sqlite3",
            **options,
        )
        with (
            serving(create_thirdparty_app(config, clock=clock), port=port) as tp,
            httpx.Client(timeout=5) as browser,
        ):
            yield World(tp, custodian, custodian_url, browser, tmp_path / "tp.sqlite3", clock)


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    yield from make_world(tmp_path)


def element(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.DOTALL)
    assert match, f"no element with id={element_id}"
    return match.group(2)


def codes(html: str) -> list[str]:
    return [unescape(text) for text in re.findall(r"<code[^>]*>(.*?)</code>", html)]


def title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert match
    return unescape(match.group(1)).strip()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"token_body_style": "json", "authorize_param_style": "seed"},
        {"token_body_style": "json", "json_code_key": "authCode"},
        {"client_auth_method": "client_secret_post"},
    ],
    ids=["form", "json-seed-params", "json-authCode", "form-post-auth"],
)
def test_the_customer_connects_from_the_third_party(tmp_path, options):
    for world in make_world(tmp_path, **options):
        landing = world.get(f"{world.tp}/")
        assert landing.status_code == 200
        assert title(landing.text) == "Solar savings from your real usage · SunSpark Solar"
        assert 'href="/connect"' in landing.text
        assert "Connect your utility data" in landing.text

        utility = world.get(f"{world.tp}/connect")
        assert title(utility.text).startswith("Select your utility")
        assert element(utility.text, "choose-custodian") == "Demo Utility"

        choose = world.get(f"{world.tp}/connect/data")
        assert title(choose.text).startswith("Choose what to share")
        for option in PREDEFINED_SCOPES:
            assert option.scope in codes(choose.text)
            assert f">{option.name}</label>" in choose.text
        assert '<label for="custom-scope">Custom scope</label>' in choose.text

        chosen = world.browser.post(
            f"{world.tp}/connect/data",
            data={"scope": [ELECTRIC, RETAIL], "custom_scope": CUSTOM},
        )
        assert chosen.status_code == 303
        location = chosen.headers["location"]
        assert location.startswith(f"{world.custodian_url}/oauth/authorize?")
        params = parse_qs(urlsplit(location).query)
        assert split_scopes(params["scope"][0]) == [ELECTRIC, RETAIL, CUSTOM]
        id_name, uri_name = (
            ("clientId", "redirectUri")
            if options.get("authorize_param_style") == "seed"
            else ("client_id", "redirect_uri")
        )
        assert params[id_name] == ["sunspark"]
        assert params[uri_name] == [f"{world.tp}/callback"]
        assert params["code_challenge_method"] == ["S256"]
        stored = world.rows("SELECT state, origin FROM authorization_attempts")
        assert stored == [(params["state"][0], "third_party")]

        authorize = world.get(location)
        callback = world.get(authorize.headers["location"])
        assert callback.status_code == 303, callback.text
        assert callback.headers["location"] == "/connections/1"

        # The exchange used the configured body style and a verifier matching the challenge
        # (the fake refuses a mismatch, so the 303 above already proves it).
        call = world.custodian.token_calls[-1]
        if options.get("token_body_style") == "json":
            assert call.content_type == "application/json"
            assert call.body["grantType"] == "authorization_code"
            assert options.get("json_code_key", "oauthCode") in call.body
        else:
            assert call.content_type == "application/x-www-form-urlencoded"
            assert call.body["grant_type"] == "authorization_code"

        page = world.get(f"{world.tp}/connections/1")
        assert page.status_code == 200
        assert title(page.text) == "Connection 1 with Demo Utility · SunSpark Solar"
        assert codes(element(page.text, "granted-scopes")) == [ELECTRIC, RETAIL, CUSTOM]
        subscription = f"{world.custodian_url}/espi/1_1/resource/Batch/Subscription/1"
        assert element(page.text, "resource-uri") == subscription
        assert element(page.text, "authorization-uri").endswith("/Authorization/1")
        assert element(page.text, "customer-resource-uri").endswith("/RetailCustomer/1")
        assert "2025-06-01T16:00:00+00:00" in element(page.text, "token-expires-at")
        assert element(page.text, "connection-status") == "active"
        for token in [*world.custodian.access_tokens, *world.custodian.refresh_tokens]:
            assert token not in page.text

        listing = world.get(f"{world.tp}/connections")
        assert 'href="/connections/1"' in listing.text


def test_a_reused_or_unknown_state_is_refused(world):
    chosen = world.browser.post(f"{world.tp}/connect/data", data={"scope": [RETAIL]})
    callback = world.get(chosen.headers["location"]).headers["location"]
    assert world.get(callback).status_code == 303
    replay = world.get(callback)
    assert replay.status_code == 400
    assert title(replay.text).startswith("Unknown authorization")
    assert world.get(f"{world.tp}/callback?code=x&state=forged").status_code == 400
    assert world.get(f"{world.tp}/callback?code=x").status_code == 400
    assert len(world.rows("SELECT id FROM connections")) == 1


def test_an_expired_state_is_refused(world):
    chosen = world.browser.post(f"{world.tp}/connect/data", data={"scope": [RETAIL]})
    callback = world.get(chosen.headers["location"]).headers["location"]
    world.clock.now += timedelta(minutes=11)
    assert world.get(callback).status_code == 400
    assert world.rows("SELECT id FROM connections") == []


def test_the_customer_declines(world):
    world.custodian.deny = True
    denied = world.connect(ELECTRIC)
    assert denied.status_code == 200
    assert title(denied.text).startswith("Not shared")
    assert element(denied.text, "denied") == "You chose not to share your data"
    assert world.rows("SELECT outcome, error FROM authorization_attempts") == [
        ("denied", "access_denied")
    ]
    assert world.rows("SELECT id FROM connections") == []
    assert world.custodian.token_calls == []


def test_a_failed_code_exchange_is_reported_not_stored(world):
    chosen = world.browser.post(f"{world.tp}/connect/data", data={"scope": [RETAIL]})
    state = parse_qs(urlsplit(chosen.headers["location"]).query)["state"][0]
    failed = world.get(f"{world.tp}/callback", params={"code": "bogus", "state": state})
    assert failed.status_code == 502
    assert "Exchanging the authorization code" in failed.text
    assert world.rows("SELECT outcome, error FROM authorization_attempts") == [
        ("error", "OAuthError")
    ]
    assert world.rows("SELECT id FROM connections") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose at least one"),
        ({"custom_scope": "FB=1 2"}, "contains spaces"),
    ],
)
def test_choosing_nothing_usable_asks_again(world, data, message):
    response = world.browser.post(f"{world.tp}/connect/data", data=data)
    assert response.status_code == 400
    assert message in element(response.text, "form-error")
    assert world.rows("SELECT state FROM authorization_attempts") == []


def test_the_utility_sends_the_customer_to_scope_selection(world):
    offered = world.get(
        f"{world.tp}/scope-selection",
        params={"scope": [ELECTRIC, "FB=4_5_51"], "DataCustodianID": "demo-utility"},
    )
    assert offered.status_code == 200
    assert "Demo Utility sent you here" in element(offered.text, "main")
    assert codes(offered.text) == [ELECTRIC, "FB=4_5_51"]
    assert offered.text.count(" checked>") == 2
    assert f">{PREDEFINED_SCOPES[0].name}</label>" in offered.text  # known scopes keep names
    assert 'name="data_custodian_id" value="demo-utility"' in offered.text

    chosen = world.browser.post(
        f"{world.tp}/scope-selection",
        data={
            "scope": ["FB=4_5_51"],
            "offered": [ELECTRIC, "FB=4_5_51"],
            "data_custodian_id": "demo-utility",
        },
    )
    assert chosen.status_code == 303
    assert parse_qs(urlsplit(chosen.headers["location"]).query)["scope"] == ["FB=4_5_51"]
    assert world.rows("SELECT origin, data_custodian_id FROM authorization_attempts") == [
        ("custodian", "demo-utility")
    ]
    callback = world.get(world.get(chosen.headers["location"]).headers["location"])
    assert callback.status_code == 303
    page = world.get(f"{world.tp}{callback.headers['location']}")
    assert codes(element(page.text, "granted-scopes")) == ["FB=4_5_51"]


def test_refresh_rotates_and_disconnect_revokes(world):
    assert world.connect(ELECTRIC).status_code == 303
    first_refresh = world.rows("SELECT refresh_token FROM connections")[0][0]

    world.clock.now += timedelta(minutes=5)
    refreshed = world.browser.post(f"{world.tp}/connections/1/refresh")
    assert refreshed.status_code == 303
    page = world.get(f"{world.tp}{refreshed.headers['location']}")
    assert element(page.text, "notice") == "The access token was refreshed."
    assert element(page.text, "refresh-count") == "1"
    assert "2025-06-01T16:05:00+00:00" in element(page.text, "token-expires-at")
    (refresh_token,) = world.rows("SELECT refresh_token FROM connections")[0]
    assert refresh_token != first_refresh
    assert refresh_token in world.custodian.refresh_tokens  # the rotated one is live
    assert first_refresh not in world.custodian.refresh_tokens
    assert world.custodian.token_calls[-1].body["grant_type"] == "refresh_token"

    gone = world.browser.post(f"{world.tp}/connections/1/disconnect")
    assert gone.status_code == 303
    assert {call["token"] for call in world.custodian.revoke_calls} >= {refresh_token}
    assert world.custodian.revoke_calls[0]["token_type_hint"] == "refresh_token"
    page = world.get(f"{world.tp}/connections/1")
    assert element(page.text, "connection-status") == "disconnected"
    assert 'id="refresh"' not in page.text
    assert world.rows("SELECT access_token, refresh_token FROM connections") == [(None, None)]
    assert world.browser.post(f"{world.tp}/connections/1/refresh").status_code == 404


def test_a_refused_refresh_is_reported(world):
    assert world.connect(ELECTRIC).status_code == 303
    world.custodian.refresh_tokens.clear()  # the custodian revoked the grant on its side
    failed = world.browser.post(f"{world.tp}/connections/1/refresh")
    assert failed.status_code == 502
    assert title(failed.text).startswith("Refresh failed")


def test_unknown_connection_is_404(world):
    assert world.get(f"{world.tp}/connections/99").status_code == 404


def test_notifications_are_received_and_listed(world):
    assert world.connect(ELECTRIC).status_code == 303
    subscription = f"{world.custodian_url}/espi/1_1/resource/Batch/Subscription/1"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<BatchList xmlns="http://naesb.org/espi">'
        f"<resources>{subscription}?published-min=1&amp;published-max=2</resources>"
        "<resources>https://elsewhere.example/Batch/Bulk/9</resources>"
        "</BatchList>"
    )
    received = world.browser.post(
        f"{world.tp}/notifications", content=body, headers={"Content-Type": "application/xml"}
    )
    assert received.status_code == 200
    assert world.rows("SELECT resource_uri, connection_id FROM notifications ORDER BY id") == [
        (f"{subscription}?published-min=1&published-max=2", 1),
        ("https://elsewhere.example/Batch/Bulk/9", None),
    ]
    listing = world.get(f"{world.tp}/notifications")
    assert title(listing.text).startswith("Notifications")
    assert f"{subscription}?published-min=1&published-max=2" in codes(listing.text)
    assert 'href="/connections/1">Connection 1</a>' in listing.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not xml", 400),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', 400),
        (
            (
                b'<!DOCTYPE BatchList [<!ENTITY x "y">]><BatchList><resources>&x;</resources>'
                b"</BatchList>"
            ),
            400,
        ),
        (b"<BatchList><resources>file:///etc/passwd</resources></BatchList>", 400),
        (b"<BatchList>" + b" " * (1024 * 1024) + b"</BatchList>", 413),
    ],
    ids=["not-xml", "atom", "doctype", "file-uri", "oversize"],
)
def test_bad_notifications_are_refused(world, body, status):
    response = world.browser.post(f"{world.tp}/notifications", content=body)
    assert response.status_code == status
    assert world.rows("SELECT id FROM notifications") == []
    assert "No notifications received yet." in world.get(f"{world.tp}/notifications").text


def test_config_refuses_unknown_styles(tmp_path):
    with pytest.raises(ValueError, match="token_body_style"):
        ThirdPartyConfig(
            name="x",
            base_url="http://tp",
            custodian_name="u",
            custodian_base_url="http://dc",
            client_id="c",
            client_secret="s",
            database_path=tmp_path / "x.sqlite3",
            token_body_style="xml",  # type: ignore[arg-type]
        )
