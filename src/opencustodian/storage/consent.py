"""Grants, authorization codes and tokens in the database (the consent engine's storage).

Codes and tokens are found by the keyed hash of the presented value (``kit.tokens``); nothing
here ever sees one in the clear. The caller owns the transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import and_, bindparam, func, insert, or_, select, update

from opencustodian.domain.consent import (
    AccessRecord,
    EndedGrant,
    EndReason,
    GrantKind,
    GrantStatus,
)
from opencustodian.domain.parties import ApplicationStatus
from opencustodian.kit.time import utc_now
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AuditEvent,
    AuthorizationCode,
    Base,
    Grant,
    GrantServicePoint,
    OAuthToken,
    ServiceLocation,
    ServicePoint,
    ThirdPartyApplication,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import date, datetime

    from sqlalchemy import ColumnElement, Row
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class ServicePointChoice:
    """A service point a customer may share, as the consent page lists it."""

    service_point_id: int
    account_id: int
    account_number: str
    commodity: str
    address: str
    #: The service point's durable number (ESIID; CDS ``servicepoint_number``), if it has one.
    number: str | None = None


@dataclass(frozen=True, slots=True)
class NewToken:
    """Hashes and lifetimes of a token pair about to be stored."""

    access_hash: str
    refresh_hash: str | None
    scope: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class GrantFacts:
    """The columns of a grant that issuing a token needs (read without the ORM)."""

    id: int
    uuid: UUID
    subscription_uuid: UUID
    application_id: int
    kind: str
    scope: str
    status: str
    authorized_end: datetime | None


@dataclass(frozen=True, slots=True)
class RefreshFacts:
    """A stored token pair found by its refresh-token hash, with its grant."""

    id: int
    scope: str
    refresh_token_hash: str | None
    rotated_at: datetime | None
    revoked_at: datetime | None
    refresh_expires_at: datetime | None
    grant: GrantFacts


# The refresh path runs these on every token call, so they are built once and executed as
# Core statements on the session's connection: building and coercing a statement per call,
# and the ORM's per-execution bookkeeping, cost more than the database work itself.
_TOKENS = Base.metadata.tables[OAuthToken.__tablename__]
_GRANTS = Base.metadata.tables[Grant.__tablename__]
_APPLICATIONS = Base.metadata.tables[ThirdPartyApplication.__tablename__]
_GRANT_FACT_COLUMNS = [
    _GRANTS.c[name] for name in ("uuid", "subscription_uuid", "application_id", "kind", "status")
] + [
    _GRANTS.c.id.label("grant_id"),
    _GRANTS.c.scope.label("grant_scope"),
    _GRANTS.c.authorized_end,
]
_REFRESH_LOOKUP = (
    select(
        _TOKENS.c.id,
        _TOKENS.c.scope,
        _TOKENS.c.refresh_token_hash,
        _TOKENS.c.rotated_at,
        _TOKENS.c.revoked_at,
        _TOKENS.c.refresh_expires_at,
        *_GRANT_FACT_COLUMNS,
    )
    .join_from(_TOKENS, _GRANTS, _GRANTS.c.id == _TOKENS.c.grant_id)
    .where(_TOKENS.c.refresh_token_hash == bindparam("refresh_hash"))
)
_CLAIM_REFRESH = (
    update(_TOKENS)
    .where(_TOKENS.c.id == bindparam("token_id"), _TOKENS.c.rotated_at.is_(None))
    .values(rotated_at=bindparam("claimed_at"), revoked_at=bindparam("revoked_now"))
)
_INSERT_TOKEN = insert(_TOKENS)
_INSERT_EVENT = insert(Base.metadata.tables[AuditEvent.__tablename__])
_CLIENT_LOOKUP = select(
    *(
        _APPLICATIONS.c[name]
        for name in (
            "id",
            "uuid",
            "client_id",
            "name",
            "client_secret_hash",
            "token_endpoint_auth_method",
            "redirect_uris",
            "scopes",
            "status",
        )
    )
).where(_APPLICATIONS.c.client_id == bindparam("client_id"))


def current_tenure(today: date) -> ColumnElement[bool]:
    """SQL condition: the account holds the service point on ``today``."""
    return and_(
        AccountServicePoint.move_in <= today,
        or_(AccountServicePoint.move_out.is_(None), AccountServicePoint.move_out > today),
    )


class SqlConsentStore:
    """Grants, codes and tokens over one session."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    # -- applications -------------------------------------------------------------------------

    def application_by_client_id(self, client_id: str) -> ThirdPartyApplication | None:
        """The application registered under ``client_id``."""
        return self._session.scalar(
            select(ThirdPartyApplication).where(ThirdPartyApplication.client_id == client_id)
        )

    def client_fields(self, client_id: str) -> Row[Any] | None:
        """The columns an OAuth client is built from, for a client id (token hot path)."""
        return self._session.connection().execute(_CLIENT_LOOKUP, {"client_id": client_id}).first()

    def application_by_uuid(self, application_uuid: uuid.UUID) -> ThirdPartyApplication | None:
        """The application with ApplicationInformation id ``application_uuid``."""
        return self._session.scalar(
            select(ThirdPartyApplication).where(ThirdPartyApplication.uuid == application_uuid)
        )

    # -- what a customer may share ------------------------------------------------------------

    def shareable_service_points(
        self, customer_id: int, today: date, account_id: int | None = None
    ) -> list[ServicePointChoice]:
        """Service points the customer's open accounts hold today (optionally one account)."""
        statement = (
            select(
                ServicePoint.id,
                Account.id,
                Account.account_number,
                ServicePoint.commodity,
                ServiceLocation.street,
                ServiceLocation.city,
                ServicePoint.esiid,
            )
            .join(AccountServicePoint, AccountServicePoint.service_point_id == ServicePoint.id)
            .join(Account, Account.id == AccountServicePoint.account_id)
            .outerjoin(ServiceLocation, ServiceLocation.id == ServicePoint.service_location_id)
            .where(Account.customer_id == customer_id, Account.status == "active")
            .where(current_tenure(today))
            .order_by(Account.account_number, ServicePoint.id)
        )
        if account_id is not None:
            statement = statement.where(Account.id == account_id)
        return [
            ServicePointChoice(sp_id, acct_id, number, commodity, _address(street, city), esiid)
            for sp_id, acct_id, number, commodity, street, city, esiid in self._session.execute(
                statement
            )
        ]

    # -- grants and codes ---------------------------------------------------------------------

    def create_customer_grant(  # noqa: PLR0913 - one consent decision has this many facts
        self,
        *,
        application_id: int,
        customer_id: int,
        scope: str,
        choices: Sequence[ServicePointChoice],
        authorized_end: datetime,
        now: datetime,
        authorization_details: list[dict[str, object]] | None = None,
    ) -> Grant:
        """A pending grant covering ``choices``, activated by the first token exchange."""
        grant = Grant(
            uuid=uuid.uuid4(),
            subscription_uuid=uuid.uuid4(),
            application_id=application_id,
            retail_customer_id=customer_id,
            kind=GrantKind.CUSTOMER.value,
            scope=scope,
            status=GrantStatus.PENDING.value,
            created_at=now,
            updated_at=now,
            authorized_start=now,
            authorized_end=authorized_end,
            authorization_details=authorization_details,
        )
        self._session.add(grant)
        self._session.flush()
        self._session.add_all(
            GrantServicePoint(
                grant_id=grant.id,
                service_point_id=choice.service_point_id,
                account_id=choice.account_id,
            )
            for choice in choices
        )
        return grant

    def client_grant(self, application_id: int, scope: str, now: datetime) -> Grant:
        """The application's own client-credentials grant for ``scope`` (made once, reused)."""
        grant = self._session.scalar(
            select(Grant).where(
                Grant.application_id == application_id,
                Grant.kind == GrantKind.CLIENT.value,
                Grant.scope == scope,
                Grant.status == GrantStatus.ACTIVE.value,
            )
        )
        if grant is None:
            grant = Grant(
                uuid=uuid.uuid4(),
                subscription_uuid=uuid.uuid4(),
                application_id=application_id,
                kind=GrantKind.CLIENT.value,
                scope=scope,
                status=GrantStatus.ACTIVE.value,
                created_at=now,
                updated_at=now,
                authorized_start=now,
            )
            self._session.add(grant)
            self._session.flush()
        return grant

    def grant(self, grant_id: int) -> Grant | None:
        """The grant with primary key ``grant_id``."""
        return self._session.get(Grant, grant_id)

    def grant_by_uuid(self, grant_uuid: uuid.UUID) -> Grant | None:
        """The grant whose ESPI Authorization id is ``grant_uuid``."""
        return self._session.scalar(select(Grant).where(Grant.uuid == grant_uuid))

    def grants_of_customer(self, customer_id: int) -> list[tuple[Grant, ThirdPartyApplication]]:
        """Every grant the customer made, newest first, with its application."""
        rows = self._session.execute(
            select(Grant, ThirdPartyApplication)
            .join(ThirdPartyApplication, ThirdPartyApplication.id == Grant.application_id)
            .where(Grant.retail_customer_id == customer_id)
            .order_by(Grant.created_at.desc(), Grant.id.desc())
        )
        return [(grant, application) for grant, application in rows]

    def grants_of_application(self, application_id: int) -> list[Grant]:
        """Every customer grant of one application, oldest first."""
        return list(
            self._session.scalars(
                select(Grant)
                .where(
                    Grant.application_id == application_id,
                    Grant.kind == GrantKind.CUSTOMER.value,
                    Grant.status != GrantStatus.PENDING.value,
                )
                .order_by(Grant.id)
            )
        )

    def add_code(  # noqa: PLR0913 - an RFC 6749 code carries these bindings
        self,
        *,
        code_hash: str,
        grant_id: int,
        redirect_uri: str,
        challenge: str | None,
        challenge_method: str | None,
        expires_at: datetime,
    ) -> None:
        """Store a new authorization code's hash and bindings."""
        self._session.add(
            AuthorizationCode(
                code_hash=code_hash,
                grant_id=grant_id,
                redirect_uri=redirect_uri,
                code_challenge=challenge,
                code_challenge_method=challenge_method,
                expires_at=expires_at,
            )
        )

    def code_by_hash(self, code_hash: str) -> AuthorizationCode | None:
        """The authorization code with this hash, used or not."""
        return self._session.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_hash == code_hash)
        )

    def claim_code(self, code_id: int, now: datetime) -> bool:
        """Mark a code used; False when another request used it first (single use)."""
        result = self._session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == code_id, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def activate(self, grant: Grant, now: datetime) -> bool:
        """Turn a pending grant active; False if it already left ``pending``."""
        if grant.status != GrantStatus.PENDING.value:
            return False
        grant.status = GrantStatus.ACTIVE.value
        grant.updated_at = now
        return True

    # -- tokens -------------------------------------------------------------------------------

    def add_token(self, grant_id: int, token: NewToken) -> None:
        """Store a token pair's hashes (a prebuilt Core insert: every refresh does this)."""
        self._session.connection().execute(
            _INSERT_TOKEN,
            {
                "grant_id": grant_id,
                "access_token_hash": token.access_hash,
                "refresh_token_hash": token.refresh_hash,
                "scope": token.scope,
                "issued_at": token.issued_at,
                "access_expires_at": token.access_expires_at,
                "refresh_expires_at": token.refresh_expires_at,
            },
        )

    def token_by_refresh_hash(self, refresh_hash: str) -> OAuthToken | None:
        """The token row whose refresh token has this hash."""
        return self._session.scalar(
            select(OAuthToken).where(OAuthToken.refresh_token_hash == refresh_hash)
        )

    def refresh_with_grant(self, refresh_hash: str) -> RefreshFacts | None:
        """The token pair with this refresh-token hash and its grant, in one query."""
        row = (
            self._session.connection()
            .execute(_REFRESH_LOOKUP, {"refresh_hash": refresh_hash})
            .first()
        )
        if row is None:
            return None
        grant = GrantFacts(
            id=row.grant_id,
            uuid=row.uuid,
            subscription_uuid=row.subscription_uuid,
            application_id=row.application_id,
            kind=row.kind,
            scope=row.grant_scope,
            status=row.status,
            authorized_end=row.authorized_end,
        )
        return RefreshFacts(
            id=row.id,
            scope=row.scope,
            refresh_token_hash=row.refresh_token_hash,
            rotated_at=row.rotated_at,
            revoked_at=row.revoked_at,
            refresh_expires_at=row.refresh_expires_at,
            grant=grant,
        )

    def token_by_access_hash(self, access_hash: str) -> OAuthToken | None:
        """The token row whose access token has this hash."""
        return self._session.scalar(
            select(OAuthToken).where(OAuthToken.access_token_hash == access_hash)
        )

    def claim_refresh(self, token_id: int, now: datetime) -> bool:
        """Mark a refresh token rotated; False when it was already (reuse)."""
        result = self._session.connection().execute(
            _CLAIM_REFRESH, {"token_id": token_id, "claimed_at": now, "revoked_now": now}
        )
        return bool(result.rowcount)

    def revoke_token(self, token_id: int, now: datetime) -> None:
        """Stop one access token (RFC 7009 §2.1); its refresh token keeps working."""
        self._session.execute(
            update(OAuthToken)
            .where(OAuthToken.id == token_id, OAuthToken.access_expires_at > now)
            .values(access_expires_at=now)
            .execution_options(synchronize_session=False)
        )

    def revoke_grant_tokens(self, grant_id: int, now: datetime) -> None:
        """Revoke every token of a grant."""
        self._session.execute(
            update(OAuthToken)
            .where(OAuthToken.grant_id == grant_id, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def access_record(self, access_hash: str, today: date) -> AccessRecord | None:
        """Everything the access choke point needs about a presented access token."""
        row = self._session.execute(
            select(OAuthToken, Grant, ThirdPartyApplication)
            .join(Grant, Grant.id == OAuthToken.grant_id)
            .join(ThirdPartyApplication, ThirdPartyApplication.id == Grant.application_id)
            .where(OAuthToken.access_token_hash == access_hash)
        ).first()
        if row is None:
            return None
        token, grant, application = row
        return AccessRecord(
            token_id=token.id,
            grant_id=grant.id,
            grant_uuid=str(grant.uuid),
            subscription_uuid=str(grant.subscription_uuid),
            grant_kind=GrantKind(grant.kind),
            grant_status=GrantStatus(grant.status),
            scope=token.scope,
            application_id=application.id,
            application_uuid=str(application.uuid),
            client_id=application.client_id,
            application_may_act=ApplicationStatus(application.status).may_act,
            retail_customer_id=grant.retail_customer_id,
            access_expires_at=token.access_expires_at,
            revoked=token.revoked_at is not None,
            authorized_end=grant.authorized_end,
            held_since=tuple(self.live_service_points(grant.id, today)),
        )

    def live_service_points(self, grant_id: int, today: date) -> list[tuple[int, date]]:
        """Covered service points still held, today, by the open account they were shared from.

        Each comes with the day that account's current tenure began: nothing before it is the
        customer's to share (it was the previous occupant's).
        """
        rows = self._session.execute(
            select(GrantServicePoint.service_point_id, func.min(AccountServicePoint.move_in))
            .join(Account, Account.id == GrantServicePoint.account_id)
            .join(
                AccountServicePoint,
                and_(
                    AccountServicePoint.account_id == GrantServicePoint.account_id,
                    AccountServicePoint.service_point_id == GrantServicePoint.service_point_id,
                ),
            )
            .where(GrantServicePoint.grant_id == grant_id, Account.status == "active")
            .where(current_tenure(today))
            .group_by(GrantServicePoint.service_point_id)
            .order_by(GrantServicePoint.service_point_id)
        )
        return [(row[0], row[1]) for row in rows]

    # -- ending grants ------------------------------------------------------------------------

    def end_grant(self, grant_id: int, reason: EndReason, now: datetime) -> EndedGrant | None:
        """End a live or pending grant and revoke its tokens; None when it had already ended."""
        grant = self._session.get(Grant, grant_id, with_for_update=True)
        if grant is None or GrantStatus(grant.status).is_final:
            return None
        grant.status = reason.status.value
        grant.end_reason = reason.value
        grant.ended_at = now
        grant.updated_at = now
        self.revoke_grant_tokens(grant.id, now)
        return EndedGrant(grant.id, str(grant.uuid), grant.application_id, reason)

    def grants_past_end(self, now: datetime) -> list[int]:
        """Ids of active or pending grants whose chosen period is over."""
        return list(
            self._session.scalars(
                select(Grant.id).where(
                    Grant.status.in_([GrantStatus.ACTIVE.value, GrantStatus.PENDING.value]),
                    Grant.authorized_end <= now,
                )
            )
        )

    def grants_covering(self, account_ids: Iterable[int]) -> list[int]:
        """Ids of active or pending grants that shared a service point from ``account_ids``."""
        return list(
            self._session.scalars(
                select(Grant.id)
                .join(GrantServicePoint, GrantServicePoint.grant_id == Grant.id)
                .where(
                    GrantServicePoint.account_id.in_(list(account_ids)),
                    Grant.status.in_([GrantStatus.ACTIVE.value, GrantStatus.PENDING.value]),
                )
                .distinct()
            )
        )

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event in the same transaction (a prebuilt Core insert)."""
        self._session.connection().execute(
            _INSERT_EVENT,
            {
                "occurred_at": utc_now(),
                "tag": tag,
                "subject": subject,
                "data": data,
                "actor": actor,
            },
        )


def _address(street: str | None, city: str | None) -> str:
    return ", ".join(part for part in (street, city) if part) or "(no service address)"
