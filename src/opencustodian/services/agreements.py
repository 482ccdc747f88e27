"""Energy Data Agreements, the use cases (seed 003): initiate, invite, answer, end.

Every entry point — the third party's pages and API, the customer's emailed links and
agreements page, the daily job — calls this module, which validates everything before it
writes anything (a refused request changes nothing), moves statuses only through
``AgreementStatus.after`` and queues the seed's emails in the same transaction as the change.

An accepted ongoing agreement becomes an active grant in the consent engine, so the third
party reads that meter through the Green Button and CDS APIs like any other grant (Bulk and
CDS query tokens); terminating the agreement ends the grant at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opencustodian.domain.agreements import (
    COMBINATION_NOT_VALID,
    ONE_TIME_LIMIT_WINDOW,
    ONE_TIME_PER_ESIID_PER_YEAR,
    PAIR_NOT_VALID,
    PAIR_OF_REGISTERED_CUSTOMER,
    AgreementEvent,
    AgreementKind,
    AgreementNotFoundError,
    AgreementRuleError,
    AgreementState,
    AgreementStatus,
    AgreementTerms,
    AgreementView,
    CustomerClass,
    CustomerDetails,
    InvitationOutcome,
    MeterHolder,
    MeterPair,
    NewAgreement,
    OngoingTerm,
    StatusChangedError,
    ThirdPartyContact,
    check_contact,
    check_customer_details,
    check_email,
    invitation_expiry,
    invitation_outcome,
    meter_pairs,
    one_time_limit_message,
    one_time_limit_reached,
)
from opencustodian.domain.consent import EndReason
from opencustodian.domain.events import EventTag
from opencustodian.kit.time import local_midnight, require_aware
from opencustodian.kit.tokens import hash_secret
from opencustodian.services.agreement_reports import report_period

if TYPE_CHECKING:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.ports import AgreementMailer, AgreementStore
    from opencustodian.services.consent import GrantLifecycle

#: What an accepted ongoing agreement shares (seed 003's education text: "service address,
#: meter number, Electric Service Identifier (ESIID), and 15-minute electricity usage data"):
#: ESPI common and interval electricity blocks, service location and meter, a year back.
AGREEMENT_SCOPE = (
    "FB=1_3_4_5_51_53_58_60;IntervalDuration=900;BlockDuration=Daily;HistoryLength=31536000;"
)
TOKEN_BYTES = 32
NUMBER_DIGITS = 12


@dataclass(frozen=True, slots=True)
class InitiationForm:
    """The third party's "Initiate … Energy Data Agreement" form, as typed.

    ``customer`` is None for a registered customer (FR 2: only the email is asked for).
    """

    registered: bool
    customer_class: CustomerClass
    customer_email: str
    rows: list[tuple[str, str]]
    contact: ThirdPartyContact
    terms: AgreementTerms
    customer: CustomerDetails | None = None


@dataclass
class Effects:
    """What a unit of work left for after its commit: mail to send, reports to build."""

    emails: int = 0
    reports: list[int] = field(default_factory=list)


class AgreementService:
    """The agreement use cases for one transaction."""

    def __init__(  # noqa: PLR0913 - one unit of work needs these collaborators
        self,
        store: AgreementStore,
        mailer: AgreementMailer,
        lifecycle: GrantLifecycle,
        *,
        key: str,
        zone: ZoneInfo,
        now: datetime,
    ) -> None:
        """Work through ``store``; tokens are hashed with ``key``; days are in ``zone``."""
        self._store = store
        self._mailer = mailer
        self._lifecycle = lifecycle
        self._key = key
        self._zone = zone
        self._now = require_aware(now)
        self.effects = Effects()

    @property
    def grants_ended(self) -> bool:
        """Whether this unit of work ended a grant (BatchList notifications await delivery)."""
        return self._lifecycle.ended_any

    @property
    def today(self) -> date:
        """The utility's local date now."""
        return self._now.astimezone(self._zone).date()

    # -- the third party -------------------------------------------------------------------

    def initiate(self, application_id: int, user_id: int | None, form: InitiationForm) -> list[str]:
        """Create one Pending agreement per meter (FR 12) and email each invitation (EM201).

        Everything is validated first (FR 1–5, BR 10), so a refused form writes nothing.
        """
        pairs = meter_pairs(form.rows)
        company, _policy = self._store.company(application_id)
        contact = check_contact(
            ThirdPartyContact(
                company, form.contact.contact_name, form.contact.phone, form.contact.email
            )
        )
        holders, customer, customer_class = self._validated_customer(form, pairs)
        if form.terms.kind is AgreementKind.ONE_TIME:
            for holder in holders:
                self._check_one_time_limit(application_id, holder.esiid)
        numbers = []
        for holder in holders:
            new = NewAgreement(
                number=self._new_number(),
                application_id=application_id,
                initiated_by=user_id,
                holder=holder,
                registered=form.registered,
                customer_class=customer_class,
                customer=customer,
                contact=contact,
                terms=form.terms,
                created_at=self._now,
                invitation_expires_at=invitation_expiry(self._now),
            )
            agreement_id = self._store.add(new)
            self._invite(agreement_id, AgreementStatus.PENDING, new.invitation_expires_at)
            self._audit(EventTag.AGREEMENT_INITIATED, new.number, f"third-party-user:{user_id}")
            numbers.append(new.number)
        return numbers

    def _validated_customer(
        self, form: InitiationForm, pairs: list[MeterPair]
    ) -> tuple[list[MeterHolder], CustomerDetails, CustomerClass]:
        """FR 2, FR 3: the meters' holders and the customer block the agreements will carry."""
        if form.registered:
            email = check_email(form.customer_email, "Customer Email Address")
            holders = [self._registered_holder(pair, email) for pair in pairs]
            first = holders[0]
            # FR 2: the customer's block comes from the records, not from the third party.
            details = first.customer
            kind = CustomerClass.BUSINESS if first.is_business else CustomerClass.RESIDENTIAL
            return holders, details, kind
        if form.customer is None:
            msg = "Customer Information is required for a customer who is not registered."
            raise AgreementRuleError(msg)
        details = check_customer_details(form.customer, form.customer_class)
        return [self._unregistered_holder(pair) for pair in pairs], details, form.customer_class

    def _registered_holder(self, pair: MeterPair, email: str) -> MeterHolder:
        """FR 3: the pair must be valid and belong to the registered customer with ``email``."""
        holder = self._store.meter_holder(pair.esiid, pair.meter_number, self.today)
        if holder is None:
            raise AgreementRuleError(PAIR_NOT_VALID[0], reasons=PAIR_NOT_VALID[1:])
        if not holder.registered or holder.customer.email.lower() != email:
            raise AgreementRuleError(COMBINATION_NOT_VALID)
        return holder

    def _unregistered_holder(self, pair: MeterPair) -> MeterHolder:
        """FR 3: the pair must be valid and not belong to a registered customer's account."""
        holder = self._store.meter_holder(pair.esiid, pair.meter_number, self.today)
        if holder is None:
            raise AgreementRuleError(PAIR_NOT_VALID[0], reasons=PAIR_NOT_VALID[1:])
        if holder.registered:
            raise AgreementRuleError(PAIR_OF_REGISTERED_CUSTOMER)
        return holder

    def _check_one_time_limit(self, application_id: int, esiid: str) -> None:
        """BR 10: at most three one-time agreements per ESIID per third party per year."""
        since = self._now - ONE_TIME_LIMIT_WINDOW
        created = self._store.one_time_created_since(application_id, esiid, since)
        if one_time_limit_reached(len(created)):
            oldest_counted = created[len(created) - ONE_TIME_PER_ESIID_PER_YEAR]
            frees_at = require_aware(oldest_counted) + ONE_TIME_LIMIT_WINDOW
            next_day = frees_at.astimezone(self._zone).date()
            raise AgreementRuleError(one_time_limit_message(esiid, next_day))

    def resend(self, application_id: int, number: str) -> None:
        """EM202: mail the invitation again; FR 16: only while Pending and not yet lapsed."""
        state = self._owned_by_party(application_id, number)
        if state.status is not AgreementStatus.PENDING:
            msg = (
                "Resend Email is possible only while the agreement is Pending "
                f"(it is {state.status.label})."
            )
            raise AgreementRuleError(msg)
        view = self._store.view(state.agreement_id)
        if self._now >= require_aware(view.invitation_expires_at):
            msg = "The invitation has expired (30 days): initiate a new agreement."
            raise AgreementRuleError(msg)
        self._invite(
            state.agreement_id, AgreementStatus.PENDING, view.invitation_expires_at, resend=True
        )
        self._audit(EventTag.AGREEMENT_RESENT, number, f"application:{application_id}")

    def terminate_for_party(self, application_id: int, number: str) -> None:
        """The third party ends its Active agreement; its data access stops at once."""
        state = self._owned_by_party(application_id, number)
        self._terminate(state, EndReason.THIRD_PARTY_REVOKED, f"application:{application_id}")

    def request_extension(self, application_id: int, number: str, term: OngoingTerm) -> None:
        """Ask the customer to extend an Active ongoing agreement by ``term``."""
        state = self._owned_by_party(application_id, number)
        if state.kind is not AgreementKind.ONGOING or state.end_date is None:
            msg = "Only an Active ongoing agreement can be extended."
            raise AgreementRuleError(msg)
        target = state.status.after(AgreementEvent.REQUEST_EXTENSION, state.kind)
        expires = invitation_expiry(self._now)
        self._move(
            state,
            target,
            proposed_end_date=term.end_after(state.end_date),
            invitation_expires_at=expires,
        )
        self._invite(state.agreement_id, target, expires)
        self._audit(EventTag.AGREEMENT_EXTENSION_REQUESTED, number, f"application:{application_id}")

    def _owned_by_party(self, application_id: int, number: str) -> AgreementState:
        state = self._store.state_by_number(number)
        if state is None or state.application_id != application_id:
            raise AgreementNotFoundError(number)
        return state

    # -- the customer -----------------------------------------------------------------------

    def open_invitation(self, token: str) -> tuple[InvitationOutcome, AgreementView | None]:
        """What an invitation link shows: the agreement, or why it can no longer be answered."""
        facts = self._store.invitation(hash_secret(token, self._key)) if token else None
        if facts is None:
            return InvitationOutcome.UNKNOWN, None
        outcome = invitation_outcome(
            issued_for=facts.issued_for,
            current=facts.current,
            expires_at=facts.expires_at,
            used=facts.used,
            now=self._now,
        )
        return outcome, self._store.view(facts.agreement_id)

    def answer_invitation(
        self, token: str, *, accept: bool
    ) -> tuple[InvitationOutcome, AgreementView | None]:
        """Accept or reject from the email's link (BR 8, FR 13, FR 14 when it may not)."""
        outcome, _view = self.open_invitation(token)
        if outcome is not InvitationOutcome.OPEN:
            return outcome, _view
        facts = self._store.invitation(hash_secret(token, self._key))
        assert facts is not None  # noqa: S101 - open_invitation just found it
        state = self._store.state(facts.agreement_id)
        assert state is not None  # noqa: S101 - the invitation's agreement exists
        try:
            self._decide(state, accept=accept, actor="customer:invitation-link")
        except StatusChangedError:
            return InvitationOutcome.STATUS_CHANGED, self._store.view(state.agreement_id)
        return outcome, self._store.view(state.agreement_id)

    def answer_as_customer(self, customer_id: int, number: str, *, accept: bool) -> None:
        """Accept or reject on the customer's own agreements page."""
        state = self._owned_by_customer(customer_id, number)
        view = self._store.view(state.agreement_id)
        if state.status.awaits_customer and self._now >= require_aware(view.invitation_expires_at):
            raise AgreementRuleError(InvitationOutcome.EXPIRED.message)
        self._decide(state, accept=accept, actor=f"customer:{customer_id}")

    def terminate_for_customer(self, customer_id: int, number: str) -> None:
        """The customer ends an Active agreement from the agreements page."""
        state = self._owned_by_customer(customer_id, number)
        self._terminate(state, EndReason.CUSTOMER_REVOKED, f"customer:{customer_id}")

    def _owned_by_customer(self, customer_id: int, number: str) -> AgreementState:
        state = self._store.state_by_number(number)
        if state is None or state.customer_id != customer_id:
            raise AgreementNotFoundError(number)
        return state

    # -- the daily job ----------------------------------------------------------------------

    def expire_invitations(self) -> int:
        """BR 4: unanswered invitations lapse after 30 days; returns how many did."""
        lapsed = 0
        for agreement_id in self._store.awaiting_past(self._now):
            state = self._store.state(agreement_id)
            if state is None or not state.status.awaits_customer:
                continue
            target = state.status.after(AgreementEvent.INVITATION_LAPSED, state.kind)
            if self._store.change_status(
                agreement_id, state.status, target, self._now, proposed_end_date=None
            ):
                self._store.use_invitations(agreement_id, self._now)
                self._audit(EventTag.AGREEMENT_NOT_ACCEPTED, state.number, "system")
                lapsed += 1
        return lapsed

    def end_finished_terms(self) -> int:
        """Ongoing agreements whose end date came become Expired; their grants end."""
        ended = 0
        for agreement_id in self._store.ongoing_past_end(self.today):
            state = self._store.state(agreement_id)
            if state is None or not state.status.opens_data:
                continue
            target = state.status.after(AgreementEvent.END_DATE_REACHED, state.kind)
            if self._store.change_status(agreement_id, state.status, target, self._now):
                self._store.use_invitations(agreement_id, self._now)
                self._end_grant(state, EndReason.EXPIRED, "system")
                self._audit(EventTag.AGREEMENT_EXPIRED, state.number, "system")
                ended += 1
        return ended

    # -- shared steps -------------------------------------------------------------------------

    def _decide(self, state: AgreementState, *, accept: bool, actor: str) -> None:
        event = AgreementEvent.ACCEPT if accept else AgreementEvent.REJECT
        target = state.status.after(event, state.kind)
        extension = state.status is AgreementStatus.EXTENSION_PENDING
        if extension:
            self._answer_extension(state, target, accept=accept)
        elif not accept:
            self._move(state, target)
        elif state.kind is AgreementKind.ONE_TIME:
            self._accept_one_time(state, target)
        else:
            self._accept_ongoing(state, target)
        self._store.use_invitations(state.agreement_id, self._now)
        tag = (
            EventTag.AGREEMENT_EXTENSION_ANSWERED
            if extension
            else (EventTag.AGREEMENT_ACCEPTED if accept else EventTag.AGREEMENT_REJECTED)
        )
        self._audit(tag, state.number, actor, accepted=accept)
        view = self._store.view(state.agreement_id)
        if accept:
            self._mailer.accepted(view)
            self.effects.emails += 2
        else:
            self._mailer.rejected(view)
            self.effects.emails += 1

    def _accept_one_time(self, state: AgreementState, target: AgreementStatus) -> None:
        """The report covers the chosen duration of whole days before acceptance."""
        assert state.report_duration is not None  # noqa: S101 - one-time agreements have one
        self._move(state, target, start_date=self.today)
        start, end = report_period(state.report_duration, self.today)
        self._store.add_report(state.agreement_id, start, end, self._now)
        self.effects.reports.append(state.agreement_id)

    def _accept_ongoing(self, state: AgreementState, target: AgreementStatus) -> None:
        """An active grant for the meter, from now until the term's end date."""
        assert state.term is not None  # noqa: S101 - ongoing agreements have a term
        end_date = state.term.end_after(self.today)
        # The status moves first: a lost race raises before any grant exists.
        self._move(state, target, start_date=self.today, end_date=end_date)
        grant_id = self._store.open_grant(
            state, AGREEMENT_SCOPE, self._now, local_midnight(end_date, self._zone), self._now
        )
        self._store.attach_grant(state.agreement_id, grant_id)

    def _answer_extension(
        self, state: AgreementState, target: AgreementStatus, *, accept: bool
    ) -> None:
        if accept and state.proposed_end_date is not None:
            self._move(state, target, end_date=state.proposed_end_date, proposed_end_date=None)
            if state.grant_id is not None:
                end = local_midnight(state.proposed_end_date, self._zone)
                self._store.extend_grant(state.grant_id, end, self._now)
        else:
            self._move(state, target, proposed_end_date=None)

    def _terminate(self, state: AgreementState, reason: EndReason, actor: str) -> None:
        target = state.status.after(AgreementEvent.TERMINATE, state.kind)
        self._move(state, target, ended_by=actor.split(":", 1)[0], proposed_end_date=None)
        self._store.use_invitations(state.agreement_id, self._now)
        self._end_grant(state, reason, actor)
        self._audit(EventTag.AGREEMENT_TERMINATED, state.number, actor)

    def _end_grant(self, state: AgreementState, reason: EndReason, actor: str) -> None:
        if state.grant_id is not None:
            self._lifecycle.end([state.grant_id], reason, self._now, actor=actor)

    def _move(self, state: AgreementState, target: AgreementStatus, **fields: object) -> None:
        if not self._store.change_status(
            state.agreement_id, state.status, target, self._now, **fields
        ):
            raise StatusChangedError(InvitationOutcome.STATUS_CHANGED.message)

    def _invite(
        self,
        agreement_id: int,
        issued_for: AgreementStatus,
        expires_at: datetime,
        *,
        resend: bool = False,
    ) -> None:
        """A fresh single-use link token (kept only as a hash) and the invitation email."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._store.add_invitation(
            agreement_id, hash_secret(token, self._key), issued_for, self._now, expires_at
        )
        self._mailer.invitation(self._store.view(agreement_id), token, resend=resend)
        self.effects.emails += 1

    def _new_number(self) -> str:
        """A random 12-digit agreement number (not guessable from its neighbours)."""
        while True:
            number = str(
                secrets.randbelow(9 * 10 ** (NUMBER_DIGITS - 1)) + 10 ** (NUMBER_DIGITS - 1)
            )
            if not self._store.number_taken(number):
                return number

    def _audit(self, tag: EventTag, number: str, actor: str, **data: object) -> None:
        self._store.record_event(tag.value, f"agreement:{number}", dict(data), actor)
