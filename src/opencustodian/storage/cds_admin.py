"""Reads behind the CDS administration APIs and token introspection.

- ``SqlCdsAdminStore``: a client's customer grants with what their CDS status depends on
  (the application's standing, whether the shared service points are still held), the
  client's own registration, and the commodities the utility serves (its coverage entry);
- ``SqlTokenLookup``: the ``AccessStore`` port of the access choke point over either kind of
  token (RFC 7662 introspects refresh tokens too), remembering whether the presented value
  named any token and when it was issued.

The caller owns the transaction; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from opencustodian.domain.consent import AccessRecord, GrantKind, GrantStatus
from opencustodian.domain.metering import Commodity
from opencustodian.domain.parties import ApplicationStatus
from opencustodian.storage.consent import SqlConsentStore, current_tenure
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    Grant,
    GrantServicePoint,
    OAuthToken,
    ServicePoint,
    ThirdPartyApplication,
)

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import date, datetime

    from sqlalchemy import Select
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class AdminGrant:
    """A customer grant as the Grants API shows it."""

    id: int
    uuid: uuid.UUID
    client_id: str
    scope: str
    status: GrantStatus
    end_reason: str | None
    created_at: datetime
    updated_at: datetime
    authorized_start: datetime | None
    authorized_end: datetime | None
    authorization_details: list[dict[str, Any]] | None
    application_status: ApplicationStatus


@dataclass(frozen=True, slots=True)
class AdminClient:
    """A registered application as the Clients API shows it."""

    id: int
    client_id: str
    name: str
    created_at: datetime
    modified_at: datetime
    status: ApplicationStatus
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    auth_method: str
    contacts: tuple[str, ...]
    website: str | None
    logo_uri: str | None


class SqlCdsAdminStore:
    """Grants, clients and coverage facts over one session."""

    def __init__(self, session: Session) -> None:
        """Read through ``session``."""
        self._session = session

    def customer_grants(self, application_id: int) -> list[AdminGrant]:
        """The application's customer grants the customer approved and it claimed.

        Pending grants (approved, code not yet exchanged) are left out: the client holds no
        token for them and may never claim one.
        """
        rows = self._session.execute(
            _grant_query().where(Grant.application_id == application_id)
        ).all()
        return [_admin_grant(grant, application) for grant, application in rows]

    def customer_grant(self, application_id: int, grant_uuid: uuid.UUID) -> AdminGrant | None:
        """One of those grants by its id; None for another client's (ids are not probed)."""
        row = self._session.execute(
            _grant_query().where(Grant.application_id == application_id, Grant.uuid == grant_uuid)
        ).first()
        return _admin_grant(*row) if row else None

    def grants_holding_points(self, grant_ids: Iterable[int], today: date) -> frozenset[int]:
        """Those of ``grant_ids`` still holding a shared service point.

        The rule of ``SqlConsentStore.live_service_points`` (held today by the open account
        it was shared from), asked for many grants in one query.
        """
        wanted = sorted(set(grant_ids))
        if not wanted:
            return frozenset()
        rows = self._session.scalars(
            select(GrantServicePoint.grant_id)
            .join(Account, Account.id == GrantServicePoint.account_id)
            .join(
                AccountServicePoint,
                (AccountServicePoint.account_id == GrantServicePoint.account_id)
                & (AccountServicePoint.service_point_id == GrantServicePoint.service_point_id),
            )
            .where(GrantServicePoint.grant_id.in_(wanted), Account.status == "active")
            .where(current_tenure(today))
            .distinct()
        )
        return frozenset(rows)

    def client(self, application_id: int) -> AdminClient | None:
        """The application's registration."""
        row = self._session.get(ThirdPartyApplication, application_id)
        if row is None:
            return None
        return AdminClient(
            id=row.id,
            client_id=row.client_id,
            name=row.name,
            created_at=row.created_at,
            modified_at=max(row.created_at, row.status_changed_at, row.secret_rotated_at),
            status=ApplicationStatus(row.status),
            scopes=tuple(row.scopes),
            redirect_uris=tuple(row.redirect_uris),
            auth_method=row.token_endpoint_auth_method,
            contacts=tuple(row.contacts),
            website=row.website,
            logo_uri=row.logo_uri,
        )

    def served_commodities(self) -> list[Commodity]:
        """The commodities of the utility's service points."""
        stored = self._session.scalars(select(ServicePoint.commodity).distinct())
        known = {commodity.value: commodity for commodity in Commodity}
        return sorted({known[value] for value in stored if value in known})


def _grant_query() -> Select[Grant, ThirdPartyApplication]:
    return (
        select(Grant, ThirdPartyApplication)
        .join(ThirdPartyApplication, ThirdPartyApplication.id == Grant.application_id)
        .where(
            Grant.kind == GrantKind.CUSTOMER.value,
            Grant.status != GrantStatus.PENDING.value,
        )
        .order_by(Grant.updated_at.desc(), Grant.id.desc())
    )


def _admin_grant(grant: Grant, application: ThirdPartyApplication) -> AdminGrant:
    return AdminGrant(
        id=grant.id,
        uuid=grant.uuid,
        client_id=application.client_id,
        scope=grant.scope,
        status=GrantStatus(grant.status),
        end_reason=grant.end_reason,
        created_at=grant.created_at,
        updated_at=grant.updated_at,
        authorized_start=grant.authorized_start,
        authorized_end=grant.authorized_end,
        authorization_details=grant.authorization_details,
        application_status=ApplicationStatus(application.status),
    )


# -- introspection ----------------------------------------------------------------------------


class TokenKind(StrEnum):
    """Which half of a stored pair a presented value may be (RFC 7662 ``token_type_hint``)."""

    ACCESS = "access_token"
    REFRESH = "refresh_token"


@dataclass(frozen=True, slots=True)
class TokenTimes:
    """When a found token was issued and when it stops working."""

    issued_at: datetime
    expires_at: datetime


class SqlTokenLookup:
    """``AccessStore`` over one kind of token, noting what it found.

    An access token's record is exactly the choke point's (``SqlConsentStore``). A refresh
    token's record is the same with the refresh token's lifetime, and counts as revoked once
    rotated (RFC 9700 §4.14.2: a replaced refresh token is dead).
    """

    def __init__(self, session: Session, kind: TokenKind) -> None:
        """Look tokens of ``kind`` up through ``session``."""
        self._session = session
        self.kind = kind
        #: Set when the last lookup found a token (whether or not it may still be used).
        self.times: TokenTimes | None = None

    def access_record(self, access_hash: str, today: date) -> AccessRecord | None:
        """The token's record, or None when no token of this kind has this hash."""
        self.times = None
        if self.kind is TokenKind.ACCESS:
            record = SqlConsentStore(self._session).access_record(access_hash, today)
            if record is not None:
                token = self._session.get_one(OAuthToken, record.token_id)
                self.times = TokenTimes(token.issued_at, token.access_expires_at)
            return record
        return self._refresh_record(access_hash, today)

    def _refresh_record(self, token_hash: str, today: date) -> AccessRecord | None:
        row = self._session.execute(
            select(OAuthToken, Grant, ThirdPartyApplication)
            .join(Grant, Grant.id == OAuthToken.grant_id)
            .join(ThirdPartyApplication, ThirdPartyApplication.id == Grant.application_id)
            .where(OAuthToken.refresh_token_hash == token_hash)
        ).first()
        if row is None:
            return None
        token, grant, application = row
        # A pair without a refresh lifetime never had a usable refresh token.
        expires_at = token.refresh_expires_at or token.issued_at
        self.times = TokenTimes(token.issued_at, expires_at)
        held = SqlConsentStore(self._session).live_service_points(grant.id, today)
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
            access_expires_at=expires_at,
            revoked=token.revoked_at is not None or token.rotated_at is not None,
            authorized_end=grant.authorized_end,
            held_since=tuple(held),
        )
