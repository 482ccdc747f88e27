"""What the mail tests share: an agreement to write about, settings, queueing and reading rows."""

from __future__ import annotations

import dataclasses
import re
import secrets
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from opencustodian.config import Environment, Settings
from opencustodian.domain.agreements import (
    AgreementKind,
    AgreementStatus,
    AgreementView,
    CustomerClass,
    CustomerDetails,
    OngoingTerm,
    ReportDuration,
    ReportType,
)
from opencustodian.kit.time import utc_now
from opencustodian.services.agreement_mail import OutboxAgreementMailer
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.mail import SqlMailOutbox
from opencustodian.storage.models import OutgoingEmail

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

KEY = "test-secret-key-for-mail-tests"
UTILITY = "Lone Star Power & Light"
BASE_URL = "https://custodian.example"
ZONE = ZoneInfo("America/Chicago")
SENDER = "Lone Star Power <no-reply@custodian.example>"
ESIID = "10443720007574303"
MASKED_ESIID = "**********7574303"
CUSTOMER_EMAIL = "chika.akin@example.com"
PARTY_EMAIL = "james.wilson@greenenergy.example"
#: Noon in Chicago (CDT) on the 30-day expiry of an invitation issued 2026-05-01.
EXPIRES_AT = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)
EXPIRES_TEXT = "05/31/2026 at 12:00 PM CDT"


def one_time_view(**changes: Any) -> AgreementView:
    """A pending one-time agreement as seed 003's View & Edit page shows it."""
    view = AgreementView(
        number="102512000233",
        kind=AgreementKind.ONE_TIME,
        status=AgreementStatus.PENDING,
        company_name="Green Energy Services",
        privacy_policy_uri="https://greenenergy.example/privacy",
        contact_name="James Wilson",
        contact_phone="244-322-5454",
        contact_email=PARTY_EMAIL,
        customer=CustomerDetails(
            first_name="Chika",
            last_name="Akin",
            street="400 N Olive Street",
            city="Sunnyville",
            state="TX",
            zip_code="75012",
            email=CUSTOMER_EMAIL,
            middle_initial="B",
            phone="000-000-0000",
        ),
        customer_class=CustomerClass.RESIDENTIAL,
        customer_registered=True,
        esiid=ESIID,
        meter_number="104051941",
        created_at=datetime(2026, 5, 1, 17, 0, tzinfo=UTC),
        invitation_expires_at=EXPIRES_AT,
        report_type=ReportType.DAILY,
        report_duration=ReportDuration.THREE_MONTHS,
        comments="Quote for a 6 kW rooftop system.",
    )
    return dataclasses.replace(view, **changes)


def ongoing_view(**changes: Any) -> AgreementView:
    """A pending ongoing agreement for one year."""
    base = one_time_view(
        kind=AgreementKind.ONGOING,
        report_type=None,
        report_duration=None,
        term=OngoingTerm.ONE_YEAR,
    )
    return dataclasses.replace(base, **changes)


def active_ongoing_view(**changes: Any) -> AgreementView:
    """An ongoing agreement accepted on 2026-05-02 for a year."""
    values: dict[str, Any] = {
        "status": AgreementStatus.ACTIVE,
        "start_date": date(2026, 5, 2),
        "end_date": date(2027, 5, 2),
    }
    return ongoing_view(**(values | changes))


def new_token() -> str:
    """An invitation link token like the agreement service makes."""
    return secrets.token_urlsafe(32)


def mail_settings(smtp_url: str | None, **changes: Any) -> Settings:
    """Testing settings sending through ``smtp_url`` (None: mail is held)."""
    values: dict[str, Any] = {
        "environment": Environment.TESTING,
        "secret_key": KEY,
        "smtp_url": smtp_url,
        "mail_from": SENDER,
    }
    return Settings(**(values | changes))


def queue(engine: Engine, write: Callable[[OutboxAgreementMailer], None], *, hold: bool) -> None:
    """Queue emails with the real mailer in one committed transaction."""
    with transaction(session_factory(engine)) as session:
        mailer = OutboxAgreementMailer(
            SqlMailOutbox(session),
            utility_name=UTILITY,
            base_url=BASE_URL,
            zone=ZONE,
            server_key=KEY,
            hold=hold,
        )
        write(mailer)


def rows(engine: Engine) -> list[OutgoingEmail]:
    """Every outbox row, oldest first."""
    with session_factory(engine)() as session:
        return list(session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))


def make_due(engine: Engine) -> None:
    """Bring every pending message's next attempt to now (instead of waiting for the retry)."""
    with transaction(session_factory(engine)) as session:
        session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.status == "pending")
            .values(next_attempt_at=utc_now())
        )


def links(html: str) -> list[str]:
    """Every ``href`` of an HTML body, unescaped."""
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]*)"', html)]


def accept_url(token: str) -> str:
    return f"{BASE_URL}/agreements/invitation/{token}/accept"


def reject_url(token: str) -> str:
    return f"{BASE_URL}/agreements/invitation/{token}/reject"
