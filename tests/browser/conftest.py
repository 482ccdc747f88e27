"""Chromium driving the real custodian and the real demo third party, side by side.

Every test gets fresh servers on loopback ports (about a second): a custodian over its own
migrated SQLite file with a small seeded utility, and the demo third party ("SunSpark Solar")
with its own SQLite file, registered at the custodian with its callback, scope-selection and
notification URIs. Chromium is Debian's (``apt-get install chromium``): Playwright's browser
downloads fail here. One browser per pytest process (each xdist worker starts its own); one
browser context per test, so no cookie outlives a test.

Every page a test visits is saved as a full-page PNG in
``artifacts/browser/<test-name>/<NN>-<step>.png`` at the repository root; a failing test also
saves the page it failed on.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import sync_playwright

from opencustodian.config import Environment, Settings
from opencustodian.demo.thirdparty import ThirdPartyConfig, create_thirdparty_app
from opencustodian.profile import load_profile
from opencustodian.web.app import create_app
from tests.custodian import SECRET_KEY, ThirdParty, register_third_party, seed_small_utility
from tests.live import free_port, serving

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from playwright.sync_api import Browser, Page
    from sqlalchemy.engine import Engine

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
CHROMIUM = (
    os.environ.get("OPENCUSTODIAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking"]
#: Generous for a loaded CI machine, short enough that a wrong selector fails quickly.
TIMEOUT_MS = 15_000
THIRD_PARTY_NAME = "SunSpark Solar"


@dataclass(frozen=True)
class Apps:
    """The two running applications and what the tests need to know about them."""

    custodian: str
    thirdparty: str
    custodian_name: str
    thirdparty_name: str
    registration: ThirdParty
    engine: Engine


class Shots:
    """Numbered full-page screenshots of one test: ``<NN>-<step>.png``."""

    def __init__(self, page: Page, directory: Path) -> None:
        """Save the pages of ``page`` under ``directory`` (emptied first)."""
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self.page = page
        self.directory = directory
        self.taken: list[Path] = []

    def __call__(self, step: str) -> Path:
        """Screenshot the page as it is now, once it has loaded."""
        self.page.wait_for_load_state("load")
        path = self.directory / f"{len(self.taken) + 1:02d}-{_slug(step)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "page"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the test body failed, so the page fixture can screenshot it."""
    report = yield
    if call.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, once per test process."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (REQUIRE_BROWSER=1 fails)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) and one page in it."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    if request.node.stash.get(FAILED, False):
        directory = ARTIFACTS / _slug(request.node.name)
        directory.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(directory / "99-failure.png"), full_page=True)
    context.close()


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest) -> Shots:
    """``shot("step")`` saves the current page as the test's next screenshot."""
    return Shots(page, ARTIFACTS / _slug(request.node.name))


@pytest.fixture
def apps(tmp_path: Path, engine: Engine) -> Iterator[Apps]:
    """The seeded custodian (on the suite's database) and the demo third party, own ports."""
    seed_small_utility(engine)
    custodian_port = free_port()
    thirdparty_port = free_port()
    while thirdparty_port == custodian_port:
        thirdparty_port = free_port()
    custodian = f"http://127.0.0.1:{custodian_port}"
    thirdparty = f"http://127.0.0.1:{thirdparty_port}"
    registration = register_third_party(
        engine,
        THIRD_PARTY_NAME,
        redirect_uris=(f"{thirdparty}/callback",),
        scope_selection_uri=f"{thirdparty}/scope-selection",
        notification_uri=f"{thirdparty}/notifications",
        website=thirdparty,
    )
    settings = Settings(
        environment=Environment.TESTING,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
        base_url=custodian,
    )
    custodian_name = load_profile(settings.profile).name
    config = ThirdPartyConfig(
        name=THIRD_PARTY_NAME,
        base_url=thirdparty,
        custodian_name=custodian_name,
        custodian_base_url=custodian,
        client_id=registration.client_id,
        client_secret=registration.client_secret,
        database_path=tmp_path / "thirdparty.sqlite3",
    )
    with (
        serving(create_app(settings, engine), custodian_port),
        serving(create_thirdparty_app(config), thirdparty_port),
    ):
        yield Apps(custodian, thirdparty, custodian_name, THIRD_PARTY_NAME, registration, engine)
