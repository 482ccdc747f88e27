"""Proof Key for Code Exchange with the S256 method (RFC 7636).

The verifier is drawn from the unreserved characters of RFC 7636 §4.1 (43 to 128 of them); the
challenge is ``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`` without padding (§4.2).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from dataclasses import dataclass, field

UNRESERVED = string.ascii_letters + string.digits + "-._~"
MIN_VERIFIER_LENGTH = 43
MAX_VERIFIER_LENGTH = 128
S256 = "S256"


def make_code_verifier(length: int = 64) -> str:
    """A fresh high-entropy ``code_verifier`` (RFC 7636 §4.1).

    Raises:
        ValueError: ``length`` is outside 43–128.
    """
    if not MIN_VERIFIER_LENGTH <= length <= MAX_VERIFIER_LENGTH:
        msg = f"a code_verifier has {MIN_VERIFIER_LENGTH} to {MAX_VERIFIER_LENGTH} characters"
        raise ValueError(msg)
    return "".join(secrets.choice(UNRESERVED) for _ in range(length))


def check_code_verifier(verifier: str) -> str:
    """``verifier`` unchanged if it satisfies RFC 7636 §4.1.

    Raises:
        ValueError: wrong length or a character outside the unreserved set.
    """
    if not MIN_VERIFIER_LENGTH <= len(verifier) <= MAX_VERIFIER_LENGTH:
        msg = f"a code_verifier has {MIN_VERIFIER_LENGTH} to {MAX_VERIFIER_LENGTH} characters"
        raise ValueError(msg)
    if not set(verifier) <= set(UNRESERVED):
        msg = "a code_verifier uses only A-Z, a-z, 0-9, '-', '.', '_' and '~'"
        raise ValueError(msg)
    return verifier


def code_challenge_s256(verifier: str) -> str:
    """The S256 ``code_challenge`` of ``verifier`` (RFC 7636 §4.2), unpadded base64url."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class Pkce:
    """A verifier and its S256 challenge; keep the verifier secret until the code exchange."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = S256

    @classmethod
    def generate(cls, length: int = 64) -> Pkce:
        """A new random pair."""
        return cls.from_verifier(make_code_verifier(length))

    @classmethod
    def from_verifier(cls, verifier: str) -> Pkce:
        """The pair for a known verifier (checked against RFC 7636 §4.1)."""
        return cls(check_code_verifier(verifier), code_challenge_s256(verifier))
