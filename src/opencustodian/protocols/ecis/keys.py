"""The public keys a third party registers to sign its ECIS requests (RFC 7517 JWK Set).

``PUT /ecis/v1/keys`` takes ``{"jwks": {"keys": [...]}}`` and/or ``{"hs256": true|false}``.
A JWK Set is accepted only when every key is a public signing key this custodian verifies
with (RFC 8725 §3.5, §2.4):

- at most ``MAX_KEYS`` keys; each a JSON object with ``kty`` ``EC`` on curve ``P-256``
  (ES256) or ``RSA`` with a modulus of ``MIN_RSA_BITS`` to ``MAX_RSA_BITS`` bits (RS256);
- no private member (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``oth``, ``k``): a key set
  holding private material is refused outright, never stripped, because the third party must
  learn that it leaked it;
- ``use`` (if given) ``sig``; ``alg`` (if given) the one algorithm its type verifies;
  ``key_ops`` (if given) containing ``verify``; ``kid`` (if given) a short string, unique in
  the set;
- the key must import (the EC point on the curve, the RSA modulus well formed).

What is kept is each key's public members only (``kty``, ``crv``/``x``/``y`` or ``n``/``e``,
and ``kid``, ``use``, ``alg`` when given), in that order.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_KEYS: Final = 10
MIN_RSA_BITS: Final = 2048
MAX_RSA_BITS: Final = 8192
MAX_KID_CHARS: Final = 200
PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_PUBLIC: Final = {"EC": ("kty", "crv", "x", "y"), "RSA": ("kty", "n", "e")}
_ALGORITHM: Final = {"EC": "ES256", "RSA": "RS256"}
_OPTIONAL: Final = ("kid", "use", "alg")


class KeySetError(ValueError):
    """The key set is refused; the message says which key and why."""


@dataclass(frozen=True, slots=True)
class KeyRegistration:
    """What a ``PUT /ecis/v1/keys`` body asks: a new JWK Set and/or the HS256 choice."""

    #: The checked public key set; None when the body does not change the keys.
    jwks: dict[str, list[dict[str, str]]] | None
    #: True to enable HS256, False to disable it, None to leave it as it is.
    hs256: bool | None


def read_registration(body: object) -> KeyRegistration:
    """The registration a request body asks for; ``KeySetError`` names what is wrong."""
    if not isinstance(body, dict):
        msg = "the body must be a JSON object"
        raise KeySetError(msg)
    unknown = sorted(set(body) - {"jwks", "hs256"})
    if unknown:
        msg = f"unknown member {unknown[0]!r}; send jwks and/or hs256"
        raise KeySetError(msg)
    if not body:
        msg = "send jwks and/or hs256"
        raise KeySetError(msg)
    hs256 = body.get("hs256")
    if hs256 is not None and not isinstance(hs256, bool):
        msg = "hs256 must be true or false"
        raise KeySetError(msg)
    jwks = checked_key_set(body["jwks"]) if "jwks" in body else None
    return KeyRegistration(jwks, hs256)


def checked_key_set(value: object) -> dict[str, list[dict[str, str]]]:
    """``value`` as a public JWK Set this custodian verifies with (module docstring)."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        msg = 'jwks must be a JWK Set: {"keys": [...]}'
        raise KeySetError(msg)
    keys = value["keys"]
    if len(keys) > MAX_KEYS:
        msg = f"at most {MAX_KEYS} keys may be registered"
        raise KeySetError(msg)
    checked = [checked_key(key, number) for number, key in enumerate(keys)]
    kids = [key["kid"] for key in checked if "kid" in key]
    if len(kids) != len(set(kids)):
        msg = "two keys share one kid"
        raise KeySetError(msg)
    return {"keys": checked}


def checked_key(key: object, number: int) -> dict[str, str]:
    """One public signing key, reduced to its public members."""
    where = f"keys[{number}]"
    if not isinstance(key, dict):
        msg = f"{where} is not a JSON object"
        raise KeySetError(msg)
    private = sorted(PRIVATE_MEMBERS & set(key))
    if private:
        msg = f"{where} holds private key material ({', '.join(private)}); send public keys only"
        raise KeySetError(msg)
    kty = key.get("kty")
    if kty not in _PUBLIC:
        msg = f"{where}: kty must be EC (P-256) or RSA"
        raise KeySetError(msg)
    _check_members(key, kty, where)
    public = {name: key[name] for name in _PUBLIC[kty]}
    for name in _OPTIONAL:
        if name in key:
            public[name] = key[name]
    _check_import(public, kty, where)
    return public


def _check_members(key: Mapping[str, Any], kty: str, where: str) -> None:
    for name in _PUBLIC[kty]:
        if not isinstance(key.get(name), str) or not key[name]:
            msg = f"{where}: {name} is required"
            raise KeySetError(msg)
    if kty == "EC" and key["crv"] != "P-256":
        msg = f"{where}: only the P-256 curve (ES256) is accepted"
        raise KeySetError(msg)
    if "use" in key and key["use"] != "sig":
        msg = f"{where}: use must be sig"
        raise KeySetError(msg)
    if "alg" in key and key["alg"] != _ALGORITHM[kty]:
        msg = f"{where}: alg must be {_ALGORITHM[kty]} for a {kty} key"
        raise KeySetError(msg)
    if "key_ops" in key and (
        not isinstance(key["key_ops"], list) or "verify" not in key["key_ops"]
    ):
        msg = f"{where}: key_ops must include verify"
        raise KeySetError(msg)
    kid = key.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_CHARS):
        msg = f"{where}: kid must be a string of 1 to {MAX_KID_CHARS} characters"
        raise KeySetError(msg)
    if kty == "RSA":
        bits = _modulus_bits(key["n"], where)
        if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
            msg = f"{where}: an RSA modulus must be {MIN_RSA_BITS} to {MAX_RSA_BITS} bits"
            raise KeySetError(msg)


def _modulus_bits(value: str, where: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        msg = f"{where}: n is not base64url"
        raise KeySetError(msg) from error
    return int.from_bytes(raw, "big").bit_length()


def _check_import(public: dict[str, str], kty: str, where: str) -> None:
    try:
        if kty == "EC":
            ECKey.import_key(dict(public))
        else:
            RSAKey.import_key(dict(public))
    except (JoseError, ValueError, TypeError) as error:
        msg = f"{where} is not a valid {kty} public key"
        raise KeySetError(msg) from error
