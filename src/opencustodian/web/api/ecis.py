"""ECIS over HTTP (seed 004): signed requests for a shared customer, and the keys they use.

- ``POST /ecis/v1/requests``: ``Authorization: Bearer <access token>`` and the compact request
  JWT as the body, ``Content-Type: application/jwt`` (RFC 7519 §10.3.1), or a form with one
  ``request`` field (``application/x-www-form-urlencoded``, as RFC 9101 passes a request
  object). At most ``MAX_REQUEST_BYTES`` (413 beyond, refused before the body is read in
  full); another media type is 415. Answers 200 JSON (``protocols.ecis.vocabulary``) or an
  RFC 9457 problem with ``oc_code`` (``services.ecis`` says which refusal is which).
- ``PUT /ecis/v1/keys`` and ``GET /ecis/v1/keys``: the client authenticates with HTTP Basic
  (``client_id:client_secret``, RFC 6749 §2.3.1, the token endpoint's check) and registers or
  reads its public JWK Set and its HS256 choice (``protocols.ecis.keys``). A public client, an
  unknown one, a wrong secret or a suspended or revoked client is 401.

Every answer carries ``Cache-Control: no-store``: customer data and key material are not for
caches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request  # noqa: TC002 - FastAPI reads route annotations

from opencustodian.kit import exact_json
from opencustodian.kit.sealing import SealError
from opencustodian.kit.time import utc_now
from opencustodian.oauth.clients import OAuthClient
from opencustodian.protocols.cds import schema_catalog
from opencustodian.protocols.ecis.jwt_requests import MAX_TOKEN_BYTES, strict_json
from opencustodian.protocols.ecis.keys import KeySetError, read_registration
from opencustodian.protocols.ecis.vocabulary import problem_body, problem_status
from opencustodian.services.access import AccessDeniedError, bearer_token
from opencustodian.services.ecis import (
    REQUEST_PATH,
    EcisRefusedError,
    EcisSettings,
    KeyOwner,
    KeyStatus,
    answer_request,
    key_status,
    register_keys,
)
from opencustodian.storage.batches import SqlBatchStore
from opencustodian.storage.consent import SqlConsentStore
from opencustodian.storage.ecis import SqlEcisStore
from opencustodian.storage.statements import SqlStatementStore

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    from fastapi import FastAPI
    from sqlalchemy.orm import Session

    from opencustodian.domain.batches import SharedGrant
    from opencustodian.domain.consent import AccessRecord
    from opencustodian.domain.statements import BillRecord
    from opencustodian.web.app import AppContext

KEYS_PATH = "/ecis/v1/keys"
JSON = "application/json"
PROBLEM = "application/problem+json"
JWT_MEDIA = "application/jwt"
FORM_MEDIA = "application/x-www-form-urlencoded"
MAX_REQUEST_BYTES = MAX_TOKEN_BYTES
MAX_KEYS_BODY_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
REALM = "opencustodian"


class EcisReader(SqlEcisStore):
    """``services.ecis.EcisStore`` over one session: tokens, ECIS storage, bills, grants."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        super().__init__(session)
        self._consent = SqlConsentStore(session)
        self._bills = SqlStatementStore(session)
        self._batches = SqlBatchStore(session)

    def access_record(self, access_hash: str, today: date) -> AccessRecord | None:
        """See ``storage.consent``."""
        return self._consent.access_record(access_hash, today)

    def bills_for_grant(
        self, grant_id: int, held_since: Sequence[tuple[int, date]]
    ) -> list[BillRecord]:
        """See ``storage.statements``."""
        return self._bills.bills_for_grant(grant_id, held_since)

    def shared_grants(self, application_id: int, today: date) -> list[SharedGrant]:
        """See ``storage.batches``."""
        return self._batches.shared_grants(application_id, today)


class _BodyTooLargeError(ValueError):
    """The request body is longer than its limit."""


def ecis_problem(code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    """An RFC 9457 problem for ``code`` (``protocols.ecis.vocabulary.PROBLEMS``)."""
    return Response(
        exact_json.encode(problem_body(code, detail)),
        problem_status(code),
        headers={**NO_STORE, **(headers or {})},
        media_type=PROBLEM,
    )


def _refused(error: EcisRefusedError) -> Response:
    headers = {}
    if error.bearer_error == "invalid_request":  # no token at all: no error code (RFC 6750 §3.1)
        headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
    elif error.bearer_error is not None:
        description = error.detail.replace('"', "'")
        headers["WWW-Authenticate"] = (
            f'Bearer realm="{REALM}", error="{error.bearer_error}", '
            f'error_description="{description}"'
        )
    return ecis_problem(error.code, error.detail, headers)


async def _limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _settings(context: AppContext) -> EcisSettings:
    return EcisSettings(context.base_url, context.key, context.profile.time_zone)


# -- POST /ecis/v1/requests ----------------------------------------------------------------------


async def ecis_request(request: Request) -> Response:
    """``POST /ecis/v1/requests``: answer one signed ECIS request."""
    try:
        token = bearer_token(request.headers.get("authorization"))
    except AccessDeniedError as error:
        return _refused(EcisRefusedError(error.error, error.description, error.error))
    media = _media_type(request)
    if media not in {JWT_MEDIA, FORM_MEDIA}:
        detail = f"send the request JWT as {JWT_MEDIA} (or a {FORM_MEDIA} 'request' field)"
        return ecis_problem("unsupported_media_type", detail)
    try:
        body = await _limited_body(request, MAX_REQUEST_BYTES)
    except _BodyTooLargeError:
        return ecis_problem(
            "too_large", f"the request body is larger than {MAX_REQUEST_BYTES} bytes"
        )
    jwt = body if media == JWT_MEDIA else _form_request(body)
    if jwt is None:
        return ecis_problem("malformed", "the form must hold exactly one 'request' field")
    context: AppContext = request.app.state.context
    return await run_in_threadpool(_answer, context, token, jwt)


def _form_request(body: bytes) -> bytes | None:
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    values = [value for name, value in pairs if name == "request"]
    return values[0].encode() if len(values) == 1 and len(pairs) == 1 else None


def _answer(context: AppContext, token: str, jwt: bytes) -> Response:
    with context.sessions() as session:
        try:
            answered = answer_request(
                EcisReader(session), token, jwt, _settings(context), utc_now()
            )
        except EcisRefusedError as error:
            # A refusal wrote nothing but, after a valid JWT, its used ``jti``: keep that.
            session.commit()
            return _refused(error)
        session.commit()
    return Response(exact_json.encode(answered.body), headers=NO_STORE, media_type=JSON)


# -- /ecis/v1/keys -------------------------------------------------------------------------------


def _client(session: Session, request: Request, key: str) -> tuple[OAuthClient, str] | Response:
    """The client HTTP Basic names and proves, or the 401 to answer."""
    client_id, secret = extract_basic_authorization(request.headers)
    challenge = {"WWW-Authenticate": f'Basic realm="{REALM}"'}
    refusal = ecis_problem(
        "invalid_client", "authenticate with HTTP Basic: client_id and client_secret", challenge
    )
    if not client_id or not secret:
        return refusal
    row = SqlConsentStore(session).client_fields(str(client_id))
    if row is None:
        return refusal
    client = OAuthClient.from_row(row, key)
    if client.is_public or not client.status.may_act or not client.check_client_secret(secret):
        return refusal
    return client, str(secret)


def _status_body(status: KeyStatus) -> dict[str, object]:
    return {"jwks": status.jwks, "hs256": status.hs256}


async def get_keys(request: Request) -> Response:
    """``GET /ecis/v1/keys``: the client's registered public keys and HS256 choice."""
    context: AppContext = request.app.state.context
    return await run_in_threadpool(_get_keys, context, request)


def _get_keys(context: AppContext, request: Request) -> Response:
    with context.sessions() as session:
        found = _client(session, request, context.key)
        if isinstance(found, Response):
            return found
        client, _ = found
        status = key_status(SqlEcisStore(session), client.id)
    return Response(exact_json.encode(_status_body(status)), headers=NO_STORE, media_type=JSON)


async def put_keys(request: Request) -> Response:
    """``PUT /ecis/v1/keys``: register a public JWK Set and/or enable or disable HS256."""
    if _media_type(request) != JSON:
        return ecis_problem("unsupported_media_type", f"send the keys as {JSON}")
    try:
        body = await _limited_body(request, MAX_KEYS_BODY_BYTES)
    except _BodyTooLargeError:
        return ecis_problem("too_large", f"the body is larger than {MAX_KEYS_BODY_BYTES} bytes")
    context: AppContext = request.app.state.context
    return await run_in_threadpool(_put_keys, context, request, body)


def _put_keys(context: AppContext, request: Request, body: bytes) -> Response:
    with context.sessions() as session:
        found = _client(session, request, context.key)
        if isinstance(found, Response):
            return found
        client, secret = found
        try:
            registration = read_registration(strict_json(body))
        except (KeySetError, ValueError, UnicodeDecodeError, RecursionError) as error:
            detail = str(error) if isinstance(error, KeySetError) else "the body is not JSON"
            return ecis_problem("invalid_keys", detail)
        try:
            owner = KeyOwner(client.id, client.uuid, client.client_id, secret)
            status = register_keys(SqlEcisStore(session), owner, registration, context.key)
        except SealError as error:
            session.rollback()
            return ecis_problem("invalid_keys", f"HS256 cannot use this secret: {error}")
        session.commit()
    return Response(exact_json.encode(_status_body(status)), headers=NO_STORE, media_type=JSON)


# -- routes --------------------------------------------------------------------------------------


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM: {"schema": schema_catalog.openapi_ref("Problem")}},
    }


def install(app: FastAPI) -> None:
    """Register the ECIS routes, with their bodies in the OpenAPI document."""
    answers = [
        schema_catalog.openapi_ref(name)
        for name in ("EcisBasic", "EcisInvoice", "EcisInvoiceDetail")
    ]
    app.add_api_route(
        REQUEST_PATH,
        ecis_request,
        methods=["POST"],
        name="ecis_request",
        summary="Answer an ECIS basic, invoice or invoice_detail request (seed 004)",
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JWT_MEDIA: {"schema": {"type": "string", "maxLength": MAX_REQUEST_BYTES}},
                    FORM_MEDIA: {
                        "schema": {
                            "type": "object",
                            "required": ["request"],
                            "properties": {"request": {"type": "string"}},
                        }
                    },
                },
            }
        },
        responses={
            200: {"content": {JSON: {"schema": {"oneOf": answers}}}},
            400: _problem_response("malformed, invalid, expired or replayed request JWT"),
            401: _problem_response("missing, unknown, expired or revoked access token"),
            403: _problem_response("account or invoice outside the authorization, or no right"),
            404: _problem_response("no such invoice on the account"),
            413: _problem_response("request body over 8 KiB"),
            415: _problem_response("not application/jwt"),
        },
    )
    keys_body = {
        "type": "object",
        "properties": {
            "jwks": {"type": "object", "required": ["keys"]},
            "hs256": {"type": "boolean"},
        },
    }
    keys_answer: dict[int | str, dict[str, Any]] = {200: {"content": {JSON: {"schema": keys_body}}}}
    app.add_api_route(
        KEYS_PATH,
        get_keys,
        methods=["GET"],
        name="ecis_keys",
        summary="The client's registered ECIS verification keys (HTTP Basic)",
        response_class=Response,
        responses={**keys_answer, 401: _problem_response("client authentication failed")},
    )
    app.add_api_route(
        KEYS_PATH,
        put_keys,
        methods=["PUT"],
        name="ecis_register_keys",
        summary="Register a public JWK Set and/or enable HS256 for ECIS requests (HTTP Basic)",
        response_class=Response,
        openapi_extra={"requestBody": {"content": {JSON: {"schema": keys_body}}}},
        responses={
            **keys_answer,
            400: _problem_response("keys refused"),
            401: _problem_response("client authentication failed"),
        },
    )
