"""Third-party applications in the database (``domain.ports.ApplicationStore``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from opencustodian.domain.consent import GrantKind, GrantStatus
from opencustodian.domain.events import EventTag
from opencustodian.domain.parties import (
    ApplicationRegistration,
    ApplicationStatus,
    RegistrationEnvironment,
)
from opencustodian.kit.time import utc_now
from opencustodian.storage.models import AuditEvent, Grant, Notification, ThirdPartyApplication

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Subquery
    from sqlalchemy.orm import Session

LIVE_GRANT_STATUSES = (GrantStatus.ACTIVE.value, GrantStatus.PENDING.value)


@dataclass(frozen=True, slots=True)
class ApplicationSummary:
    """One row of the operators' list of third parties."""

    application: ThirdPartyApplication
    active_grants: int
    pending_notifications: int
    failed_notifications: int


class SqlApplicationStore:
    """Applications over one session; the caller owns the transaction.

    Satisfies ``domain.ports.ApplicationStore`` and ``domain.ports.ApplicationRegistry``.
    """

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    def add_application(
        self,
        registration: ApplicationRegistration,
        *,
        scopes: tuple[str, ...],
        client_id: str,
        secret_hash: str,
        registration_token_hash: str,
    ) -> uuid.UUID:
        """Store a new application with its hashed secrets."""
        application = ThirdPartyApplication(
            uuid=uuid.uuid4(),
            client_id=client_id,
            client_secret_hash=secret_hash,
            registration_token_hash=registration_token_hash,
            name=registration.name,
            description=registration.description,
            contacts=list(registration.contacts),
            website=registration.website,
            logo_uri=registration.logo_uri,
            redirect_uris=list(registration.redirect_uris),
            scope_selection_uri=registration.scope_selection_uri,
            notification_uri=registration.notification_uri,
            scopes=list(scopes),
            status=registration.initial_status.value,
        )
        self._session.add(application)
        self._session.flush()
        return application.uuid

    def replace_secret_hash(self, client_id: str, secret_hash: str) -> bool:
        """Swap the client-secret hash of ``client_id``."""
        application = self._session.scalar(
            select(ThirdPartyApplication).where(ThirdPartyApplication.client_id == client_id)
        )
        if application is None:
            return False
        application.client_secret_hash = secret_hash
        application.secret_rotated_at = utc_now()
        application.client_secret_sealed = None  # the HS256 key was the old secret
        return True

    # -- what operators and the registration token change ------------------------------------

    def application_by_uuid(self, application_uuid: uuid.UUID) -> ThirdPartyApplication | None:
        """The application with ApplicationInformation id ``application_uuid``."""
        return self._session.scalar(
            select(ThirdPartyApplication).where(ThirdPartyApplication.uuid == application_uuid)
        )

    def application_by_registration_hash(self, token_hash: str) -> ThirdPartyApplication | None:
        """The application whose registration access token has this keyed hash."""
        return self._session.scalar(
            select(ThirdPartyApplication).where(
                ThirdPartyApplication.registration_token_hash == token_hash
            )
        )

    def status_of(self, application_uuid: uuid.UUID) -> tuple[int, ApplicationStatus] | None:
        """The application's row id and status (locked for the rest of the transaction)."""
        row = self._session.execute(
            select(ThirdPartyApplication.id, ThirdPartyApplication.status)
            .where(ThirdPartyApplication.uuid == application_uuid)
            .with_for_update()
        ).first()
        return None if row is None else (row[0], ApplicationStatus(row[1]))

    def set_status(self, application_id: int, status: ApplicationStatus, now: datetime) -> None:
        """Record a new status and when it changed."""
        self._session.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.id == application_id)
            .values(status=status.value, status_changed_at=now)
        )

    def status_before_suspension(self, application_id: int) -> ApplicationStatus | None:
        """The ``from`` status of the application's latest suspension, from the audit trail."""
        application_uuid = self._uuid_of(application_id)
        events = self._session.scalars(
            select(AuditEvent.data)
            .where(
                AuditEvent.tag == EventTag.APPLICATION_STATUS_CHANGED.value,
                AuditEvent.subject == f"application:{application_uuid}",
            )
            .order_by(AuditEvent.id.desc())
        )
        for data in events:
            if data.get("to") == ApplicationStatus.SUSPENDED.value:
                before = data.get("from")
                return ApplicationStatus(before) if before in set(ApplicationStatus) else None
        return None

    def live_grant_ids(self, application_id: int) -> list[int]:
        """Ids of the application's active or pending grants."""
        return list(
            self._session.scalars(
                select(Grant.id).where(
                    Grant.application_id == application_id,
                    Grant.status.in_(LIVE_GRANT_STATUSES),
                )
            )
        )

    def registration_of(self, application_id: int) -> ApplicationRegistration:
        """The application's registration form as it stands."""
        row = self._session.get_one(ThirdPartyApplication, application_id)
        environment = (
            RegistrationEnvironment.PRODUCTION
            if row.status == ApplicationStatus.PRODUCTION.value
            else RegistrationEnvironment.TEST
        )
        return ApplicationRegistration(
            name=row.name,
            redirect_uris=tuple(row.redirect_uris),
            scopes=tuple(row.scopes),
            description=row.description,
            contacts=tuple(row.contacts),
            website=row.website,
            logo_uri=row.logo_uri,
            scope_selection_uri=row.scope_selection_uri,
            notification_uri=row.notification_uri,
            environment=environment,
        )

    def update_registration(
        self,
        application_id: int,
        registration: ApplicationRegistration,
        scopes: tuple[str, ...],
    ) -> None:
        """Replace the third party's own fields (never ids, secrets or status)."""
        row = self._session.get_one(ThirdPartyApplication, application_id)
        row.name = registration.name
        row.description = registration.description
        row.contacts = list(registration.contacts)
        row.website = registration.website
        row.logo_uri = registration.logo_uri
        row.redirect_uris = list(registration.redirect_uris)
        row.scope_selection_uri = registration.scope_selection_uri
        row.notification_uri = registration.notification_uri
        row.scopes = list(scopes)
        self._session.flush()

    def set_secret_hash(self, application_id: int, secret_hash: str | None, now: datetime) -> None:
        """Store a new client-secret hash; None withholds it until delivered by the API.

        A sealed copy of the old secret (ECIS HS256) is forgotten: requests signed with the
        old secret must stop verifying, and the client opts in again with the new one.
        """
        self._session.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.id == application_id)
            .values(
                client_secret_hash=secret_hash, secret_rotated_at=now, client_secret_sealed=None
            )
        )

    def claim_secret_delivery(self, application_id: int, secret_hash: str, now: datetime) -> bool:
        """Store ``secret_hash`` only while no secret is set (two requests: one wins)."""
        result = self._session.execute(
            update(ThirdPartyApplication)
            .where(
                ThirdPartyApplication.id == application_id,
                ThirdPartyApplication.client_secret_hash.is_(None),
            )
            .values(
                client_secret_hash=secret_hash, secret_rotated_at=now, client_secret_sealed=None
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event in the same transaction."""
        self._session.add(AuditEvent(tag=tag, subject=subject, data=data, actor=actor))

    # -- what operators see ------------------------------------------------------------------

    def summaries(self) -> list[ApplicationSummary]:
        """Every application, newest first, with its active grants and undelivered messages."""
        grants = (
            select(Grant.application_id, func.count().label("n"))
            .where(Grant.kind == GrantKind.CUSTOMER.value, Grant.status == GrantStatus.ACTIVE.value)
            .group_by(Grant.application_id)
            .subquery()
        )
        pending = self._notification_counts("pending")
        failed = self._notification_counts("failed")
        rows = self._session.execute(
            select(
                ThirdPartyApplication,
                func.coalesce(grants.c.n, 0),
                func.coalesce(pending.c.n, 0),
                func.coalesce(failed.c.n, 0),
            )
            .outerjoin(grants, grants.c.application_id == ThirdPartyApplication.id)
            .outerjoin(pending, pending.c.application_id == ThirdPartyApplication.id)
            .outerjoin(failed, failed.c.application_id == ThirdPartyApplication.id)
            .order_by(ThirdPartyApplication.created_at.desc(), ThirdPartyApplication.id.desc())
        )
        return [
            ApplicationSummary(application, int(active), int(waiting), int(given_up))
            for application, active, waiting, given_up in rows
        ]

    def grant_counts(self, application_id: int) -> dict[str, int]:
        """How many customer grants of the application are in each status."""
        rows = self._session.execute(
            select(Grant.status, func.count())
            .where(Grant.application_id == application_id, Grant.kind == GrantKind.CUSTOMER.value)
            .group_by(Grant.status)
        )
        return {status: int(count) for status, count in rows}

    def recent_notifications(self, application_id: int, limit: int = 20) -> list[Notification]:
        """The application's latest notifications, newest first."""
        return list(
            self._session.scalars(
                select(Notification)
                .where(Notification.application_id == application_id)
                .order_by(Notification.id.desc())
                .limit(limit)
            )
        )

    def _notification_counts(self, status: str) -> Subquery:
        return (
            select(Notification.application_id, func.count().label("n"))
            .where(Notification.status == status)
            .group_by(Notification.application_id)
            .subquery()
        )

    def _uuid_of(self, application_id: int) -> uuid.UUID:
        return self._session.get_one(ThirdPartyApplication, application_id).uuid
