"""A live custodian with an operator account, a signed-in operator, and a notification receiver."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from opencustodian.protocols.espi.batch_list import parse_batch_list
from opencustodian.storage.admins import create_admin
from opencustodian.storage.db import session_factory, transaction
from tests.custodian import form_value, live_custodian
from tests.live import serving

if TYPE_CHECKING:
    from collections.abc import Iterator

ADMIN_USERNAME = "operator"
ADMIN_PASSWORD = "correct horse battery staple"


class Receiver:
    """A third party's notification endpoint: a real HTTP server recording BatchLists."""

    def __init__(self) -> None:
        self.resources: list[str] = []
        self.url = ""
        self.arrived = threading.Event()
        self.app = FastAPI()
        self.app.add_api_route("/notify", self.receive, methods=["POST"])

    async def receive(self, request: Request) -> Response:
        self.resources.extend(parse_batch_list(await request.body()))
        self.arrived.set()
        return Response(status_code=200)

    def wait_for(self, uri: str, times: int = 1, timeout: float = 5) -> None:
        """Wait until BatchLists have named ``uri`` ``times`` times in all."""
        deadline = time.monotonic() + timeout
        while self.resources.count(uri) < times:
            self.arrived.clear()
            if self.resources.count(uri) >= times:
                break
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no BatchList named {uri} {times}x; got {self.resources}"
            self.arrived.wait(remaining)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serving(receiver.app) as base_url:
        receiver.url = f"{base_url}/notify"
        yield receiver


@pytest.fixture
def custodian(engine, receiver):
    """The custodian; its third party's notifications go to ``receiver``."""
    with transaction(session_factory(engine)) as session:
        create_admin(session, ADMIN_USERNAME, ADMIN_PASSWORD)
    with live_custodian(engine, notification_uri=receiver.url) as running:
        yield running


def sign_in_admin(http: httpx.Client, base_url: str) -> None:
    """Sign in through the operator form."""
    page = http.get(f"{base_url}/admin/login")
    assert page.status_code == 200, page.text
    response = http.post(
        f"{base_url}/admin/login",
        data={
            "csrf": form_value(page.text, "csrf"),
            "next": "/admin",
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin"


@pytest.fixture
def admin(custodian) -> Iterator[httpx.Client]:
    """An HTTP client signed in as the operator."""
    with httpx.Client(timeout=30) as http:
        sign_in_admin(http, custodian.base_url)
        yield http


def csrf_of(http: httpx.Client, url: str) -> str:
    """The CSRF token on the page at ``url``."""
    page = http.get(url)
    assert page.status_code == 200, page.text
    return form_value(page.text, "csrf")
