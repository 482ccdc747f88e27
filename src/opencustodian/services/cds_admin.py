"""CDS-WG1-02 administration: a client's grants (§8: list, read, close) and own client (§5).

Every call carries a client-credentials token with ``cds_client_admin`` (already accepted by
``services.access.check_bearer``); anything else is 403 ``insufficient_scope`` (RFC 6750 §3.1).
A client sees only its own customer grants and its own client: another client's id is
answered exactly like an unknown one (None → 404), so ids cannot be probed.

Closing a grant (§8.6, ``{"status": "closed"}``) is the third party ending it: the same
``GrantLifecycle.end`` the customer's revoke and RFC 7009 refresh-token revocation use, so its
tokens stop on the next call, the end is audited and the client is notified.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Final, Protocol

from opencustodian.domain.consent import EndReason, GrantKind
from opencustodian.protocols.cds.admin_objects import ClientView, GrantView, grant_status
from opencustodian.protocols.cds.scopes import CLIENT_ADMIN
from opencustodian.protocols.scopes import ScopeLanguage, is_cds_text, read_scope_text
from opencustodian.services.access import AccessDeniedError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.consent import AccessRecord, EndedGrant, GrantStatus
    from opencustodian.domain.parties import ApplicationStatus
    from opencustodian.protocols.cds.listing import ListingQuery

#: §8.4 filters (``after``/``before`` bound ``created``, as §8.4 defines them).
GRANT_FILTERS: Final = (
    "grant_ids",
    "parents",
    "statuses",
    "client_ids",
    "scopes",
    "receipt_confirmations",
    "after",
    "before",
)
#: §5.3 filters.
CLIENT_FILTERS: Final = ("client_ids",)
CLOSED: Final = "closed"


class GrantFacts(Protocol):
    """A stored customer grant with its application's standing."""

    @property
    def id(self) -> int: ...  # noqa: D102
    @property
    def uuid(self) -> uuid.UUID: ...  # noqa: D102
    @property
    def client_id(self) -> str: ...  # noqa: D102
    @property
    def scope(self) -> str: ...  # noqa: D102
    @property
    def status(self) -> GrantStatus: ...  # noqa: D102
    @property
    def end_reason(self) -> str | None: ...  # noqa: D102
    @property
    def created_at(self) -> datetime: ...  # noqa: D102
    @property
    def updated_at(self) -> datetime: ...  # noqa: D102
    @property
    def authorized_start(self) -> datetime | None: ...  # noqa: D102
    @property
    def authorized_end(self) -> datetime | None: ...  # noqa: D102
    @property
    def authorization_details(self) -> Sequence[Mapping[str, object]] | None: ...  # noqa: D102
    @property
    def application_status(self) -> ApplicationStatus: ...  # noqa: D102


class ClientFacts(Protocol):
    """A registered application."""

    @property
    def client_id(self) -> str: ...  # noqa: D102
    @property
    def name(self) -> str: ...  # noqa: D102
    @property
    def created_at(self) -> datetime: ...  # noqa: D102
    @property
    def modified_at(self) -> datetime: ...  # noqa: D102
    @property
    def status(self) -> ApplicationStatus: ...  # noqa: D102
    @property
    def scopes(self) -> tuple[str, ...]: ...  # noqa: D102
    @property
    def redirect_uris(self) -> tuple[str, ...]: ...  # noqa: D102
    @property
    def auth_method(self) -> str: ...  # noqa: D102
    @property
    def contacts(self) -> tuple[str, ...]: ...  # noqa: D102
    @property
    def website(self) -> str | None: ...  # noqa: D102
    @property
    def logo_uri(self) -> str | None: ...  # noqa: D102


class CdsAdminStore(Protocol):
    """The reads of the administration APIs (``storage.cds_admin.SqlCdsAdminStore``)."""

    def customer_grants(self, application_id: int) -> Sequence[GrantFacts]:
        """The application's claimed customer grants, newest change first."""
        ...

    def customer_grant(self, application_id: int, grant_uuid: uuid.UUID) -> GrantFacts | None:
        """One of them by id; None for an unknown id or another application's grant."""
        ...

    def grants_holding_points(self, grant_ids: Iterable[int], today: date) -> frozenset[int]:
        """Those grants whose shared service points are still held."""
        ...

    def client(self, application_id: int) -> ClientFacts | None:
        """The application's registration."""
        ...


class GrantEnder(Protocol):
    """How grants end (``services.consent.GrantLifecycle``)."""

    def end(
        self, grant_ids: Iterable[int], reason: EndReason, now: datetime, *, actor: str
    ) -> list[EndedGrant]:
        """End each still-live grant for ``reason``."""
        ...


class GrantChangeError(ValueError):
    """A PATCH this server does not apply (400); the message says why."""


class GrantConflictError(ValueError):
    """The grant already ended in another way and cannot be closed (409)."""


def require_client_admin(record: AccessRecord) -> None:
    """Refuse any token but a client-credentials token carrying ``cds_client_admin``."""
    if record.grant_kind is not GrantKind.CLIENT or CLIENT_ADMIN not in _items(record.scope):
        msg = "insufficient_scope"
        description = "this API needs a client_credentials token with the cds_client_admin scope"
        raise AccessDeniedError(msg, description, 403)


def _items(scope: str) -> frozenset[str]:
    try:
        read = read_scope_text(scope)
    except ValueError:
        return frozenset()
    return frozenset(read.items) if read.language is ScopeLanguage.CDS else frozenset()


def grant_views(
    store: CdsAdminStore, record: AccessRecord, *, now: datetime, zone: ZoneInfo
) -> list[GrantView]:
    """Every grant of the caller's client, newest change first (§8.4 order)."""
    grants = store.customer_grants(record.application_id)
    return _views(store, grants, now=now, zone=zone)


def select_grants(
    views: Iterable[GrantView],
    query: ListingQuery,
    period: tuple[datetime | None, datetime | None],
) -> list[GrantView]:
    """The views passing every §8.4 filter (they intersect); ``period`` is (after, before).

    No grant has a parent or a receipt confirmation here, so naming any in ``parents`` or
    ``receipt_confirmations`` matches nothing.
    """
    after, before = period
    return [
        view
        for view in views
        if query.wants("grant_ids", view.grant_id)
        and query.wants("statuses", view.status)
        and query.wants("client_ids", view.client_id)
        and query.wants("scopes", *view.scope_items)
        and query.wants("parents", None)
        and query.wants("receipt_confirmations", None)
        and (after is None or view.created >= after)
        and (before is None or view.created <= before)
    ]


def find_grant(
    store: CdsAdminStore, record: AccessRecord, grant_id: str, *, now: datetime, zone: ZoneInfo
) -> GrantView | None:
    """The caller's grant ``grant_id``; None when unknown, malformed or another client's."""
    grant = _own_grant(store, record, grant_id)
    return _views(store, [grant], now=now, zone=zone)[0] if grant else None


def check_change(body: object) -> None:
    """Accept only ``{"status": "closed"}`` (§8.6); other members of a Grant are ignored.

    ``scope`` and ``authorization_details`` changes would need re-consent flows this server
    does not offer, so they are refused rather than silently ignored.
    """
    if not isinstance(body, dict):
        msg = 'the body must be a JSON object such as {"status": "closed"}'
        raise GrantChangeError(msg)
    for name in ("scope", "authorization_details"):
        if name in body:
            msg = f"changing {name} is not supported: close the grant and ask the customer again"
            raise GrantChangeError(msg)
    if "status" not in body:
        msg = 'nothing to change: send {"status": "closed"} to close the grant'
        raise GrantChangeError(msg)
    if body["status"] != CLOSED:
        msg = 'a client may only set "status" to "closed"'
        raise GrantChangeError(msg)


def close_grant(  # noqa: PLR0913 - the change, who asks, and the clock and zone it runs at
    store: CdsAdminStore,
    lifecycle: GrantEnder,
    record: AccessRecord,
    grant_id: str,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> GrantView | None:
    """Close the caller's grant ``grant_id``; None when it is not the caller's (404).

    Closing a closed grant changes nothing; closing one that ended otherwise (revoked by
    the customer, expired, disabled) raises ``GrantConflictError``.
    """
    grant = _own_grant(store, record, grant_id)
    if grant is None:
        return None
    current = _views(store, [grant], now=now, zone=zone)[0]
    if current.status == CLOSED:
        return current
    if grant.status.is_final:
        msg = f"the grant already ended (status {current.status})"
        raise GrantConflictError(msg)
    lifecycle.end(
        [grant.id], EndReason.THIRD_PARTY_REVOKED, now, actor=f"client:{record.client_id}"
    )
    closed = store.customer_grant(record.application_id, grant.uuid)
    return _views(store, [closed], now=now, zone=zone)[0] if closed else None


def own_client(store: CdsAdminStore, record: AccessRecord) -> ClientView | None:
    """The caller's own client."""
    facts = store.client(record.application_id)
    if facts is None:
        return None
    cds = tuple(scope for scope in facts.scopes if is_cds_text(scope))
    return ClientView(
        client_id=facts.client_id,
        name=facts.name,
        issued_at=facts.created_at,
        modified=facts.modified_at,
        status=facts.status,
        scopes=cds,
        espi_scopes=tuple(scope for scope in facts.scopes if scope not in cds),
        redirect_uris=facts.redirect_uris,
        auth_method=facts.auth_method,
        contacts=facts.contacts,
        website=facts.website,
        logo_uri=facts.logo_uri,
    )


def _own_grant(store: CdsAdminStore, record: AccessRecord, grant_id: str) -> GrantFacts | None:
    try:
        wanted = uuid.UUID(grant_id)
    except ValueError:
        return None
    return store.customer_grant(record.application_id, wanted)


def _views(
    store: CdsAdminStore, grants: Sequence[GrantFacts], *, now: datetime, zone: ZoneInfo
) -> list[GrantView]:
    today = now.astimezone(zone).date()
    live = [grant.id for grant in grants if not grant.status.is_final]
    holding = store.grants_holding_points(live, today)
    return [
        GrantView(
            grant_id=str(grant.uuid),
            client_id=grant.client_id,
            status=grant_status(
                grant.status,
                EndReason(grant.end_reason) if grant.end_reason else None,
                application=grant.application_status,
                past_end=grant.authorized_end is not None and grant.authorized_end <= now,
                points_held=grant.id in holding,
            ),
            scope=grant.scope,
            authorization_details=[dict(item) for item in grant.authorization_details or []],
            created=grant.created_at,
            modified=grant.updated_at,
            authorized_start=grant.authorized_start,
            authorized_end=grant.authorized_end,
        )
        for grant in grants
    ]
