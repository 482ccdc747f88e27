"""Customer and operator passwords: Argon2id hashes (RFC 9106), never stored in the clear."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()

# Verifying against this hash when a username is unknown keeps the response time the same as
# for a known username, so login timing does not reveal who has an account.
_DUMMY_HASH = _HASHER.hash("no-such-user")


def hash_password(password: str) -> str:
    """The stored form of ``password`` (salted Argon2id)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored_hash: str | None) -> bool:
    """Whether ``password`` matches ``stored_hash``; a missing hash never matches."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
