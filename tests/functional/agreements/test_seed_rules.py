"""Seed 003's business and functional rules, one test each, through the agreement service.

Each test is named after the rule it shows. The pages' own behaviour for the screen rules
(FR 1, 4, 5, 6, 10, 15, 16 on the forms and buttons) is tested again with the pages in
tests/functional/partner and tests/functional/agreements_customer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from opencustodian.domain.agreements import (
    COMBINATION_NOT_VALID,
    PAIR_NOT_VALID,
    AgreementEvent,
    AgreementKind,
    AgreementRuleError,
    AgreementStatus,
    AgreementTerms,
    CustomerClass,
    InvitationOutcome,
    Language,
    Permission,
    ThirdPartyRole,
    allowed_actions,
)
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import (
    AgreementInvitation,
    AgreementReport,
    EnergyDataAgreement,
    Grant,
    ThirdPartyApplication,
)
from tests.agreements import (
    AGREEMENT_SEED_NOW,
    ONE_TIME,
    ONGOING,
    UNREGISTERED,
    RecordingMailer,
    customer_email,
    meters_of,
    registered_form,
    seed_agreement_utility,
    service,
    unregistered_form,
)
from tests.custodian import register_third_party

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Engine

    from opencustodian.services.agreements import InitiationForm


@pytest.fixture
def party(engine: Engine) -> int:
    """A seeded utility and the registered third party's id."""
    return seed_agreement_utility(engine)


def _initiate(
    engine: Engine,
    party: int,
    form: InitiationForm,
    mailer: RecordingMailer,
    now: datetime = AGREEMENT_SEED_NOW,
) -> list[str]:
    with transaction(session_factory(engine)) as session:
        return service(session, mailer, now).initiate(party, None, form)


def _status(engine: Engine, number: str) -> AgreementStatus:
    with engine.connect() as connection:
        value = connection.scalar(
            select(EnergyDataAgreement.status).where(EnergyDataAgreement.number == number)
        )
    return AgreementStatus(str(value))


def _count(engine: Engine, table: type[object]) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def _answer(
    engine: Engine, token: str, *, accept: bool, now: datetime = AGREEMENT_SEED_NOW
) -> InvitationOutcome:
    with transaction(session_factory(engine)) as session:
        outcome, _view = service(session, RecordingMailer(), now).answer_invitation(
            token, accept=accept
        )
    return outcome


def _expire(engine: Engine, now: datetime) -> int:
    with transaction(session_factory(engine)) as session:
        return service(session, RecordingMailer(), now).expire_invitations()


def test_br4_an_invitation_unanswered_for_30_days_becomes_not_accepted(
    engine: Engine, party: int
) -> None:
    mailer = RecordingMailer()
    [number] = _initiate(engine, party, _form(engine), mailer)

    assert _expire(engine, AGREEMENT_SEED_NOW + timedelta(days=29, hours=23)) == 0
    assert _status(engine, number) is AgreementStatus.PENDING
    assert _expire(engine, AGREEMENT_SEED_NOW + timedelta(days=30)) == 1
    assert _status(engine, number) is AgreementStatus.NOT_ACCEPTED


def test_br6_a_not_accepted_agreement_cannot_be_revived(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    [number] = _initiate(engine, party, _form(engine), mailer)
    late = AGREEMENT_SEED_NOW + timedelta(days=31)
    _expire(engine, late)

    assert _answer(engine, mailer.tokens()[0], accept=True, now=late) is InvitationOutcome.EXPIRED
    with transaction(session_factory(engine)) as session, pytest.raises(AgreementRuleError):
        service(session, RecordingMailer(), late).resend(party, number)
    for event in AgreementEvent:
        with pytest.raises(AgreementRuleError, match="cannot be revived"):
            AgreementStatus.NOT_ACCEPTED.after(event, AgreementKind.ONE_TIME)
    assert _status(engine, number) is AgreementStatus.NOT_ACCEPTED


def test_br7_a_completed_agreement_cannot_be_revived(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    [number] = _initiate(engine, party, _form(engine), mailer)
    assert _answer(engine, mailer.tokens()[0], accept=True) is InvitationOutcome.OPEN
    assert _status(engine, number) is AgreementStatus.COMPLETE

    assert _answer(engine, mailer.tokens()[0], accept=False) is InvitationOutcome.STATUS_CHANGED
    for event in AgreementEvent:
        with pytest.raises(AgreementRuleError, match="Complete and cannot be revived"):
            AgreementStatus.COMPLETE.after(event, AgreementKind.ONE_TIME)
    with transaction(session_factory(engine)) as session, pytest.raises(AgreementRuleError):
        service(session, RecordingMailer()).terminate_for_party(party, number)
    assert _status(engine, number) is AgreementStatus.COMPLETE


def test_br8_answering_after_30_days_says_the_invitation_expired(
    engine: Engine, party: int
) -> None:
    mailer = RecordingMailer()
    [number] = _initiate(engine, party, _form(engine), mailer)
    late = AGREEMENT_SEED_NOW + timedelta(days=30, minutes=1)

    # Before the daily job ran, and after it: the same answer, and nothing changes.
    assert _answer(engine, mailer.tokens()[0], accept=True, now=late) is InvitationOutcome.EXPIRED
    assert _status(engine, number) is AgreementStatus.PENDING
    _expire(engine, late)
    assert _answer(engine, mailer.tokens()[0], accept=False, now=late) is InvitationOutcome.EXPIRED
    assert _status(engine, number) is AgreementStatus.NOT_ACCEPTED
    assert "expired" in InvitationOutcome.EXPIRED.message


def test_br10_three_one_time_agreements_per_esiid_per_year(engine: Engine, party: int) -> None:
    rows = _rows(engine)
    mailer = RecordingMailer()
    for day in range(3):
        _initiate(engine, party, _form(engine), mailer, AGREEMENT_SEED_NOW + timedelta(days=day))
    before = _count(engine, EnergyDataAgreement)

    fourth = AGREEMENT_SEED_NOW + timedelta(days=100)
    with pytest.raises(AgreementRuleError, match="up to three One-Time") as refused:
        _initiate(engine, party, _form(engine), mailer, fourth)
    assert "11/01/2027" in str(refused.value)  # the first one leaves the year then
    assert rows[0][0][-7:] in str(refused.value)
    assert _count(engine, EnergyDataAgreement) == before
    # An ongoing agreement is not counted; a year after the first, a one-time one is possible.
    _initiate(engine, party, _form(engine, terms=ONGOING), mailer, fourth)
    _initiate(engine, party, _form(engine), mailer, AGREEMENT_SEED_NOW + timedelta(days=365))


def test_br10_counts_per_third_party(engine: Engine, party: int) -> None:
    other = seed_other_party(engine)
    mailer = RecordingMailer()
    for day in range(3):
        _initiate(engine, party, _form(engine), mailer, AGREEMENT_SEED_NOW + timedelta(days=day))
    assert _initiate(engine, other, _form(engine), mailer)


def test_fr1_language_preference_only_for_non_registered_residential(
    engine: Engine, party: int
) -> None:
    mailer = RecordingMailer()
    [number] = _initiate(engine, party, _form(engine, language=Language.SPANISH), mailer)
    assert mailer.sent[0][1].customer.language is Language.SPANISH

    with pytest.raises(AgreementRuleError, match="only of residential customers"):
        _initiate(
            engine,
            party,
            _form(engine, customer_class=CustomerClass.BUSINESS, language=Language.SPANISH),
            mailer,
        )
    assert _status(engine, number) is AgreementStatus.PENDING
    assert _count(engine, EnergyDataAgreement) == 1


def test_fr2_a_registered_customer_needs_only_an_email(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    email = customer_email(engine, "customer0002")
    form = registered_form(meters_of(engine, "customer0002")[:1], email.upper())

    _initiate(engine, party, form, mailer)

    view = mailer.sent[0][1]
    assert view.customer.email == email
    assert view.customer.first_name
    assert view.customer.last_name
    assert view.customer.street
    assert view.customer_registered


def test_fr3_an_unknown_or_mismatched_pair_is_refused_with_the_seed_message(
    engine: Engine, party: int
) -> None:
    [(esiid, meter)] = _rows(engine)
    [(other_esiid, other_meter)] = meters_of(engine, "customer0002")[:1]
    for rows in ([("10443720000000000", meter)], [(esiid, "999999999")], [(esiid, other_meter)]):
        with pytest.raises(AgreementRuleError) as refused:
            _initiate(engine, party, unregistered_form(rows), RecordingMailer())
        assert refused.value.message == PAIR_NOT_VALID[0]
        assert refused.value.reasons == PAIR_NOT_VALID[1:]
    # Not registered, but the pair belongs to a registered customer's account.
    with pytest.raises(AgreementRuleError, match="registered customer"):
        _initiate(engine, party, unregistered_form([(other_esiid, other_meter)]), RecordingMailer())
    assert _count(engine, EnergyDataAgreement) == 0


def test_fr3_a_registered_customer_pair_and_email_must_match(engine: Engine, party: int) -> None:
    rows = meters_of(engine, "customer0002")[:1]
    email_of_another = customer_email(engine, "customer0003")
    for email, rows_given in (
        (email_of_another, rows),
        ("nobody@example.net", rows),
        (customer_email(engine, "customer0002"), _rows(engine)),  # an unregistered holder's pair
    ):
        with pytest.raises(AgreementRuleError) as refused:
            _initiate(engine, party, registered_form(rows_given, email), RecordingMailer())
        assert refused.value.message == COMBINATION_NOT_VALID
    assert _count(engine, EnergyDataAgreement) == 0


def test_fr4_the_company_name_comes_from_the_company_profile(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    _initiate(engine, party, _form(engine), mailer)  # the form's contact says "ignored"
    assert mailer.sent[0][1].company_name == "Sunny Solar"


def test_fr5_contact_name_phone_and_email_are_taken_as_given(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    _initiate(engine, party, _form(engine), mailer)
    view = mailer.sent[0][1]
    assert (view.contact_name, view.contact_phone, view.contact_email) == (
        "Jamie Rivera",
        "555-0100",
        "jamie@sunny.example",
    )


def test_fr6_the_agreement_remembers_whether_the_customer_is_residential_or_business(
    engine: Engine, party: int
) -> None:
    mailer = RecordingMailer()
    _initiate(engine, party, _form(engine, customer_class=CustomerClass.BUSINESS), mailer)
    view = mailer.sent[0][1]
    assert view.customer_class is CustomerClass.BUSINESS
    assert not view.customer_registered


def test_fr10_only_permitted_actions_are_active() -> None:
    viewer = ThirdPartyRole.VIEWER.permissions
    agent = ThirdPartyRole.AGENT.permissions
    admin = ThirdPartyRole.ADMINISTRATOR.permissions
    pending, active = AgreementStatus.PENDING, AgreementStatus.ACTIVE
    ongoing = AgreementKind.ONGOING

    assert Permission.RESEND not in allowed_actions(pending, ongoing, viewer)
    assert Permission.RESEND in allowed_actions(pending, ongoing, agent)
    assert Permission.TERMINATE not in allowed_actions(active, ongoing, agent)
    assert Permission.TERMINATE in allowed_actions(active, ongoing, admin)
    assert allowed_actions(active, ongoing, viewer) == {Permission.VIEW}


def test_fr12_one_agreement_per_meter(engine: Engine, party: int) -> None:
    rows = meters_of(engine, "customer0001")
    email = customer_email(engine, "customer0001")
    assert len(rows) >= 2, "customer0001 holds several service points"
    mailer = RecordingMailer()

    numbers = _initiate(engine, party, registered_form(rows[:3], email), mailer)

    assert len(numbers) == len(rows[:3]) == len(set(numbers))
    assert [view.meter_number for _, view, _ in mailer.sent] == [meter for _, meter in rows[:3]]
    assert len(set(mailer.tokens())) == len(numbers)
    with pytest.raises(AgreementRuleError, match="At most 3"):
        _initiate(engine, party, registered_form([*rows[:1], *[("A1", "B1")] * 3], email), mailer)


def test_fr13_the_agreements_page_refuses_an_answer_after_30_days(
    engine: Engine, party: int
) -> None:
    mailer = RecordingMailer()
    email = customer_email(engine, "customer0002")
    [number] = _initiate(
        engine, party, registered_form(meters_of(engine, "customer0002")[:1], email), mailer
    )
    customer = _customer_of(engine, number)
    late = AGREEMENT_SEED_NOW + timedelta(days=30)
    with (
        transaction(session_factory(engine)) as session,
        pytest.raises(AgreementRuleError, match="expired"),
    ):
        service(session, RecordingMailer(), late).answer_as_customer(customer, number, accept=True)
    assert _answer(engine, mailer.tokens()[0], accept=True, now=late) is InvitationOutcome.EXPIRED
    assert _status(engine, number) is AgreementStatus.PENDING


def test_fr14_a_status_change_voids_the_emailed_links(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    email = customer_email(engine, "customer0002")
    [number] = _initiate(
        engine,
        party,
        registered_form(meters_of(engine, "customer0002")[:1], email, ONGOING),
        mailer,
    )
    with transaction(session_factory(engine)) as session:
        service(session, RecordingMailer()).answer_as_customer(
            _customer_of(engine, number), number, accept=True
        )
    assert _status(engine, number) is AgreementStatus.ACTIVE

    outcome = _answer(engine, mailer.tokens()[0], accept=False)
    assert outcome is InvitationOutcome.STATUS_CHANGED
    assert "3rd Party Agreements" in outcome.message
    assert _status(engine, number) is AgreementStatus.ACTIVE


def test_fr14_an_extension_invitation_is_voided_by_termination(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    [number] = _initiate(engine, party, _form(engine, terms=ONGOING), mailer)
    assert _answer(engine, mailer.tokens()[0], accept=True) is InvitationOutcome.OPEN
    with transaction(session_factory(engine)) as session:
        service(session, mailer).request_extension(party, number, ONGOING.term)  # type: ignore[arg-type]
    assert _status(engine, number) is AgreementStatus.EXTENSION_PENDING
    with transaction(session_factory(engine)) as session:
        service(session, RecordingMailer()).terminate_for_party(party, number)

    extension_token = mailer.tokens()[-1]
    assert _answer(engine, extension_token, accept=True) is InvitationOutcome.STATUS_CHANGED
    assert _status(engine, number) is AgreementStatus.TERMINATED


def test_fr15_the_agreement_keeps_what_registration_prefills(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    _initiate(engine, party, _form(engine, language=Language.SPANISH), mailer)
    view = mailer.sent[0][1]
    assert (view.customer.first_name, view.customer.last_name) == ("Chika", "Akin")
    assert view.customer.language is Language.SPANISH
    assert (view.esiid, view.meter_number) == _rows(engine)[0]


def test_fr16_resend_only_while_pending(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    [number] = _initiate(engine, party, _form(engine), mailer)
    with transaction(session_factory(engine)) as session:
        service(session, mailer).resend(party, number)
    assert [template for template, _, _ in mailer.sent] == ["EM201", "EM202"]
    # Both emails' links work; the invitation keeps its expiry date.
    assert mailer.sent[0][1].invitation_expires_at == mailer.sent[1][1].invitation_expires_at
    assert _answer(engine, mailer.tokens()[1], accept=False) is InvitationOutcome.OPEN

    with (
        transaction(session_factory(engine)) as session,
        pytest.raises(AgreementRuleError, match="only while the agreement is Pending"),
    ):
        service(session, mailer).resend(party, number)
    assert len(mailer.sent) == 2  # no third invitation went out


def test_accepting_one_time_queues_its_report_and_ongoing_opens_a_grant(
    engine: Engine, party: int
) -> None:
    mailer = RecordingMailer()
    _initiate(engine, party, _form(engine), mailer)
    email = customer_email(engine, "customer0002")
    [ongoing] = _initiate(
        engine,
        party,
        registered_form(meters_of(engine, "customer0002")[:1], email, ONGOING),
        mailer,
    )
    for token in mailer.tokens():
        assert _answer(engine, token, accept=True) is InvitationOutcome.OPEN

    with engine.connect() as connection:
        report = connection.execute(select(AgreementReport)).one()
        grant = connection.execute(select(Grant)).one()
    assert (report.period_start.isoformat(), report.period_end.isoformat()) == (
        "2026-10-01",
        "2026-11-01",
    )
    assert grant.status == "active"
    assert grant.application_id == party
    assert _status(engine, ongoing) is AgreementStatus.ACTIVE
    with transaction(session_factory(engine)) as session:
        service(session, RecordingMailer()).terminate_for_party(party, ongoing)
    with engine.connect() as connection:
        ended = connection.execute(select(Grant.status, Grant.end_reason)).one()
    assert tuple(ended) == ("revoked", "third_party_revoked")


def test_invitation_tokens_are_stored_only_as_hashes(engine: Engine, party: int) -> None:
    mailer = RecordingMailer()
    _initiate(engine, party, _form(engine), mailer)
    with engine.connect() as connection:
        stored = connection.scalar(select(AgreementInvitation.token_hash))
    assert stored
    assert mailer.tokens()[0] not in str(stored)
    assert _answer(engine, mailer.tokens()[0] + "x", accept=True) is InvitationOutcome.UNKNOWN


def _rows(engine: Engine) -> list[tuple[str, str]]:
    return meters_of(engine, UNREGISTERED)[:1]


def _form(
    engine: Engine,
    *,
    terms: AgreementTerms = ONE_TIME,
    customer_class: CustomerClass = CustomerClass.RESIDENTIAL,
    language: Language | None = None,
) -> InitiationForm:
    return unregistered_form(_rows(engine), terms, customer_class, language=language)


def _customer_of(engine: Engine, number: str) -> int:
    with engine.connect() as connection:
        found = connection.scalar(
            select(EnergyDataAgreement.retail_customer_id).where(
                EnergyDataAgreement.number == number
            )
        )
    assert found is not None
    return int(found)


def seed_other_party(engine: Engine) -> int:
    """A second registered third party's id."""
    other = register_third_party(engine, "Other Energy")
    with engine.connect() as connection:
        found = connection.scalar(
            select(ThirdPartyApplication.id).where(
                ThirdPartyApplication.client_id == other.client_id
            )
        )
    assert found is not None
    return int(found)
