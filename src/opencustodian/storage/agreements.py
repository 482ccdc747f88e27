"""Energy Data Agreements in the database (seed 003): agreements, invitations, their lookups.

Status changes are conditional updates (``WHERE status = <the status the rule saw>``), so two
answers racing for one agreement — a customer clicking Accept in the email while the third
party terminates, or two workers expiring invitations — cannot both win.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select, update

from opencustodian.domain.agreements import (
    AgreementKind,
    AgreementSearch,
    AgreementState,
    AgreementStatus,
    AgreementView,
    CustomerClass,
    CustomerDetails,
    InvitationFacts,
    Language,
    MeterHolder,
    NewAgreement,
    OngoingTerm,
    ReportDuration,
    ReportType,
    SearchCriterion,
    SearchTerm,
)
from opencustodian.domain.consent import GrantStatus
from opencustodian.storage.consent import ServicePointChoice, SqlConsentStore, current_tenure
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AgreementInvitation,
    AgreementReport,
    AuditEvent,
    EnergyDataAgreement,
    Grant,
    Meter,
    RetailCustomer,
    ServiceLocation,
    ServicePoint,
    ThirdPartyApplication,
)

if TYPE_CHECKING:
    from datetime import date, datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

#: An agreement's columns that a status change may set besides the status.
CHANGEABLE = frozenset(
    {"start_date", "end_date", "proposed_end_date", "grant_id", "ended_by", "invitation_expires_at"}
)


class SqlAgreementStore:
    """The agreement repository for one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        """Work inside ``session``; the caller commits."""
        self._session = session

    # -- validation lookups (FR 2, FR 3, BR 10) ----------------------------------------------

    def meter_holder(self, esiid: str, meter_number: str, today: date) -> MeterHolder | None:
        """The open account holding the ESIID's service point today, if the meter is there now.

        ESIIDs and meter numbers compare case-blind (customers read them off bills and meters).
        """
        row = self._session.execute(
            select(ServicePoint, Meter, Account, RetailCustomer, ServiceLocation)
            .join(Meter, Meter.service_point_id == ServicePoint.id)
            .join(AccountServicePoint, AccountServicePoint.service_point_id == ServicePoint.id)
            .join(Account, Account.id == AccountServicePoint.account_id)
            .join(RetailCustomer, RetailCustomer.id == Account.customer_id)
            .outerjoin(ServiceLocation, ServiceLocation.id == ServicePoint.service_location_id)
            .where(func.upper(ServicePoint.esiid) == esiid.upper())
            .where(func.upper(Meter.meter_number) == meter_number.upper())
            .where(Meter.installed_on <= today)
            .where(or_(Meter.removed_on.is_(None), Meter.removed_on > today))
            .where(Account.status == "active", current_tenure(today))
        ).first()
        if row is None:
            return None
        point, meter, account, person, location = row
        return MeterHolder(
            service_point_id=point.id,
            meter_id=meter.id,
            esiid=point.esiid or esiid,
            meter_number=meter.meter_number,
            account_id=account.id,
            customer_id=person.id,
            registered=person.registered,
            customer=_details(person, location),
            is_business=person.is_business,
        )

    def one_time_created_since(
        self, application_id: int, esiid: str, since: datetime
    ) -> list[datetime]:
        """When the party's one-time agreements for ``esiid`` since ``since`` were initiated."""
        return list(
            self._session.scalars(
                select(EnergyDataAgreement.created_at)
                .where(
                    EnergyDataAgreement.application_id == application_id,
                    EnergyDataAgreement.esiid == esiid,
                    EnergyDataAgreement.kind == AgreementKind.ONE_TIME.value,
                    EnergyDataAgreement.created_at > since,
                )
                .order_by(EnergyDataAgreement.created_at)
            )
        )

    def company(self, application_id: int) -> tuple[str, str | None]:
        """FR 4: the company name (from its profile) and its privacy-policy link."""
        application = self._session.get(ThirdPartyApplication, application_id)
        if application is None:
            msg = f"no third party {application_id}"
            raise LookupError(msg)
        return application.name, application.privacy_policy_uri

    def number_taken(self, number: str) -> bool:
        """Whether an agreement already has ``number``."""
        found = self._session.scalar(
            select(EnergyDataAgreement.id).where(EnergyDataAgreement.number == number)
        )
        return found is not None

    # -- writing ------------------------------------------------------------------------------

    def add(self, new: NewAgreement) -> int:
        """Insert a Pending agreement; returns its id."""
        details, terms = new.customer, new.terms
        row = EnergyDataAgreement(
            uuid=uuid.uuid4(),
            number=new.number,
            kind=terms.kind.value,
            status=AgreementStatus.PENDING.value,
            application_id=new.application_id,
            initiated_by=new.initiated_by,
            service_point_id=new.holder.service_point_id,
            meter_id=new.holder.meter_id,
            esiid=new.holder.esiid,
            meter_number=new.holder.meter_number,
            retail_customer_id=new.holder.customer_id,
            account_id=new.holder.account_id,
            customer_registered=new.registered,
            customer_class=new.customer_class.value,
            first_name=details.first_name,
            middle_initial=details.middle_initial,
            last_name=details.last_name,
            title=details.title,
            company_name=details.company_name,
            street=details.street,
            city=details.city,
            state=details.state,
            zip_code=details.zip_code,
            phone=details.phone,
            email=details.email,
            language=details.language.value if details.language else None,
            contact_name=new.contact.contact_name,
            contact_phone=new.contact.phone,
            contact_email=new.contact.email,
            report_type=terms.report_type.value if terms.report_type else None,
            report_duration=terms.report_duration.value if terms.report_duration else None,
            term_months=int(terms.term.value) if terms.term else None,
            comments=terms.comments,
            created_at=new.created_at,
            status_changed_at=new.created_at,
            invitation_expires_at=new.invitation_expires_at,
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def add_invitation(
        self,
        agreement_id: int,
        token_hash: str,
        issued_for: AgreementStatus,
        issued_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Keep a new invitation token's hash."""
        self._session.add(
            AgreementInvitation(
                agreement_id=agreement_id,
                token_hash=token_hash,
                issued_for=issued_for.value,
                issued_at=issued_at,
                expires_at=expires_at,
            )
        )

    def invitation(self, token_hash: str) -> InvitationFacts | None:
        """The invitation whose token hashes to ``token_hash``, with its agreement's status."""
        row = self._session.execute(
            select(AgreementInvitation, EnergyDataAgreement.status)
            .join(EnergyDataAgreement, EnergyDataAgreement.id == AgreementInvitation.agreement_id)
            .where(AgreementInvitation.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        invitation, status = row
        return InvitationFacts(
            agreement_id=invitation.agreement_id,
            issued_for=AgreementStatus(invitation.issued_for),
            expires_at=invitation.expires_at,
            used=invitation.used_at is not None,
            current=AgreementStatus(status),
        )

    def use_invitations(self, agreement_id: int, now: datetime) -> None:
        """Mark every open invitation of the agreement used: one answer voids all its links."""
        self._session.execute(
            update(AgreementInvitation)
            .where(
                AgreementInvitation.agreement_id == agreement_id,
                AgreementInvitation.used_at.is_(None),
            )
            .values(used_at=now)
        )

    def change_status(
        self,
        agreement_id: int,
        seen: AgreementStatus,
        status: AgreementStatus,
        now: datetime,
        **fields: object,
    ) -> bool:
        """Move the agreement from ``seen`` to ``status``; False when it had moved meanwhile."""
        unknown = set(fields) - CHANGEABLE
        if unknown:
            msg = f"not changeable with a status: {sorted(unknown)}"
            raise ValueError(msg)
        result = self._session.execute(
            update(EnergyDataAgreement)
            .where(EnergyDataAgreement.id == agreement_id, EnergyDataAgreement.status == seen.value)
            .values(status=status.value, status_changed_at=now, **fields)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def add_report(self, agreement_id: int, start: date, end: date, now: datetime) -> None:
        """Queue the one-time report of an accepted agreement (built by a job)."""
        self._session.add(
            AgreementReport(
                agreement_id=agreement_id, period_start=start, period_end=end, created_at=now
            )
        )

    def open_grant(
        self, state: AgreementState, scope: str, start: datetime, end: datetime, now: datetime
    ) -> int:
        """An active consent-engine grant for the agreement's service point (ongoing access)."""
        consent = SqlConsentStore(self._session)
        choice = ServicePointChoice(state.service_point_id, state.account_id, "", "", "")
        grant = consent.create_customer_grant(
            application_id=state.application_id,
            customer_id=state.customer_id,
            scope=scope,
            choices=[choice],
            authorized_end=end,
            now=now,
        )
        grant.authorized_start = start
        grant.status = GrantStatus.ACTIVE.value
        self._session.flush()
        return grant.id

    def attach_grant(self, agreement_id: int, grant_id: int) -> None:
        """Record the grant an accepted ongoing agreement opened."""
        self._session.execute(
            update(EnergyDataAgreement)
            .where(EnergyDataAgreement.id == agreement_id)
            .values(grant_id=grant_id)
            .execution_options(synchronize_session=False)
        )

    def extend_grant(self, grant_id: int, end: datetime, now: datetime) -> None:
        """Move an agreement grant's end (an accepted extension)."""
        grant = self._session.get(Grant, grant_id)
        if grant is not None:
            grant.authorized_end = end
            grant.updated_at = now

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Audit one agreement event in this transaction."""
        SqlConsentStore(self._session).record_event(tag, subject, data, actor)

    # -- reading ------------------------------------------------------------------------------

    def state(self, agreement_id: int) -> AgreementState | None:
        """The rule-relevant facts of one agreement."""
        row = self._session.get(EnergyDataAgreement, agreement_id)
        return _state(row) if row else None

    def state_by_number(self, number: str) -> AgreementState | None:
        """The agreement with ``number``."""
        row = self._session.scalar(
            select(EnergyDataAgreement).where(EnergyDataAgreement.number == number)
        )
        return _state(row) if row else None

    def view(self, agreement_id: int) -> AgreementView:
        """Everything pages and emails print about the agreement."""
        row = self._session.execute(
            select(EnergyDataAgreement, ThirdPartyApplication)
            .join(
                ThirdPartyApplication,
                ThirdPartyApplication.id == EnergyDataAgreement.application_id,
            )
            .where(EnergyDataAgreement.id == agreement_id)
        ).one()
        return _view(*row)

    def views(
        self,
        *,
        application_id: int | None = None,
        customer_id: int | None = None,
        search: AgreementSearch | None = None,
        limit: int | None = None,
    ) -> list[AgreementView]:
        """Agreements of a third party or of a customer (optionally searched), newest first."""
        statement = select(EnergyDataAgreement, ThirdPartyApplication).join(
            ThirdPartyApplication, ThirdPartyApplication.id == EnergyDataAgreement.application_id
        )
        if application_id is not None:
            statement = statement.where(EnergyDataAgreement.application_id == application_id)
        if customer_id is not None:
            statement = statement.where(EnergyDataAgreement.retail_customer_id == customer_id)
        if search is not None:
            statement = statement.where(_search_clause(search))
        statement = statement.order_by(
            EnergyDataAgreement.created_at.desc(), EnergyDataAgreement.id.desc()
        )
        if limit is not None:
            statement = statement.limit(limit)
        return [
            _view(agreement, application)
            for agreement, application in self._session.execute(statement)
        ]

    def count(self, application_id: int) -> int:
        """How many agreements the third party has (the list view holds up to 25)."""
        return int(
            self._session.scalar(
                select(func.count())
                .select_from(EnergyDataAgreement)
                .where(EnergyDataAgreement.application_id == application_id)
            )
            or 0
        )

    def awaiting_past(self, now: datetime) -> list[int]:
        """BR 4: agreements whose invitation is unanswered and 30 days old."""
        return list(
            self._session.scalars(
                select(EnergyDataAgreement.id)
                .where(
                    EnergyDataAgreement.status.in_(
                        [AgreementStatus.PENDING.value, AgreementStatus.EXTENSION_PENDING.value]
                    ),
                    EnergyDataAgreement.invitation_expires_at <= now,
                )
                .order_by(EnergyDataAgreement.id)
            )
        )

    def ongoing_past_end(self, today: date) -> list[int]:
        """Open ongoing agreements whose end date has come."""
        return list(
            self._session.scalars(
                select(EnergyDataAgreement.id)
                .where(
                    EnergyDataAgreement.status.in_(
                        [AgreementStatus.ACTIVE.value, AgreementStatus.EXTENSION_PENDING.value]
                    ),
                    EnergyDataAgreement.end_date <= today,
                )
                .order_by(EnergyDataAgreement.id)
            )
        )

    def event_count(self, subject: str) -> int:
        """How many audit events name ``subject`` (tests and the admin page read it)."""
        return int(
            self._session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.subject == subject)
            )
            or 0
        )


_SEARCH_COLUMNS = {
    SearchCriterion.AGREEMENT_NUMBER: EnergyDataAgreement.number,
    SearchCriterion.LAST_NAME: EnergyDataAgreement.last_name,
    SearchCriterion.ESIID: EnergyDataAgreement.esiid,
    SearchCriterion.METER_NUMBER: EnergyDataAgreement.meter_number,
}


def _search_clause(search: AgreementSearch) -> ColumnElement[bool]:
    """Any item matches: exact, or as a prefix for a trailing ``*`` (case-blind).

    HAN devices are not agreement subjects here (this custodian offers energy data
    agreements only), so a HAN MAC address search finds nothing.
    """
    column = _SEARCH_COLUMNS.get(search.criterion)
    if column is None:
        return and_(EnergyDataAgreement.id.is_(None), EnergyDataAgreement.id.is_not(None))
    folded = func.lower(column)
    return or_(*(_term_clause(folded, term) for term in search.terms))


def _term_clause(folded: ColumnElement[str], term: SearchTerm) -> ColumnElement[bool]:
    wanted = term.text.lower()
    if not term.prefix:
        return folded == wanted
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return folded.like(f"{escaped}%", escape="\\")


def _details(person: RetailCustomer, location: ServiceLocation | None) -> CustomerDetails:
    return CustomerDetails(
        first_name=person.first_name,
        last_name=person.last_name,
        street=location.street if location else "",
        city=location.city if location else "",
        state=location.state if location else "",
        zip_code=location.zip_code if location else "",
        email=person.email,
        phone=person.phone or "",
        language=Language(person.language) if person.language else None,
    )


def _state(row: EnergyDataAgreement) -> AgreementState:
    return AgreementState(
        agreement_id=row.id,
        number=row.number,
        kind=AgreementKind(row.kind),
        status=AgreementStatus(row.status),
        application_id=row.application_id,
        customer_id=row.retail_customer_id,
        service_point_id=row.service_point_id,
        account_id=row.account_id,
        grant_id=row.grant_id,
        term=OngoingTerm(str(row.term_months)) if row.term_months else None,
        report_duration=ReportDuration(row.report_duration) if row.report_duration else None,
        end_date=row.end_date,
        proposed_end_date=row.proposed_end_date,
    )


def _view(row: EnergyDataAgreement, application: ThirdPartyApplication) -> AgreementView:
    return AgreementView(
        number=row.number,
        kind=AgreementKind(row.kind),
        status=AgreementStatus(row.status),
        company_name=application.name,
        privacy_policy_uri=application.privacy_policy_uri,
        contact_name=row.contact_name,
        contact_phone=row.contact_phone,
        contact_email=row.contact_email,
        customer=CustomerDetails(
            first_name=row.first_name,
            last_name=row.last_name,
            street=row.street,
            city=row.city,
            state=row.state,
            zip_code=row.zip_code,
            email=row.email,
            middle_initial=row.middle_initial,
            title=row.title,
            company_name=row.company_name,
            phone=row.phone,
            language=Language(row.language) if row.language else None,
        ),
        customer_class=CustomerClass(row.customer_class),
        customer_registered=row.customer_registered,
        esiid=row.esiid,
        meter_number=row.meter_number,
        created_at=row.created_at,
        invitation_expires_at=row.invitation_expires_at,
        report_type=ReportType(row.report_type) if row.report_type else None,
        report_duration=ReportDuration(row.report_duration) if row.report_duration else None,
        term=OngoingTerm(str(row.term_months)) if row.term_months else None,
        comments=row.comments,
        start_date=row.start_date,
        end_date=row.end_date,
        proposed_end_date=row.proposed_end_date,
    )
