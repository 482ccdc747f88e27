"""Third-party applications in the database (``domain.ports.ApplicationStore``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select

from opencustodian.kit.time import utc_now
from opencustodian.storage.models import ThirdPartyApplication

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from opencustodian.domain.parties import ApplicationRegistration


class SqlApplicationStore:
    """Applications over one session; the caller owns the transaction."""

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
        return True
