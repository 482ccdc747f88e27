"""Sealing a short secret so only this custodian can open it again, and only for its owner.

Client secrets are stored as keyed hashes (``kit.tokens``), which is enough to check a
presented secret but not to verify an HMAC a third party computed *with* it (an ECIS request
signed with HS256, RFC 7518 §3.2). A client that opts in to HS256 therefore has its secret
kept a second time, sealed:

- AES-256-GCM (NIST SP 800-38D) with a fresh 96-bit nonce per seal;
- the key is derived with HKDF-SHA256 (RFC 5869) from the custodian's secret key, with a
  fixed ``info`` naming this one purpose, so the sealing key is never the key that hashes
  tokens;
- the owner's ``client_id`` is the associated data: a sealed value copied onto another
  client's row does not open there.

The sealed form is ``v1.`` followed by the base64url (unpadded) nonce, ciphertext and tag.
Changing the custodian's secret key makes every sealed value unopenable (``SealError``), as it
makes every stored hash unmatchable.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION: Final = "v1."
NONCE_BYTES: Final = 12
KEY_BYTES: Final = 32
#: Longest secret sealed (a client secret is about 48 characters); the sealed text of this
#: many bytes fits the 300-character column.
MAX_SECRET_BYTES: Final = 160
_INFO: Final = b"opencustodian/kit.sealing/v1 client secret"


class SealError(ValueError):
    """A value cannot be sealed, or a sealed value does not open (tampered, wrong owner/key)."""


def _aead(server_key: str) -> AESGCM:
    if not server_key:
        msg = "a sealing key needs the custodian's secret key"
        raise SealError(msg)
    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_INFO).derive(
        server_key.encode()
    )
    return AESGCM(derived)


def seal(secret: str, *, owner: str, server_key: str) -> str:
    """``secret`` sealed for ``owner`` under the custodian's ``server_key``."""
    plain = secret.encode()
    if not plain or len(plain) > MAX_SECRET_BYTES:
        msg = f"a sealed secret must be 1 to {MAX_SECRET_BYTES} bytes"
        raise SealError(msg)
    nonce = os.urandom(NONCE_BYTES)
    sealed = _aead(server_key).encrypt(nonce, plain, owner.encode())
    return VERSION + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")


def open_sealed(sealed: str, *, owner: str, server_key: str) -> str:
    """The secret ``sealed`` holds; ``SealError`` when it was altered or is not ``owner``'s."""
    if not sealed.startswith(VERSION):
        msg = "not a sealed value of a known version"
        raise SealError(msg)
    body = sealed[len(VERSION) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as error:
        msg = "the sealed value is not base64url"
        raise SealError(msg) from error
    if len(raw) <= NONCE_BYTES:
        msg = "the sealed value is too short"
        raise SealError(msg)
    try:
        plain = _aead(server_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], owner.encode())
    except InvalidTag as error:
        msg = "the sealed value was altered, or belongs to another client or key"
        raise SealError(msg) from error
    try:
        return plain.decode()
    except UnicodeDecodeError as error:  # only a forged value that still authenticated
        msg = "the sealed value does not hold text"
        raise SealError(msg) from error
