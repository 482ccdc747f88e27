"""Steps the customer-page tests share: initiating agreements, signing in, reading the tables."""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import httpx
from sqlalchemy import select, update

from opencustodian.demo.synthetic import DEMO_PASSWORD
from opencustodian.domain.agreements import AgreementStatus
from opencustodian.kit.time import utc_now
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AgreementInvitation,
    EnergyDataAgreement,
    RetailCustomer,
    ServicePoint,
)
from tests.agreements import RecordingMailer, service
from tests.custodian import form_value

if TYPE_CHECKING:
    from datetime import datetime

    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

    from opencustodian.jobs.batches import BatchEnvironment
    from opencustodian.services.agreements import InitiationForm


class InProcessTransport(httpx.BaseTransport):
    """Hands each request of a plain (sync) ``httpx.Client`` to the ASGI app in this process.

    Each request runs in its own event loop (``anyio.run``) on a thread of its own: the pages
    under test are ordinary request/response handlers, so nothing outlives a request, and a
    loop already running in the test's thread (Playwright's sync API keeps one in the xdist
    worker once a browser test ran there) is never in the way.
    """

    def __init__(self, app: FastAPI) -> None:
        """Serve ``app``."""
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """The app's whole response to ``request``."""

        async def call() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=body, request=request
            )

        with ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(anyio.run, call).result()


def in_process_client(app: FastAPI) -> httpx.Client:
    """A cookie-keeping client of ``app`` that does not follow redirects (tests look at them)."""
    return httpx.Client(
        transport=InProcessTransport(app), base_url="http://testserver", follow_redirects=False
    )


@dataclass
class RecordingJobs:
    """A ``JobDispatcher`` that records what the pages start after their commits."""

    calls: list[tuple[str, int | None]] = field(default_factory=list)

    def notifications_queued(self) -> None:
        """BatchList notifications of ended grants."""
        self.calls.append(("notifications", None))

    def batch_requested(self, environment: BatchEnvironment, job_id: int) -> None:
        """Not started by these pages."""
        del environment
        self.calls.append(("batch", job_id))

    def emails_queued(self) -> None:
        """The agreement emails (EM203, EM205)."""
        self.calls.append(("emails", None))

    def report_requested(self, agreement_id: int) -> None:
        """An accepted one-time agreement's report."""
        self.calls.append(("report", agreement_id))

    def names(self) -> list[str]:
        """What was started, in order."""
        return [name for name, _ in self.calls]


@dataclass
class Portal:
    """The app under test and what the tests need around it."""

    client: httpx.Client
    engine: Engine
    party: int
    mailer: RecordingMailer
    jobs: RecordingJobs


@dataclass(frozen=True)
class Invited:
    """An initiated agreement and the token of its emailed links."""

    number: str
    token: str

    @property
    def accept_url(self) -> str:
        """EM201's Accept link."""
        return f"/agreements/invitation/{self.token}/accept"

    @property
    def reject_url(self) -> str:
        """EM201's Reject link."""
        return f"/agreements/invitation/{self.token}/reject"


def initiate(
    engine: Engine, party: int, form: InitiationForm, now: datetime | None = None
) -> list[Invited]:
    """Initiate through the service (at the real clock by default); numbers and tokens."""
    mailer = RecordingMailer()
    with transaction(session_factory(engine)) as session:
        numbers = service(session, mailer, now or utc_now()).initiate(party, None, form)
    return [Invited(number, token) for number, token in zip(numbers, mailer.tokens(), strict=True)]


def status_of(engine: Engine, number: str) -> AgreementStatus:
    """The agreement's stored status."""
    with engine.connect() as connection:
        value = connection.scalar(
            select(EnergyDataAgreement.status).where(EnergyDataAgreement.number == number)
        )
    assert value is not None, number
    return AgreementStatus(str(value))


def customer_of(engine: Engine, number: str) -> int:
    """The id of the customer an agreement names."""
    with engine.connect() as connection:
        value = connection.scalar(
            select(EnergyDataAgreement.retail_customer_id).where(
                EnergyDataAgreement.number == number
            )
        )
    assert value is not None
    return int(value)


def agreement_id(engine: Engine, number: str) -> int:
    """The row id of agreement ``number``."""
    with engine.connect() as connection:
        value = connection.scalar(
            select(EnergyDataAgreement.id).where(EnergyDataAgreement.number == number)
        )
    assert value is not None
    return int(value)


def invitations_used(engine: Engine, number: str) -> list[bool]:
    """Whether each invitation of the agreement was used, oldest first."""
    with engine.connect() as connection:
        rows = connection.scalars(
            select(AgreementInvitation.used_at)
            .join(EnergyDataAgreement, EnergyDataAgreement.id == AgreementInvitation.agreement_id)
            .where(EnergyDataAgreement.number == number)
            .order_by(AgreementInvitation.id)
        )
        return [used is not None for used in rows]


def expire_invitation(engine: Engine, number: str, when: datetime) -> None:
    """Move the agreement's invitation expiry to ``when`` (as if 30 days had passed)."""
    found = agreement_id(engine, number)
    with transaction(session_factory(engine)) as session:
        session.execute(
            update(EnergyDataAgreement)
            .where(EnergyDataAgreement.id == found)
            .values(invitation_expires_at=when)
        )
        session.execute(
            update(AgreementInvitation)
            .where(AgreementInvitation.agreement_id == found)
            .values(expires_at=when)
        )


def billing_zip(engine: Engine, esiid: str) -> str:
    """The billing ZIP of the open account holding ``esiid`` now (from the tables)."""
    with engine.connect() as connection:
        value = connection.scalar(
            select(Account.billing_zip)
            .join(AccountServicePoint, AccountServicePoint.account_id == Account.id)
            .join(ServicePoint, ServicePoint.id == AccountServicePoint.service_point_id)
            .where(ServicePoint.esiid == esiid, AccountServicePoint.move_out.is_(None))
        )
    assert value is not None
    return str(value)


def customer_row(engine: Engine, customer: int) -> RetailCustomer:
    """The stored customer."""
    with session_factory(engine)() as session:
        person = session.get(RetailCustomer, customer)
        assert person is not None
        session.expunge(person)
        return person


def page_csrf(client: httpx.Client, url: str) -> str:
    """The CSRF token on the page at ``url`` (which must answer 200)."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    return form_value(page.text, "csrf")


def sign_in(client: httpx.Client, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form."""
    response = client.post(
        "/login",
        data={
            "csrf": page_csrf(client, "/login"),
            "next": "/portal",
            "username": username,
            "password": password,
        },
    )
    assert response.status_code == 303, response.text


def text_of(page: str, element_id: str) -> str:
    """The text inside the element with ``id`` (tags stripped, whitespace collapsed)."""
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</', page, re.DOTALL)
    assert match, f"no element #{element_id} on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def link_href(page: str, element_id: str) -> str:
    """The ``href`` of the link with ``id``."""
    match = re.search(rf'<a [^>]*id="{re.escape(element_id)}"[^>]*href="([^"]*)"', page)
    assert match, f"no link #{element_id} on the page"
    return html.unescape(match.group(1))
