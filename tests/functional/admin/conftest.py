"""A live custodian with an operator account, a signed-in operator, and a notification receiver."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from opencustodian.storage.admins import create_admin
from opencustodian.storage.db import session_factory, transaction
from tests.custodian import form_value, live_custodian
from tests.receiver import Receiver, running_receiver

if TYPE_CHECKING:
    from collections.abc import Iterator

ADMIN_USERNAME = "operator"
ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


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
