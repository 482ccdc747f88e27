"""ECIS requests (seed 004): a shared customer's account summary, invoices and their detail.

One request, in this order (each step refuses with its own ``oc_code``):

1. the bearer token goes through the access choke point (``services.access.check_bearer``):
   unknown, expired, revoked or suspended → 401;
2. the JWT is verified for the token's client (``protocols.ecis.jwt_requests``) with the keys
   it registered → 400 (413 when too large);
3. its ``jti`` is recorded as used until ``exp``; a second use → 400 ``replayed`` (the JWT is
   invalid, as a reused one-time token is; 400 rather than 409 because nothing on the server
   conflicts — the request itself is wrong). A valid JWT's ``jti`` stays used whatever happens
   next, so every replay is caught;
4. the grants read through: a customer token's own grant; a client token's customer grants
   under a ``cds_query`` scope that opens bill sections (``cds_records.read_grants``);
5. rights, from each grant's canonical scope (``domain.record_rights``): ``basic`` needs usage
   summaries (FB 15, bill sections) or amounts (FB 16); ``invoice`` and ``invoice_detail``
   need amounts (FB 16) → else 403 ``insufficient_scope``;
6. the account named by ``system_account_id`` must be covered by a grant with those rights,
   looked up among the grants' own rows only → else 403 ``account_not_shared``, the same
   answer whether or not such an account exists;
7. an invoice must be one of that account's statements the grants see (the bills of points
   still held in the current tenure, ``storage.statements``): one the grants see on another
   account → 403 ``invoice_not_on_account``; any other id → 404 ``unknown_invoice``.

An answered request is audited, per grant it read through, as ``ecis:data:read`` with the
request type, so the customer's access log shows it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from opencustodian.domain.consent import GrantKind
from opencustodian.domain.events import EventTag
from opencustodian.domain.invoices import (
    GrantCoverage,
    account_summary,
    invoice,
    invoice_detail,
    last_reads,
)
from opencustodian.domain.ports import AccessStore
from opencustodian.domain.record_rights import (
    PersonalDetail,
    RecordKind,
    readable_kinds,
    shown_details,
)
from opencustodian.domain.statements import statements
from opencustodian.kit.sealing import SealError, open_sealed, seal
from opencustodian.protocols.ecis.jwt_requests import (
    JwtErrorCode,
    RequestRejectedError,
    RequestType,
    VerificationKeys,
    verify_request,
)
from opencustodian.protocols.ecis.vocabulary import (
    basic_body,
    invoice_body,
    invoice_detail_body,
)
from opencustodian.protocols.scopes import grant_scopes
from opencustodian.services.access import AccessDeniedError, check_bearer
from opencustodian.services.cds_records import ReadGrant, read_grants

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.batches import SharedGrant
    from opencustodian.domain.consent import AccessRecord
    from opencustodian.domain.invoices import CoveredAccount
    from opencustodian.domain.statements import BillRecord, Statement
    from opencustodian.protocols.ecis.jwt_requests import EcisRequest
    from opencustodian.protocols.ecis.keys import KeyRegistration

REQUEST_PATH = "/ecis/v1/requests"
#: Refusal codes of this use case (``protocols.ecis.vocabulary.PROBLEMS`` gives their status).
INSUFFICIENT_SCOPE = "insufficient_scope"
ACCOUNT_NOT_SHARED = "account_not_shared"
NO_ENERGY_SERVICE = "no_energy_service"
INVOICE_NOT_ON_ACCOUNT = "invoice_not_on_account"
UNKNOWN_INVOICE = "unknown_invoice"


class EcisKeyStore(Protocol):
    """A client's registered verification keys (``storage.ecis.SqlEcisStore``)."""

    def signing_keys(self, application_id: int) -> tuple[dict[str, Any] | None, str | None]:
        """The registered JWK Set and the sealed HS256 secret."""
        ...

    def set_jwks(self, application_id: int, jwks: dict[str, Any] | None) -> None:
        """Replace the JWK Set."""
        ...

    def set_sealed_secret(self, application_id: int, sealed: str | None) -> None:
        """Keep or forget the sealed secret."""
        ...

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event in the same transaction."""
        ...


class EcisStore(EcisKeyStore, AccessStore, Protocol):
    """Everything one ECIS request reads and writes, in one transaction."""

    def use_jwt_id(
        self, application_id: int, jti: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Record a request id as used; False when it was used already."""
        ...

    def covered_account(
        self, account_number: str, grants: Sequence[GrantCoverage]
    ) -> CoveredAccount | None:
        """The named account as the grants cover it, if they do."""
        ...

    def bills_for_grant(
        self, grant_id: int, held_since: Sequence[tuple[int, date]]
    ) -> list[BillRecord]:
        """The bills a grant shows (``storage.statements``)."""
        ...

    def shared_grants(self, application_id: int, today: date) -> list[SharedGrant]:
        """Every active customer grant of an application (client tokens read through them)."""
        ...


@dataclass(frozen=True, slots=True)
class EcisSettings:
    """The custodian's side of every ECIS answer."""

    base_url: str
    server_key: str
    zone: ZoneInfo

    @property
    def audience(self) -> str:
        """The ``aud`` every request JWT must carry: the endpoint's own URL."""
        return f"{self.base_url}{REQUEST_PATH}"


@dataclass(frozen=True, slots=True)
class EcisRefusedError(Exception):
    """The request is refused: an ``oc_code`` (``protocols.ecis.vocabulary.PROBLEMS``)."""

    code: str
    detail: str
    #: The RFC 6750 error for a ``WWW-Authenticate: Bearer`` challenge, when the token failed.
    bearer_error: str | None = None


def _refusal(code: str, detail: str, bearer_error: str | None = None) -> EcisRefusedError:
    return EcisRefusedError(code, detail, bearer_error)


@dataclass(frozen=True, slots=True)
class EcisAnswer:
    """An answered request: the response body and what was asked."""

    body: dict[str, object]
    request_type: RequestType


def answer_request(
    store: EcisStore, token: str, request_jwt: bytes, settings: EcisSettings, now: datetime
) -> EcisAnswer:
    """Answer one ECIS request (module docstring); raises ``EcisRefusedError``."""
    record = _authenticated(store, token, settings, now)
    request = _verified(store, record, request_jwt, settings, now)
    today = now.astimezone(settings.zone).date()
    grants = _permitted(_grants(store, record, today), request.request_type)
    covered = store.covered_account(
        request.system_account_id,
        [GrantCoverage(grant.grant_id, grant.customer_id, grant.held_since) for grant in grants],
    )
    if covered is None:
        msg = "this authorization does not cover the account named by system_account_id"
        raise _refusal(ACCOUNT_NOT_SHARED, msg)
    account = covered.account
    if account.service_point is None:
        msg = "the account has no electric or gas service this authorization covers"
        raise _refusal(NO_ENERGY_SERVICE, msg)
    reading = [grant for grant in grants if grant.grant_id in covered.grant_ids]
    seen = _bills(store, reading)
    own = [bill for bill in seen if bill.account_id == account.id]
    visible = statements(own)
    if request.request_type is RequestType.BASIC:
        body = basic_body(account_summary(account, visible, today))
    else:
        statement = _statement(request, visible, seen)
        reads = last_reads(own)
        body = (
            invoice_body(invoice(account, statement, reads, today))
            if request.request_type is RequestType.INVOICE
            else invoice_detail_body(invoice_detail(account, statement, reads, today))
        )
    _audit(store, record, reading, request, [str(point.uuid) for point in account.points])
    return EcisAnswer(body, request.request_type)


def _authenticated(
    access: AccessStore, token: str, settings: EcisSettings, now: datetime
) -> AccessRecord:
    try:
        return check_bearer(access, token, key=settings.server_key, now=now, zone=settings.zone)
    except AccessDeniedError as error:
        raise EcisRefusedError(error.error, error.description, error.error) from error


def _verified(
    store: EcisStore,
    record: AccessRecord,
    request_jwt: bytes,
    settings: EcisSettings,
    now: datetime,
) -> EcisRequest:
    jwks, sealed = store.signing_keys(record.application_id)
    keys = VerificationKeys(jwks, _hs256_secret(sealed, record.client_id, settings))
    try:
        request = verify_request(
            request_jwt, keys, issuer=record.client_id, audience=settings.audience, now=now
        )
    except RequestRejectedError as error:
        raise EcisRefusedError(error.code.value, error.detail) from error
    if not store.use_jwt_id(record.application_id, request.jti, request.expires_at, now):
        msg = "this jti was used already; sign a new JWT for every request"
        raise EcisRefusedError(JwtErrorCode.REPLAYED.value, msg)
    return request


def _hs256_secret(sealed: str | None, client_id: str, settings: EcisSettings) -> str | None:
    """The client secret HS256 is verified with; None when not enabled (or not openable)."""
    if sealed is None:
        return None
    try:
        return open_sealed(sealed, owner=client_id, server_key=settings.server_key)
    except SealError:  # sealed under a former server key: HS256 must be enabled again
        return None


def _grants(store: EcisStore, record: AccessRecord, today: date) -> list[ReadGrant]:
    """A customer token's own grant; a client token's grants under its ``cds_query`` scope."""
    if record.grant_kind is GrantKind.CUSTOMER:
        if record.retail_customer_id is None:
            msg = "a customer grant without a customer"
            raise _refusal(INSUFFICIENT_SCOPE, msg, INSUFFICIENT_SCOPE)
        scopes = tuple(grant_scopes(record.scope))
        return [
            ReadGrant(
                record.grant_id,
                record.grant_uuid,
                record.retail_customer_id,
                record.scope,
                record.authorized_end,
                record.held_since,
                readable_kinds(scopes),
                shown_details(scopes),
                scopes,
            )
        ]
    try:
        return read_grants(
            record,
            RecordKind.BILL_SECTIONS,
            lambda application_id: store.shared_grants(application_id, today),
        )
    except AccessDeniedError as error:
        raise EcisRefusedError(error.error, error.description, error.error) from error


def may_answer(grant: ReadGrant, request_type: RequestType) -> bool:
    """Whether ``grant`` allows ``request_type`` (module docstring, step 5)."""
    amounts = PersonalDetail.AMOUNTS in grant.details
    if request_type is RequestType.BASIC:
        return amounts or RecordKind.BILL_SECTIONS in grant.kinds
    return amounts


def _permitted(grants: Sequence[ReadGrant], request_type: RequestType) -> list[ReadGrant]:
    permitted = [grant for grant in grants if may_answer(grant, request_type)]
    if not permitted:
        needs = (
            "usage summaries (FB 15) or bill amounts (FB 16)"
            if request_type is RequestType.BASIC
            else "bill amounts (FB 16)"
        )
        msg = f"an ECIS {request_type.value} request needs an authorization to {needs}"
        raise _refusal(INSUFFICIENT_SCOPE, msg, INSUFFICIENT_SCOPE)
    return permitted


def _bills(store: EcisStore, grants: Sequence[ReadGrant]) -> list[BillRecord]:
    """Every bill the grants show (each once), on any of their accounts."""
    seen: dict[int, BillRecord] = {}
    for grant in grants:
        for bill in store.bills_for_grant(grant.grant_id, grant.held_since):
            seen.setdefault(bill.id, bill)
    return list(seen.values())


def _statement(
    request: EcisRequest, visible: Sequence[Statement], seen: Sequence[BillRecord]
) -> Statement:
    """The account's statement the request names (module docstring, step 7)."""
    wanted = _invoice_id(request.system_invoice_id or "")
    for statement in visible:
        if statement.id == wanted:
            return statement
    if wanted is not None and any(statement.id == wanted for statement in statements(seen)):
        msg = "that invoice is not on the account named by system_account_id"
        raise _refusal(INVOICE_NOT_ON_ACCOUNT, msg)
    msg = "the account has no invoice with that system_invoice_id this authorization sees"
    raise _refusal(UNKNOWN_INVOICE, msg)


def _invoice_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _audit(
    store: EcisStore,
    record: AccessRecord,
    grants: Sequence[ReadGrant],
    request: EcisRequest,
    points: Sequence[str],
) -> None:
    """One ``ecis:data:read`` per grant read through (the customer's access log shows it)."""
    for grant in grants:
        store.record_event(
            EventTag.ECIS_DATA_READ,
            f"grant:{grant.grant_uuid}",
            {
                "api": "ecis",
                "request_type": request.request_type.value,
                "path": REQUEST_PATH,
                "usage_points": list(points),
            },
            f"client:{record.client_id}",
        )


# -- key registration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """The client registering keys, as it authenticated."""

    application_id: int
    application_uuid: str
    client_id: str
    #: The secret it authenticated with (what HS256 would be verified with).
    client_secret: str


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """What a client has registered to verify its requests with."""

    jwks: dict[str, Any]
    hs256: bool


def key_status(store: EcisKeyStore, application_id: int) -> KeyStatus:
    """The registered public keys and whether HS256 is enabled."""
    jwks, sealed = store.signing_keys(application_id)
    return KeyStatus(jwks or {"keys": []}, sealed is not None)


def register_keys(
    store: EcisKeyStore, owner: KeyOwner, registration: KeyRegistration, server_key: str
) -> KeyStatus:
    """Apply ``registration`` for a client that authenticated with its secret.

    A new JWK Set replaces the old one (an empty set removes every key). ``hs256: true`` seals
    the very secret the client authenticated with, so its HS256 requests verify until the
    secret is rotated; ``false`` forgets it. The change is audited on the application.
    """
    application_id = owner.application_id
    if registration.jwks is not None:
        store.set_jwks(application_id, registration.jwks if registration.jwks["keys"] else None)
    if registration.hs256 is not None:
        sealed = (
            seal(owner.client_secret, owner=owner.client_id, server_key=server_key)
            if registration.hs256
            else None
        )
        store.set_sealed_secret(application_id, sealed)
    status = key_status(store, application_id)
    store.record_event(
        EventTag.APPLICATION_UPDATED,
        f"application:{owner.application_uuid}",
        {"ecis_keys": len(status.jwks["keys"]), "ecis_hs256": status.hs256},
        f"client:{owner.client_id}",
    )
    return status
