"""Energy Data Agreements in Chromium, end to end, with a real SMTP server (seed 003).

The third party's agent signs in and initiates a one-time agreement; the invitation (EM201)
arrives at an aiosmtpd server; its Accept link is opened in the browser and answered; the
report is built by the in-process job; the agent sees Complete and downloads the CSV. Also the
reject path (EM205) and the expired-invitation path (BR 8).
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, update

from opencustodian.config import Environment, Settings
from opencustodian.demo.synthetic import DEMO_PASSWORD, seed_utility
from opencustodian.domain.agreements import ThirdPartyRole
from opencustodian.kit.time import utc_now
from opencustodian.profile import load_profile
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import (
    AgreementInvitation,
    EnergyDataAgreement,
    ThirdPartyApplication,
)
from opencustodian.storage.partner_users import add_partner_user
from opencustodian.web.app import create_app
from tests.agreements import UNREGISTERED, meters_of_on
from tests.custodian import SECRET_KEY, register_third_party
from tests.live import free_port, serving

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page
    from sqlalchemy.engine import Engine

    from tests.browser.conftest import Shots
    from tests.mail import ReceivedEmail, SmtpServer

AGENT = "sunny-agent"
COMPANY = "Sunny Solar"
ACCEPT_LINK = re.compile(r"https?://\S+/agreements/invitation/[\w-]+/accept")
REJECT_LINK = re.compile(r"https?://\S+/agreements/invitation/[\w-]+/reject")
MAIL_WAIT_SECONDS = 15.0
CONTACT = "jamie@sunny.example"


@dataclass(frozen=True)
class AgreementApps:
    """The running custodian, its database and the meter the agent will name."""

    custodian: str
    engine: Engine
    esiid: str
    meter: str


@pytest.fixture
def agreement_apps(engine: Engine, smtp_server: SmtpServer) -> Iterator[AgreementApps]:
    """A custodian sending mail to ``smtp_server``, with a third party and its agent."""
    now = utc_now()
    seed_utility(engine, load_profile(), customers=10, seed=7, now=now, history_days=3)
    party = register_third_party(engine, COMPANY)
    with transaction(session_factory(engine)) as session:
        application_id = session.scalar(
            select(ThirdPartyApplication.id).where(
                ThirdPartyApplication.client_id == party.client_id
            )
        )
        assert application_id is not None
        add_partner_user(
            session,
            application_id=application_id,
            username=AGENT,
            password=DEMO_PASSWORD,
            name="Jamie Rivera",
            email="jamie@sunny.example",
            phone="555-0100",
            role=ThirdPartyRole.AGENT,
        )
    port = free_port()
    custodian = f"http://127.0.0.1:{port}"
    settings = Settings(
        environment=Environment.TESTING,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
        base_url=custodian,
        smtp_url=smtp_server.url,
    )
    [(esiid, meter)] = meters_of_on(engine, UNREGISTERED, now.date())[:1]
    with serving(create_app(settings, engine), port):
        yield AgreementApps(custodian, engine, esiid, meter)


def _sign_in_as_agent(page: Page, apps: AgreementApps) -> None:
    page.goto(f"{apps.custodian}/partner/login")
    page.fill("#username", AGENT)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/partner/agreements.*"))


def _initiate(page: Page, apps: AgreementApps, shot: Shots, email: str) -> str:
    """Fill the one-time form for the unregistered customer; the new agreement's number."""
    page.goto(f"{apps.custodian}/partner/agreements/new?kind=one_time")
    page.check("input[name=registered][value=no]")
    page.check("input[name=customer_class][value=residential]")
    for field, value in (
        ("#first_name", "Chika"),
        ("#last_name", "Akin"),
        ("#street", "400 N Olive Street"),
        ("#city", "Sunnyville"),
        ("#state", "TX"),
        ("#zip_code", "75012"),
        ("#email", email),
        ("input[name=esiid_1]", apps.esiid),
        ("input[name=meter_1]", apps.meter),
    ):
        page.fill(field, value)
    page.check("input[name=report_type][value=interval]")
    page.select_option("#report_duration", "1d")
    # FR 4 and FR 5: the company comes from the profile; the contact is prefilled.
    assert page.input_value("#contact_name") == "Jamie Rivera"
    assert COMPANY in page.content()
    page.check("#attest")
    shot("initiate-form")
    page.click("button:has-text('Submit')")
    page.wait_for_selector("#created")
    shot("initiated")
    number = page.get_attribute("#created tbody tr", "data-number")
    assert number
    assert page.inner_text(f"tr[data-number='{number}'] td.status-pending") == "Pending"
    return number


def _arrived(
    smtp_server: SmtpServer, to: str, number: str, subject: str = "invites you"
) -> ReceivedEmail:
    """The first message to ``to`` about ``number`` whose subject holds ``subject`` (≤ 15 s)."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        found = [
            m
            for m in smtp_server.messages
            if m.to == to and number in m.text and subject in m.subject
        ]
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"no message about {number} reached {to}")


def test_agreement_initiated_accepted_from_email_and_report_downloaded(
    page: Page, agreement_apps: AgreementApps, smtp_server: SmtpServer, shot: Shots
) -> None:
    email = "chika@example.net"
    _sign_in_as_agent(page, agreement_apps)
    number = _initiate(page, agreement_apps, shot, email)

    invitation = _arrived(smtp_server, email, number)
    assert agreement_apps.esiid not in invitation.text
    assert agreement_apps.esiid[-7:] in invitation.text
    accept = ACCEPT_LINK.search(invitation.text)
    assert accept

    customer = page.context.browser.new_context()  # type: ignore[union-attr]
    tab = customer.new_page()
    tab.goto(accept.group(0))
    assert COMPANY in tab.content()
    tab.click("#answer")
    tab.wait_for_load_state("load")
    assert "register" in tab.content().lower()  # FR 6: an unregistered customer may register
    tab.screenshot(path=str(shot.directory / "customer-accepted.png"), full_page=True)
    customer.close()

    _arrived(smtp_server, email, number, "You accepted")  # EM203, the customer's copy
    _arrived(smtp_server, CONTACT, number, "accepted by")  # EM203, the third party's notice
    _arrived(smtp_server, CONTACT, number, "report ready")  # EM204

    page.goto(f"{agreement_apps.custodian}/partner/agreements/{number}")
    assert page.inner_text("#status") == "Complete"
    shot("complete")
    with page.expect_download() as download_info:
        page.click("#action-download-report")
    content = download_info.value.path().read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:2] == ["ESIID", "Meter Number"]
    assert 92 <= len(rows) - 1 <= 100  # one local day of 15-minute intervals
    assert {row[0] for row in rows[1:]} == {agreement_apps.esiid}


def test_agreement_rejected_from_email(
    page: Page, agreement_apps: AgreementApps, smtp_server: SmtpServer, shot: Shots
) -> None:
    email = "chika.reject@example.net"
    _sign_in_as_agent(page, agreement_apps)
    number = _initiate(page, agreement_apps, shot, email)
    reject = REJECT_LINK.search(_arrived(smtp_server, email, number).text)
    assert reject

    customer = page.context.browser.new_context()  # type: ignore[union-attr]
    tab = customer.new_page()
    tab.goto(reject.group(0))
    tab.click("#answer")
    tab.wait_for_load_state("load")
    assert "rejected" in tab.content().lower()
    customer.close()

    _arrived(smtp_server, CONTACT, number, "rejected by")  # EM205
    page.goto(f"{agreement_apps.custodian}/partner/agreements/{number}")
    assert page.inner_text("#status") == "Rejected"
    shot("rejected")


def test_expired_invitation_says_so_and_changes_nothing(
    page: Page, agreement_apps: AgreementApps, smtp_server: SmtpServer, shot: Shots
) -> None:
    email = "chika.late@example.net"
    _sign_in_as_agent(page, agreement_apps)
    number = _initiate(page, agreement_apps, shot, email)
    accept = ACCEPT_LINK.search(_arrived(smtp_server, email, number).text)
    assert accept
    # Thirty days pass (BR 4): the invitation's expiry is moved into the past.
    with transaction(session_factory(agreement_apps.engine)) as session:
        session.execute(
            update(EnergyDataAgreement)
            .where(EnergyDataAgreement.number == number)
            .values(invitation_expires_at=utc_now() - timedelta(minutes=1))
        )
        session.execute(
            update(AgreementInvitation).values(expires_at=utc_now() - timedelta(minutes=1))
        )

    customer = page.context.browser.new_context()  # type: ignore[union-attr]
    tab = customer.new_page()
    response = tab.goto(accept.group(0))
    assert response is not None
    assert response.status == 410
    assert "expired" in tab.content().lower()
    assert tab.locator("#answer").count() == 0
    tab.screenshot(path=str(shot.directory / "customer-expired.png"), full_page=True)
    customer.close()

    page.goto(f"{agreement_apps.custodian}/partner/agreements/{number}")
    assert page.inner_text("#status") == "Pending"
