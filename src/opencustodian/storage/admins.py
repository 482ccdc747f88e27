"""The utility's operators (``AdminUser``): created from the CLI, signed in on ``/admin``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from opencustodian.kit.passwords import hash_password, verify_password
from opencustodian.storage.models import AdminUser

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_USERNAME = 120


class AdminUserError(ValueError):
    """An operator account cannot be created as asked; the message says why."""


def create_admin(session: Session, username: str, password: str) -> int:
    """Add an operator with an Argon2id password hash; returns its id (caller commits).

    Raises `AdminUserError` for an empty or too long username, an empty password, or a
    username already taken.
    """
    username = username.strip()
    if not username or len(username) > MAX_USERNAME:
        msg = f"username: 1 to {MAX_USERNAME} characters"
        raise AdminUserError(msg)
    if not password:
        msg = "password: may not be empty"
        raise AdminUserError(msg)
    if admin_by_username(session, username) is not None:
        msg = f"username: {username!r} is taken"
        raise AdminUserError(msg)
    admin = AdminUser(username=username, password_hash=hash_password(password))
    session.add(admin)
    session.flush()
    return admin.id


def admin_by_username(session: Session, username: str) -> AdminUser | None:
    """The operator signed in as ``username``, if any."""
    return session.scalar(select(AdminUser).where(AdminUser.username == username))


def authenticate_admin(session: Session, username: str, password: str) -> int | None:
    """The operator's id when ``password`` is theirs; None otherwise (same timing either way)."""
    admin = admin_by_username(session, username) if username else None
    if not verify_password(password, admin.password_hash if admin else None):
        return None
    return admin.id if admin else None
