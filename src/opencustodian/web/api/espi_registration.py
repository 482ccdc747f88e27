"""ESPI ApplicationInformation: a third party reads and updates its own registration.

- ``GET /espi/1_1/resource/ApplicationInformation/{id}``: the registration as an Atom entry
  (espi.xsd ``ApplicationInformation``), with this custodian's endpoints. When the utility
  rotated the client secret "for delivery through the API", this GET issues the new secret in
  ``client_secret`` — once; every later GET carries it empty.
- ``PUT`` of the same URI: an Atom entry (or a bare ``ApplicationInformation``) whose third
  party fields (names, URIs, contacts, scopes) replace the registered ones after the checks of
  the registration form; the custodian's own fields in the body are ignored.

Both are authenticated with the registration access token issued at registration (RFC 7592
§3 style): a missing or unknown token is 401, another application's token 403.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from opencustodian.domain.parties import ApplicationStatus, RegistrationError
from opencustodian.kit.time import utc_now
from opencustodian.kit.tokens import hash_secret
from opencustodian.protocols.espi.application_update import (
    MAX_BYTES,
    parse_application_information_update,
)
from opencustodian.protocols.espi.documents import EspiDocumentError
from opencustodian.protocols.espi.entries import (
    ApplicationInformationEntry,
    AtomHead,
    DataCustodianApplicationStatus,
    application_information_entry,
)
from opencustodian.protocols.espi.uris import (
    application_information_uri,
    bulk_uri,
    resource_root,
)
from opencustodian.services.applications import deliver_pending_secret, update_registration
from opencustodian.storage.applications import SqlApplicationStore

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session
    from starlette.requests import Request

    from opencustodian.storage.models import ThirdPartyApplication
    from opencustodian.web.app import AppContext

ATOM = "application/atom+xml"
REALM = 'Bearer realm="ApplicationInformation"'
#: espi.xsd ``thirdPartyApplicationDescription`` is a String256.
MAX_WIRE_DESCRIPTION = 256
SOFTWARE_VERSION = "1"


def install(app: FastAPI) -> None:
    """Register the ApplicationInformation resource."""
    path = "/espi/1_1/resource/ApplicationInformation/{application_id}"
    app.add_route(path, read_application, methods=["GET"])
    app.add_route(path, update_application, methods=["PUT"])


class _Refused(Exception):  # noqa: N818 - a control-flow signal carrying its response
    """Stop handling and answer with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _problem(status: int, error: str, description: str, *, challenge: bool = False) -> Response:
    headers = {"Cache-Control": "no-store"}
    if challenge:
        headers["WWW-Authenticate"] = (
            f'{REALM}, error="{error}", error_description="{description}"'
            if error != "invalid_request"
            else REALM
        )
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _caller(request: Request, session: Session, raw_id: str) -> ThirdPartyApplication:
    """The application the registration token belongs to, if it is the one addressed."""
    context: AppContext = request.app.state.context
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _Refused(
            _problem(
                401, "invalid_request", "a registration access token is required", challenge=True
            )
        )
    store = SqlApplicationStore(session)
    caller = store.application_by_registration_hash(hash_secret(token, context.key))
    if caller is None:
        raise _Refused(
            _problem(401, "invalid_token", "unknown registration access token", challenge=True)
        )
    try:
        wanted = uuid.UUID(raw_id)
    except ValueError:
        wanted = None
    target = store.application_by_uuid(wanted) if wanted else None
    if target is None:
        raise _Refused(_problem(404, "not_found", "no such ApplicationInformation"))
    if target.id != caller.id:
        raise _Refused(
            _problem(
                403,
                "insufficient_scope",
                "this registration access token belongs to another application",
                challenge=True,
            )
        )
    return caller


def entry_of(context: AppContext, row: ThirdPartyApplication, secret: str | None = None) -> bytes:
    """The ESPI Atom entry of an application (``secret`` only when it is being delivered)."""
    base = context.base_url
    self_uri = application_information_uri(base, str(row.uuid))
    description = row.description.strip()
    if len(description) > MAX_WIRE_DESCRIPTION:
        description = description[: MAX_WIRE_DESCRIPTION - 1] + "…"
    info = ApplicationInformationEntry(
        data_custodian_id=context.profile.short_name,
        data_custodian_application_status=DataCustodianApplicationStatus.of(
            ApplicationStatus(row.status)
        ),
        third_party_application_description=description or None,
        authorization_server_uri=base,
        # espi.xsd requires a notify URI; with none registered this resource stands in (and a
        # PUT sending it back unchanged does not register it).
        third_party_notify_uri=row.notification_uri or self_uri,
        authorization_server_authorization_endpoint=f"{base}/oauth/authorize",
        authorization_server_token_endpoint=f"{base}/oauth/token",
        data_custodian_bulk_request_uri=bulk_uri(base, str(row.uuid)),
        data_custodian_resource_endpoint=resource_root(base),
        third_party_scope_selection_screen_uri=row.scope_selection_uri,
        client_secret=secret,
        logo_uri=row.logo_uri,
        client_name=row.name,
        client_uri=row.website,
        redirect_uris=tuple(row.redirect_uris),
        client_id=row.client_id,
        software_id=row.client_id,
        software_version=SOFTWARE_VERSION,
        client_id_issued_at=row.created_at,
        contacts=tuple(row.contacts),
        scopes=tuple(row.scopes),
        registration_client_uri=self_uri,
    )
    head = AtomHead(
        entry_id=row.uuid,
        self_href=self_uri,
        up_href=f"{resource_root(base)}/ApplicationInformation",
        published=row.created_at,
        updated=max(row.created_at, row.status_changed_at, row.secret_rotated_at),
        title=row.name,
    )
    return application_information_entry(info, head)


def _atom(body: bytes) -> Response:
    return Response(body, media_type=ATOM, headers={"Cache-Control": "no-store"})


async def read_application(request: Request) -> Response:
    """``GET …/ApplicationInformation/{id}``, delivering a withheld secret once."""
    raw_id = request.path_params["application_id"]

    def run() -> Response:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                row = _caller(request, session, raw_id)
            except _Refused as refused:
                return refused.response
            secret = None
            awaiting = row.client_secret_hash is None
            if awaiting and row.status != ApplicationStatus.REVOKED.value:
                secret = deliver_pending_secret(
                    SqlApplicationStore(session), row.id, row.uuid, key=context.key, now=utc_now()
                )
                session.commit()
                session.refresh(row)
            return _atom(entry_of(context, row, secret))

    return await run_in_threadpool(run)


async def update_application(request: Request) -> Response:
    """``PUT …/ApplicationInformation/{id}``: the third party changes its own fields."""
    raw_id = request.path_params["application_id"]
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        return _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BYTES:
            return _too_large()

    def run() -> Response:
        context: AppContext = request.app.state.context
        with context.sessions() as session:
            try:
                row = _caller(request, session, raw_id)
            except _Refused as refused:
                return refused.response
            if row.status == ApplicationStatus.REVOKED.value:
                return _problem(403, "access_denied", "the application is revoked")
            try:
                changes = parse_application_information_update(bytes(body))
                update_registration(
                    SqlApplicationStore(session),
                    row.id,
                    row.uuid,
                    changes,
                    placeholder_notify_uri=application_information_uri(
                        context.base_url, str(row.uuid)
                    ),
                    actor=f"application:{row.uuid}",
                )
            except (EspiDocumentError, RegistrationError) as error:
                session.rollback()
                return _problem(400, "invalid_request", str(error))
            session.commit()
            session.refresh(row)
            return _atom(entry_of(context, row))

    return await run_in_threadpool(run)


def _too_large() -> Response:
    return _problem(413, "invalid_request", f"the body is larger than {MAX_BYTES:,} bytes")
