"""Steps shared by the CDS administration tests: admin tokens, grants, introspection calls."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from opencustodian.domain.consent import EndReason
from opencustodian.jobs.work import lifecycle_for
from opencustodian.kit.time import utc_now
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import Grant, OAuthToken, ThirdPartyApplication
from tests.functional.cds.helpers import EVERYTHING
from tests.functional.oauth.flows import client_tokens, customer_tokens, unique_name

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from tests.custodian import LiveCustodian, ThirdParty

ADMIN = "cds_client_admin"


def admin_token(http: httpx.Client, server: LiveCustodian, party: ThirdParty) -> str:
    """The party's client-credentials token for the Grants and Clients APIs."""
    token: str = client_tokens(http, server, party, ADMIN)["access_token"]
    return token


def granted(
    http: httpx.Client,
    server: LiveCustodian,
    party: ThirdParty,
    scope: str = EVERYTHING,
    username: str = "customer0001",
) -> dict[str, Any]:
    """A customer's whole code flow for ``party``; the token response."""
    return customer_tokens(http, server, party, scope, username=username)


def new_party(server: LiveCustodian, scopes: str = EVERYTHING, **overrides: Any) -> ThirdParty:
    """A third party registered for CDS scopes (``overrides``: other registration fields)."""
    return server.register(unique_name(), scopes=(scopes,), **overrides)


def admin_get(
    http: httpx.Client, server: LiveCustodian, path: str, token: str, **params: str
) -> httpx.Response:
    """``GET /cds/v1/{path}`` with a Bearer token."""
    return http.get(
        f"{server.base_url}/cds/v1/{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
    )


def patch_grant(
    http: httpx.Client, server: LiveCustodian, grant_id: str, token: str, body: Any
) -> httpx.Response:
    """``PATCH /cds/v1/grants/{grant_id}`` with a JSON (or raw bytes) body."""
    url = f"{server.base_url}/cds/v1/grants/{grant_id}"
    headers = {"Authorization": f"Bearer {token}"}
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/json"
        return http.patch(url, content=body, headers=headers)
    return http.patch(url, json=body, headers=headers)


def introspect(
    http: httpx.Client,
    server: LiveCustodian,
    party: ThirdParty | None,
    token: str,
    **extra: str,
) -> httpx.Response:
    """RFC 7662 with client_secret_basic (no authentication when ``party`` is None)."""
    url = f"{server.base_url}/oauth/introspect"
    data = {"token": token, **extra}
    if party is None:
        return http.post(url, data=data)
    return http.post(url, data=data, auth=(party.client_id, party.client_secret))


def end_as_customer(server: LiveCustodian, grant_id: str) -> None:
    """The customer revokes the grant (the portal's use case, run in-process)."""
    with transaction(session_factory(server.engine)) as session:
        grant = SqlConsentStore(session).grant_by_uuid(uuid.UUID(grant_id))
        assert grant is not None
        lifecycle_for(server.base_url)(session).end(
            [grant.id], EndReason.CUSTOMER_REVOKED, utc_now(), actor="customer:test"
        )


def set_grant_end(server: LiveCustodian, grant_id: str, end: datetime) -> None:
    """Move a grant's authorized end (as if time had passed)."""
    with transaction(session_factory(server.engine)) as session:
        session.execute(
            update(Grant).where(Grant.uuid == uuid.UUID(grant_id)).values(authorized_end=end)
        )


def expire_access_tokens(server: LiveCustodian, grant_id: str, when: datetime) -> None:
    """Every access token of a grant expired at ``when``."""
    with transaction(session_factory(server.engine)) as session:
        grant = SqlConsentStore(session).grant_by_uuid(uuid.UUID(grant_id))
        assert grant is not None
        session.execute(
            update(OAuthToken).where(OAuthToken.grant_id == grant.id).values(access_expires_at=when)
        )


def set_application_status(server: LiveCustodian, party: ThirdParty, status: str) -> None:
    """The operator's decision, written directly (suspend, reinstate)."""
    with transaction(session_factory(server.engine)) as session:
        session.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.client_id == party.client_id)
            .values(status=status)
        )
