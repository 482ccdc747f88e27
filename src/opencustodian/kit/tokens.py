"""Secrets handed to third parties, and how they are stored: never in the clear.

Client secrets, registration tokens and (later) access and refresh tokens are long random
strings with a readable prefix (so a leaked one is recognisable in logs and scanners). The
database keeps only an HMAC-SHA256 of each, keyed with the server's secret key: the secrets are
high-entropy, so a keyed fast hash is enough (no password stretching needed) and lets a
presented token be found by its hash (RFC 9700 §2.2: credentials stored hashed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_BYTES = 32


def new_secret(prefix: str) -> str:
    """A fresh secret: ``prefix`` + ``_`` + 256 random bits, URL-safe."""
    return f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_secret(secret: str, key: str) -> str:
    """The stored form of ``secret``: hex HMAC-SHA256 under the server ``key``."""
    return hmac.new(key.encode(), secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(secret: str, stored_hash: str, key: str) -> bool:
    """Whether ``secret`` is the one whose hash is ``stored_hash`` (constant-time)."""
    return hmac.compare_digest(hash_secret(secret, key), stored_hash)
