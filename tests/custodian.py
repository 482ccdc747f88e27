"""A live custodian for end-to-end tests: seeded utility, registered third party, real HTTP.

``live_custodian`` serves the real app on a loopback port (uvicorn in a thread) whose
``base_url`` is the one it hands out in token responses; ``walk_consent`` plays the customer
through sign-in and the consent page with plain HTTP (the browser tests do it with Chromium).
"""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opencustodian.config import Environment, Settings
from opencustodian.demo.synthetic import DEMO_PASSWORD, seed_utility
from opencustodian.domain.parties import ApplicationRegistration, RegistrationEnvironment
from opencustodian.profile import load_profile
from opencustodian.services.registration import register_application
from opencustodian.storage.applications import SqlApplicationStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.web.app import create_app
from tests.live import free_port, serving

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from sqlalchemy.engine import Engine

SECRET_KEY = "test-secret-key-for-oauth-tests"
SEED_NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
ELECTRIC_SCOPE = (
    "FB=1_3_4_5;IntervalDuration=Monthly_3600_900_300;BlockDuration=Monthly_Daily;"
    "HistoryLength=63072000_86400;"
)
BILLING_SCOPE = (
    "FB=1_3_15_16;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63072000;"
)
CUSTOMER_SCOPE = "FB=51_53_56_57_58_60;"
BULK_SCOPE = "FB=35_67;"
REGISTERED_SCOPES = (ELECTRIC_SCOPE, BILLING_SCOPE, CUSTOMER_SCOPE, BULK_SCOPE)


@dataclass
class ThirdParty:
    """A registered application's credentials, as its developers hold them."""

    application_id: str
    client_id: str
    client_secret: str
    registration_token: str
    redirect_uri: str


@dataclass
class LiveCustodian:
    """A running custodian and what tests need to drive it."""

    base_url: str
    engine: Engine
    third_party: ThirdParty
    extra: dict[str, Any] = field(default_factory=dict)

    def register(self, name: str, **overrides: Any) -> ThirdParty:
        """Register another third party."""
        return register_third_party(self.engine, name, **overrides)


def register_third_party(engine: Engine, name: str, **overrides: Any) -> ThirdParty:
    """Register an application directly through the registration service."""
    values: dict[str, Any] = {
        "name": name,
        "redirect_uris": ("https://tp.example/callback",),
        "scopes": REGISTERED_SCOPES,
        "description": f"{name} helps you understand your energy use.",
        "scope_selection_uri": "https://tp.example/scope-selection",
        "environment": RegistrationEnvironment.PRODUCTION,
        **overrides,
    }
    with transaction(session_factory(engine)) as session:
        issued = register_application(
            ApplicationRegistration(**values), SqlApplicationStore(session), SECRET_KEY
        )
    return ThirdParty(
        str(issued.application_id),
        issued.client_id,
        issued.client_secret,
        issued.registration_access_token,
        values["redirect_uris"][0],
    )


def seed_small_utility(engine: Engine) -> None:
    """Three customers with two days of readings: enough accounts to choose between."""
    seed_utility(engine, load_profile(), customers=3, seed=7, now=SEED_NOW, history_days=2)


@contextmanager
def live_custodian(
    engine: Engine, *, seed: bool = True, **registration: Any
) -> Iterator[LiveCustodian]:
    """Serve the custodian over ``engine`` with one registered third party."""
    if seed:
        seed_small_utility(engine)
    third_party = register_third_party(engine, "Sunny Solar", **registration)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        environment=Environment.TESTING,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
        base_url=base_url,
    )
    with serving(create_app(settings, engine), port):
        yield LiveCustodian(base_url, engine, third_party)


def form_value(page: str, name: str) -> str:
    """The value of the hidden or text input ``name`` on an HTML page."""
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, f"no input {name!r} on the page"
    return html.unescape(match.group(1))


def checkbox_values(page: str, name: str) -> list[str]:
    """The values of every checkbox ``name`` on an HTML page."""
    pattern = rf'type="checkbox" name="{re.escape(name)}" value="([^"]*)"'
    return [html.unescape(value) for value in re.findall(pattern, page)]


def sign_in(http: httpx.Client, base_url: str, page: str, username: str = "customer0001") -> str:
    """Submit the sign-in form shown in ``page``; returns the page it continues to."""
    response = http.post(
        f"{base_url}/login",
        data={
            "csrf": form_value(page, "csrf"),
            "next": form_value(page, "next"),
            "username": username,
            "password": DEMO_PASSWORD,
        },
    )
    assert response.status_code == 303, response.text
    follow = http.get(f"{base_url}{response.headers['location']}")
    assert follow.status_code == 200, follow.text
    return follow.text


def walk_consent(  # noqa: PLR0913 - one customer journey has this many choices
    http: httpx.Client,
    base_url: str,
    query: dict[str, str],
    *,
    decision: str = "accept",
    keep_scopes: int | None = None,
    username: str = "customer0001",
) -> httpx.Response:
    """Authorize as a customer; returns the custodian's final redirect (302)."""
    first = http.get(f"{base_url}/oauth/authorize", params=query)
    assert first.status_code == 200, first.text
    page = (
        sign_in(http, base_url, first.text, username)
        if 'name="password"' in first.text
        else first.text
    )
    scopes = checkbox_values(page, "scope")
    assert scopes, page
    data: dict[str, str | list[str]] = {
        "csrf": form_value(page, "csrf"),
        "request_query": form_value(page, "request_query"),
        "decision": decision,
        "duration": "365",
        "scope": scopes[: keep_scopes or len(scopes)],
        "service_point": checkbox_values(page, "service_point"),
    }
    response = http.post(f"{base_url}/oauth/authorize", data=data)
    assert response.status_code == 302, response.text
    return response
