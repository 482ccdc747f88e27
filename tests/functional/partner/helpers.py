"""Steps the third-party portal tests share: sign-in, forms, agreements made through the service.

Agreements the tests start from are created through ``AgreementService`` (the code the pages
call), and read back straight from the tables, not through the pages under test.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select, update

from opencustodian.kit.time import utc_now
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import (
    AgreementReport,
    EnergyDataAgreement,
    ThirdPartyApplication,
)
from tests.agreements import (
    UNREGISTERED,
    RecordingMailer,
    meters_of,
    service,
    unregistered_form,
)
from tests.custodian import form_value

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Engine

    from opencustodian.domain.agreements import AgreementTerms
    from opencustodian.jobs.batches import BatchEnvironment
    from opencustodian.services.agreements import InitiationForm
    from tests.custodian import ThirdParty

PASSWORD = "portal-password-1"


@dataclass
class RecordingJobs:
    """A job dispatcher that records what the pages started after their commits."""

    notifications: int = 0
    emails: int = 0
    reports: list[int] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)

    def notifications_queued(self) -> None:
        self.notifications += 1

    def batch_requested(self, environment: BatchEnvironment, job_id: int) -> None:
        del environment
        self.batches.append(job_id)

    def emails_queued(self) -> None:
        self.emails += 1

    def report_requested(self, agreement_id: int) -> None:
        self.reports.append(agreement_id)


@dataclass
class Portal:
    """The seeded custodian, its two third parties and a browser on the app."""

    engine: Engine
    client: httpx.Client
    sunny: ThirdParty
    other: ThirdParty
    sunny_id: int
    other_id: int
    mailer: RecordingMailer
    jobs: RecordingJobs
    browsers: ExitStack = field(default_factory=ExitStack)

    def browser(self, username: str | None = None) -> httpx.Client:
        """A new browser (its own cookies), signed in as ``username`` when given."""
        client = self.browsers.enter_context(
            httpx.Client(base_url=self.client.base_url, follow_redirects=False, timeout=30)
        )
        if username is not None:
            sign_in(client, username)
        return client


def application_id(engine: Engine, client_id: str) -> int:
    """The stored id of the application with ``client_id``."""
    with engine.connect() as connection:
        found = connection.scalar(
            select(ThirdPartyApplication.id).where(ThirdPartyApplication.client_id == client_id)
        )
    assert found is not None
    return int(found)


def csrf_of(client: httpx.Client, url: str) -> str:
    """The CSRF token on the page at ``url``."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    return form_value(page.text, "csrf")


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> None:
    """Sign in through the portal's form."""
    response = client.post(
        "/partner/login",
        data={
            "csrf": csrf_of(client, "/partner/login"),
            "username": username,
            "password": password,
            "next": "/partner/agreements",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/partner/agreements"


def post_form(client: httpx.Client, url: str, data: dict[str, Any], page: str) -> Any:
    """POST ``data`` to ``url`` with the CSRF token of the page at ``page``."""
    return client.post(url, data={"csrf": csrf_of(client, page), **data})


def initiate(
    portal: Portal, form: InitiationForm, company: int | None = None, now: datetime | None = None
) -> list[str]:
    """Create agreements through the service (committed); their numbers."""
    with transaction(session_factory(portal.engine)) as session:
        return service(session, portal.mailer, now or utc_now()).initiate(
            company or portal.sunny_id, None, form
        )


def unregistered_agreement(
    portal: Portal, terms: AgreementTerms | None = None, company: int | None = None
) -> str:
    """One agreement for ``customer0010`` (not registered), first meter; its number."""
    pair = meters_of(portal.engine, UNREGISTERED)[0]
    form = unregistered_form([pair]) if terms is None else unregistered_form([pair], terms)
    (number,) = initiate(portal, form, company)
    return number


def answer(portal: Portal, *, accept: bool, invitation: int = -1) -> None:
    """The customer answers an invitation the mailer holds (by default the latest)."""
    token = portal.mailer.tokens()[invitation]
    with transaction(session_factory(portal.engine)) as session:
        service(session, portal.mailer, utc_now()).answer_invitation(token, accept=accept)


def agreement_count(engine: Engine, company: int | None = None) -> int:
    """How many agreements are stored (of ``company``, when given)."""
    statement = select(func.count()).select_from(EnergyDataAgreement)
    if company is not None:
        statement = statement.where(EnergyDataAgreement.application_id == company)
    with engine.connect() as connection:
        return int(connection.scalar(statement) or 0)


def status_of(engine: Engine, number: str) -> str:
    """The stored status of agreement ``number``."""
    with engine.connect() as connection:
        status = connection.scalar(
            select(EnergyDataAgreement.status).where(EnergyDataAgreement.number == number)
        )
    assert status is not None
    return str(status)


def set_report(engine: Engine, number: str, status: str, content: bytes | None = None) -> None:
    """Put the agreement's report in ``status`` (as the report job would)."""
    with engine.begin() as connection:
        agreement = connection.scalar(
            select(EnergyDataAgreement.id).where(EnergyDataAgreement.number == number)
        )
        connection.execute(
            update(AgreementReport)
            .where(AgreementReport.agreement_id == agreement)
            .values(
                status=status,
                content=content,
                file_name=f"agreement-{number}-daily.csv" if content else None,
            )
        )


def client_token(portal: Portal, party: ThirdParty) -> str:
    """The party's client-credentials access token."""
    response = portal.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "FB=35_67;"},
        auth=(party.client_id, party.client_secret),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
