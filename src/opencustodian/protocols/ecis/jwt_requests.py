"""ECIS requests: a compact JWS (RFC 7515 §7.1) whose claims say what is asked (seed 004).

A third party asks for one shared customer's data by POSTing a signed JWT with its access
token. This module checks the JWT and nothing else (no storage, no clock of its own): bytes and
the client's registered keys in, an ``EcisRequest`` or a ``RequestRejectedError`` with one
stable ``JwtErrorCode`` out. It is written defensively because the token is untrusted input:

- at most ``MAX_TOKEN_BYTES``; three base64url segments (RFC 7515 §2, no padding); header and
  payload UTF-8 JSON objects with no duplicate member and no ``NaN``/``Infinity``;
- ``alg`` is ES256 or RS256 (verified with the client's registered JWK Set, RFC 7517, the key
  named by ``kid`` when there is one) or HS256 (verified with the client's own secret, only for
  a client that opted in). ``none`` and every other algorithm are refused before any key is
  looked at (RFC 8725 §2.1, §3.1); so is an algorithm that does not fit the key's type
  (RFC 8725 §3.1: the key decides the algorithm, never the token alone). ``crit`` is refused:
  no extension is understood (RFC 7515 §4.1.11);
- the claims (RFC 7519 §4.1): ``iss`` is the client id of the access token's client, ``aud``
  is the endpoint URL (a string, or a list containing it), ``iat`` is not in the future beyond
  ``LEEWAY_SECONDS``, ``exp`` is in the future and at most ``MAX_LIFETIME_SECONDS`` after
  ``iat``, ``nbf`` (optional) is not in the future beyond the leeway, and ``jti`` is a short
  string the caller records so it is used once (RFC 7519 §4.1.7);
- seed 004's claims: ``system_account_id``, ``eci_request_type`` (``basic``, ``invoice`` or
  ``invoice_detail``) and, for the invoice requests, ``system_invoice_id``. Identifiers are
  1 to ``MAX_ID_CHARS`` characters with no control character.

``iss`` is compared before the signature is checked so that a token minted for another client
is reported as such (``wrong_issuer``) rather than as a bad signature; every other claim is
read only once the signature holds.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, RSAKey

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from joserfc.jwk import Key

MAX_TOKEN_BYTES: Final = 8192
LEEWAY_SECONDS: Final = 60
MAX_LIFETIME_SECONDS: Final = 600
MAX_JTI_CHARS: Final = 200
MAX_ID_CHARS: Final = 100
MAX_KID_CHARS: Final = 200
#: Latest NumericDate read (9999-12-31T23:59:59Z); beyond it is not a date.
MAX_NUMERIC_DATE: Final = 253_402_300_799

ASYMMETRIC: Final = {"ES256": "EC", "RS256": "RSA"}
ALGORITHMS: Final = (*ASYMMETRIC, "HS256")
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]+")


class RequestType(StrEnum):
    """``eci_request_type`` (seed 004 "ECI Request Types")."""

    BASIC = "basic"
    INVOICE = "invoice"
    INVOICE_DETAIL = "invoice_detail"

    @property
    def names_invoice(self) -> bool:
        """Whether the request needs ``system_invoice_id``."""
        return self is not RequestType.BASIC


class JwtErrorCode(StrEnum):
    """Why a request JWT was refused (the ``oc_code`` of the problem answered)."""

    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_KEY = "unknown_key"
    KEY_MISMATCH = "key_mismatch"
    INVALID_SIGNATURE = "invalid_signature"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    MISSING_CLAIM = "missing_claim"
    BAD_CLAIM = "bad_claim"
    REPLAYED = "replayed"


@dataclass(frozen=True, slots=True)
class RequestRejectedError(Exception):
    """The JWT is refused: a stable code and a sentence for the developer."""

    code: JwtErrorCode
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerificationKeys:
    """What a client registered to verify its requests with."""

    #: Its public JWK Set (``{"keys": [...]}``, checked when registered), or None.
    jwks: Mapping[str, Any] | None = None
    #: Its client secret, present only when it opted in to HS256.
    hs256_secret: str | None = None


@dataclass(frozen=True, slots=True)
class EcisRequest:
    """A verified request."""

    request_type: RequestType
    system_account_id: str
    system_invoice_id: str | None
    jti: str
    issued_at: datetime
    expires_at: datetime
    algorithm: str
    key_id: str | None


def _reject(code: JwtErrorCode, detail: str) -> RequestRejectedError:
    return RequestRejectedError(code, detail)


def verify_request(
    token: bytes | str,
    keys: VerificationKeys,
    *,
    issuer: str,
    audience: str,
    now: datetime,
) -> EcisRequest:
    """The request ``token`` carries, checked as the module docstring says.

    Raises ``RequestRejectedError`` naming the first failed check.
    """
    compact = _compact_text(token)
    header_segment, payload_segment, signature_segment = _segments(compact)
    header = _json_object(header_segment, "header")
    algorithm = _algorithm(header)
    if not signature_segment:
        raise _reject(JwtErrorCode.MALFORMED, "the JWS has no signature")
    claims = _json_object(payload_segment, "payload")
    _check_issuer(claims, issuer)
    key_id = _key_id(header)
    candidates = _candidate_keys(algorithm, key_id, keys)
    if not any(_verifies(compact, key, algorithm) for key in candidates):
        raise _reject(JwtErrorCode.INVALID_SIGNATURE, "the signature does not verify")
    return _request(claims, audience, now, algorithm, key_id)


# -- the envelope --------------------------------------------------------------------------------


def _compact_text(token: bytes | str) -> str:
    raw = token.encode("utf-8", "replace") if isinstance(token, str) else bytes(token)
    if len(raw) > MAX_TOKEN_BYTES:
        raise _reject(JwtErrorCode.TOO_LARGE, f"the JWT is longer than {MAX_TOKEN_BYTES} bytes")
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError as error:
        raise _reject(JwtErrorCode.MALFORMED, "a compact JWS is ASCII text") from error


def _segments(compact: str) -> tuple[str, str, str]:
    parts = compact.split(".")
    if len(parts) != 3:  # noqa: PLR2004 - header, payload, signature (RFC 7515 §7.1)
        raise _reject(JwtErrorCode.MALFORMED, "a compact JWS has three dot-separated parts")
    header, payload, signature = parts
    for name, segment in (("header", header), ("payload", payload)):
        if not segment:
            raise _reject(JwtErrorCode.MALFORMED, f"the JWS {name} is empty")
    for segment in parts:
        if segment and not _SEGMENT.fullmatch(segment):
            raise _reject(JwtErrorCode.MALFORMED, "the JWS parts are not base64url")
    return header, payload, signature


def b64url_decode(segment: str) -> bytes:
    """Unpadded base64url (RFC 7515 §2); ``ValueError`` on anything else."""
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        msg = "not unpadded base64url"
        raise ValueError(msg)
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error as error:
        msg = "not unpadded base64url"
        raise ValueError(msg) from error


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            msg = f"duplicate member {name!r}"
            raise ValueError(msg)
        result[name] = value
    return result


def _no_constant(name: str) -> Any:  # noqa: ANN401 - json's parse_constant hook
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def strict_json(text: bytes) -> object:
    """JSON text as RFC 8259 has it: no duplicate members, no ``NaN``/``Infinity``."""
    return json.loads(
        text.decode("utf-8"), object_pairs_hook=_unique_members, parse_constant=_no_constant
    )


def _json_object(segment: str, name: str) -> dict[str, Any]:
    try:
        value = strict_json(b64url_decode(segment))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise _reject(JwtErrorCode.MALFORMED, f"the JWS {name} is not a JSON object") from error
    if not isinstance(value, dict):
        raise _reject(JwtErrorCode.MALFORMED, f"the JWS {name} is not a JSON object")
    return value


def _algorithm(header: Mapping[str, Any]) -> str:
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or not algorithm:
        raise _reject(JwtErrorCode.MALFORMED, "the JWS header has no alg")
    if algorithm not in ALGORITHMS:
        allowed = ", ".join(ALGORITHMS)
        raise _reject(
            JwtErrorCode.UNSUPPORTED_ALGORITHM,
            f"alg {algorithm[:20]!r} is not accepted; use one of {allowed}",
        )
    if "crit" in header:
        raise _reject(JwtErrorCode.MALFORMED, "no critical header extension is understood")
    if "b64" in header:
        raise _reject(JwtErrorCode.MALFORMED, "unencoded payloads (RFC 7797) are not accepted")
    return algorithm


def _key_id(header: Mapping[str, Any]) -> str | None:
    key_id = header.get("kid")
    if key_id is None:
        return None
    if not isinstance(key_id, str) or not 0 < len(key_id) <= MAX_KID_CHARS:
        raise _reject(JwtErrorCode.MALFORMED, "kid is not a short string")
    return key_id


# -- keys ----------------------------------------------------------------------------------------


def _candidate_keys(algorithm: str, key_id: str | None, keys: VerificationKeys) -> list[Key]:
    """The keys that may have signed with ``algorithm``: by ``kid``, else every fitting one."""
    if algorithm == "HS256":
        if keys.hs256_secret is None:
            raise _reject(
                JwtErrorCode.UNKNOWN_KEY,
                'HS256 is not enabled for this client (PUT /ecis/v1/keys {"hs256": true})',
            )
        return [OctKey.import_key(keys.hs256_secret)]
    registered = _registered(keys.jwks)
    if key_id is not None:
        named = [jwk for jwk in registered if jwk.get("kid") == key_id]
        if not named:
            raise _reject(JwtErrorCode.UNKNOWN_KEY, f"no registered key has kid {key_id!r}")
        if not all(_fits(jwk, algorithm) for jwk in named):
            raise _reject(
                JwtErrorCode.KEY_MISMATCH, f"the key {key_id!r} cannot verify alg {algorithm}"
            )
        fitting = named
    else:
        if not registered:
            raise _reject(JwtErrorCode.UNKNOWN_KEY, "this client has registered no public keys")
        fitting = [jwk for jwk in registered if _fits(jwk, algorithm)]
        if not fitting:
            raise _reject(JwtErrorCode.KEY_MISMATCH, f"no registered key fits alg {algorithm}")
    imported = [key for key in (_imported(jwk) for jwk in fitting) if key is not None]
    if not imported:
        raise _reject(JwtErrorCode.UNKNOWN_KEY, "the registered key cannot be read")
    return imported


def _registered(jwks: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    found = jwks.get("keys") if isinstance(jwks, dict) else None
    return [jwk for jwk in found if isinstance(jwk, dict)] if isinstance(found, list) else []


def _fits(jwk: Mapping[str, Any], algorithm: str) -> bool:
    """Whether ``jwk`` is a key of the type ``algorithm`` needs (and allows it, if it says)."""
    if jwk.get("kty") != ASYMMETRIC.get(algorithm):
        return False
    return bool(jwk.get("alg", algorithm) == algorithm and jwk.get("use", "sig") == "sig")


def _imported(jwk: Mapping[str, Any]) -> Key | None:
    try:
        if jwk.get("kty") == "EC":
            return ECKey.import_key(dict(jwk))
        return RSAKey.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError):
        return None


def _verifies(compact: str, key: Key, algorithm: str) -> bool:
    try:
        jws.deserialize_compact(compact, key, algorithms=[algorithm])
    except (JoseError, ValueError, TypeError):
        return False
    return True


# -- claims --------------------------------------------------------------------------------------

_REQUIRED: Final = ("iss", "aud", "iat", "exp", "jti", "system_account_id", "eci_request_type")


def _check_issuer(claims: Mapping[str, Any], issuer: str) -> None:
    if "iss" not in claims:
        raise _reject(JwtErrorCode.MISSING_CLAIM, "the claim 'iss' is required")
    if not isinstance(claims["iss"], str):
        raise _reject(JwtErrorCode.BAD_CLAIM, "iss must be a string")
    if claims["iss"] != issuer:
        raise _reject(
            JwtErrorCode.WRONG_ISSUER, "iss must be the client_id of the access token's client"
        )


def _request(
    claims: Mapping[str, Any], audience: str, now: datetime, algorithm: str, key_id: str | None
) -> EcisRequest:
    missing = [name for name in _REQUIRED if name not in claims]
    if missing:
        raise _reject(JwtErrorCode.MISSING_CLAIM, f"the claim {missing[0]!r} is required")
    _check_audience(claims["aud"], audience)
    issued_at, expires_at = _check_times(claims, now)
    jti = _identifier(claims["jti"], "jti", MAX_JTI_CHARS)
    account = _identifier(claims["system_account_id"], "system_account_id", MAX_ID_CHARS)
    request_type = _request_type(claims["eci_request_type"])
    invoice = None
    if request_type.names_invoice:
        if "system_invoice_id" not in claims:
            msg = f"the claim 'system_invoice_id' is required for {request_type.value} requests"
            raise _reject(JwtErrorCode.MISSING_CLAIM, msg)
        invoice = _identifier(claims["system_invoice_id"], "system_invoice_id", MAX_ID_CHARS)
    return EcisRequest(
        request_type, account, invoice, jti, issued_at, expires_at, algorithm, key_id
    )


def _check_audience(value: object, audience: str) -> None:
    if isinstance(value, str):
        audiences: Sequence[object] = [value]
    elif isinstance(value, list) and value:
        audiences = value
    else:
        raise _reject(JwtErrorCode.BAD_CLAIM, "aud must be a string or a non-empty list")
    if audience not in audiences:
        raise _reject(JwtErrorCode.WRONG_AUDIENCE, f"aud must be (or contain) {audience}")


def numeric_date(value: object, name: str) -> datetime:
    """A NumericDate claim (RFC 7519 §2) as an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _reject(JwtErrorCode.BAD_CLAIM, f"{name} must be a NumericDate (seconds)")
    if not math.isfinite(value) or not 0 <= value <= MAX_NUMERIC_DATE:
        raise _reject(JwtErrorCode.BAD_CLAIM, f"{name} is not a date")
    return datetime.fromtimestamp(value, tz=UTC)


def _check_times(claims: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    issued_at = numeric_date(claims["iat"], "iat")
    expires_at = numeric_date(claims["exp"], "exp")
    not_before = numeric_date(claims["nbf"], "nbf") if "nbf" in claims else None
    if expires_at <= issued_at:
        raise _reject(JwtErrorCode.BAD_CLAIM, "exp must be after iat")
    if expires_at <= now:
        raise _reject(JwtErrorCode.EXPIRED, "the JWT expired (exp is past)")
    latest = now.timestamp() + LEEWAY_SECONDS
    if issued_at.timestamp() > latest:
        raise _reject(JwtErrorCode.NOT_YET_VALID, "iat is in the future")
    if not_before is not None and not_before.timestamp() > latest:
        raise _reject(JwtErrorCode.NOT_YET_VALID, "nbf is in the future")
    if (expires_at - issued_at).total_seconds() > MAX_LIFETIME_SECONDS:
        raise _reject(
            JwtErrorCode.LIFETIME_TOO_LONG,
            f"exp may be at most {MAX_LIFETIME_SECONDS} seconds after iat",
        )
    return issued_at, expires_at


def _identifier(value: object, name: str, longest: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        raise _reject(JwtErrorCode.BAD_CLAIM, f"{name} must be a string of 1 to {longest} chars")
    if any(unicodedata.category(char) in {"Cc", "Cs"} for char in value):
        raise _reject(JwtErrorCode.BAD_CLAIM, f"{name} holds a control character")
    return value


def _request_type(value: object) -> RequestType:
    if not isinstance(value, str) or value not in set(RequestType):
        allowed = ", ".join(kind.value for kind in RequestType)
        raise _reject(JwtErrorCode.BAD_CLAIM, f"eci_request_type must be one of {allowed}")
    return RequestType(value)
