"""Helpers for Energy Data Agreement tests: a seeded utility's meters, forms, a service.

``seed_agreement_utility`` seeds ten customers (``customer0010`` never registered, see
``demo.synthetic.identity.registers``) and registers one third party; ``meters_of`` finds a
customer's current ESIID/meter pairs straight from the tables, not through the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from opencustodian.demo.synthetic import seed_utility
from opencustodian.domain.agreements import (
    AgreementKind,
    AgreementTerms,
    AgreementView,
    CustomerClass,
    CustomerDetails,
    OngoingTerm,
    ReportDuration,
    ReportType,
    ThirdPartyContact,
)
from opencustodian.jobs.work import lifecycle_for
from opencustodian.profile import load_profile
from opencustodian.services.agreements import AgreementService, InitiationForm
from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Meter,
    RetailCustomer,
    ServicePoint,
    ThirdPartyApplication,
)
from tests.custodian import SECRET_KEY, register_third_party

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

#: The synthetic utility's "now" for agreement tests, and the base URL links are built on.
AGREEMENT_SEED_NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
BASE_URL = "https://custodian.example"
UNREGISTERED = "customer0010"


@dataclass
class RecordingMailer:
    """An ``AgreementMailer`` that keeps what it was asked to send (rule tests need no SMTP)."""

    sent: list[tuple[str, AgreementView, str | None]] = field(default_factory=list)

    def invitation(self, agreement: AgreementView, link_token: str, *, resend: bool) -> None:
        """Keep EM201/EM202 with its token."""
        self.sent.append(("EM202" if resend else "EM201", agreement, link_token))

    def accepted(self, agreement: AgreementView) -> None:
        """Keep EM203."""
        self.sent.append(("EM203", agreement, None))

    def rejected(self, agreement: AgreementView) -> None:
        """Keep EM205."""
        self.sent.append(("EM205", agreement, None))

    def report_completed(self, agreement: AgreementView) -> None:
        """Keep EM204."""
        self.sent.append(("EM204", agreement, None))

    def tokens(self) -> list[str]:
        """Every invitation token sent, oldest first."""
        return [token for _, _, token in self.sent if token]


def seed_agreement_utility(engine: Engine, days: int = 2) -> int:
    """Ten customers with ``days`` of readings and one third party; the party's id."""
    seed_utility(
        engine, load_profile(), customers=10, seed=7, now=AGREEMENT_SEED_NOW, history_days=days
    )
    party = register_third_party(engine, "Sunny Solar")
    with engine.connect() as connection:
        found = connection.scalar(
            select(ThirdPartyApplication.id).where(
                ThirdPartyApplication.client_id == party.client_id
            )
        )
    assert found is not None
    return int(found)


def meters_of(engine: Engine, login: str) -> list[tuple[str, str]]:
    """The customer's (ESIID, meter number) pairs held on the seed day, from the tables."""
    return meters_of_on(engine, login, AGREEMENT_SEED_NOW.date())


def meters_of_on(engine: Engine, login: str, today: date) -> list[tuple[str, str]]:
    """The (ESIID, meter number) pairs ``login`` holds on ``today`` (``UNREGISTERED``: the
    customers without a login), straight from the tables."""
    statement = (
        select(ServicePoint.esiid, Meter.meter_number)
        .join(Meter, Meter.service_point_id == ServicePoint.id)
        .join(AccountServicePoint, AccountServicePoint.service_point_id == ServicePoint.id)
        .join(Account, Account.id == AccountServicePoint.account_id)
        .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
        .where(ServicePoint.esiid.is_not(None), Meter.removed_on.is_(None))
        .where(or_(AccountServicePoint.move_out.is_(None), AccountServicePoint.move_out > today))
        .where(AccountServicePoint.move_in <= today)
        .order_by(ServicePoint.id)
    )
    if login == UNREGISTERED:
        statement = statement.where(RetailCustomer.username.is_(None))
    else:
        statement = statement.where(RetailCustomer.username == login)
    with engine.connect() as connection:
        return [(str(esiid), str(meter)) for esiid, meter in connection.execute(statement)]


def customer_email(engine: Engine, username: str) -> str:
    """The email on file of a registered customer."""
    with engine.connect() as connection:
        email = connection.scalar(
            select(RetailCustomer.email).where(RetailCustomer.username == username)
        )
    assert email is not None
    return str(email)


def service(
    session: Session, mailer: RecordingMailer, now: datetime = AGREEMENT_SEED_NOW
) -> AgreementService:
    """The agreement use cases over ``session`` with a recording mailer."""
    return AgreementService(
        SqlAgreementStore(session),
        mailer,
        lifecycle_for(BASE_URL)(session),
        key=SECRET_KEY,
        zone=load_profile().time_zone,
        now=now,
    )


CONTACT = ThirdPartyContact("ignored", "Jamie Rivera", "555-0100", "jamie@sunny.example")
ONE_TIME = AgreementTerms(
    AgreementKind.ONE_TIME, ReportType.DAILY, ReportDuration.ONE_MONTH, comments="Solar sizing"
)
ONGOING = AgreementTerms(AgreementKind.ONGOING, term=OngoingTerm.ONE_YEAR)


def unregistered_details(**overrides: object) -> CustomerDetails:
    """A filled customer block for a customer who is not registered."""
    values: dict[str, object] = {
        "first_name": "Chika",
        "last_name": "Akin",
        "street": "400 N Olive Street",
        "city": "Sunnyville",
        "state": "TX",
        "zip_code": "75012",
        "email": "chika@example.net",
        "phone": "555-0123",
        **overrides,
    }
    return CustomerDetails(**values)  # type: ignore[arg-type]


def unregistered_form(
    rows: list[tuple[str, str]],
    terms: AgreementTerms = ONE_TIME,
    customer_class: CustomerClass = CustomerClass.RESIDENTIAL,
    **details: object,
) -> InitiationForm:
    """The initiation form for a customer who is not registered."""
    return InitiationForm(
        registered=False,
        customer_class=customer_class,
        customer_email="",
        rows=rows,
        contact=CONTACT,
        terms=terms,
        customer=unregistered_details(**details),
    )


def registered_form(
    rows: list[tuple[str, str]], email: str, terms: AgreementTerms = ONE_TIME
) -> InitiationForm:
    """The initiation form for a registered customer (FR 2: the email only)."""
    return InitiationForm(
        registered=True,
        customer_class=CustomerClass.RESIDENTIAL,
        customer_email=email,
        rows=rows,
        contact=CONTACT,
        terms=terms,
    )
