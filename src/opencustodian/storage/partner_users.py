"""Third-party portal users: people who act for one company (seed 003 FR 4, FR 5, FR 10).

A user belongs to one registered third party (the company); the role decides which actions
the agreements pages offer. Passwords are stored as Argon2 hashes (``kit.passwords``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from opencustodian.domain.agreements import Permission, ThirdPartyRole
from opencustodian.kit.passwords import hash_password, verify_password
from opencustodian.storage.models import ThirdPartyApplication, ThirdPartyUser

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_USERNAME = 120


class PartnerUserError(ValueError):
    """A user cannot be created as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class PartnerUser:
    """A signed-in third-party user and the company they act for."""

    user_id: int
    application_id: int
    company_name: str
    username: str
    name: str
    phone: str
    email: str
    role: ThirdPartyRole

    @property
    def permissions(self) -> frozenset[Permission]:
        """FR 10: what this user may do."""
        return self.role.permissions

    def may(self, permission: Permission) -> bool:
        """Whether the user's role grants ``permission``."""
        return permission in self.role.permissions


def add_partner_user(  # noqa: PLR0913 - a user's profile has these fields
    session: Session,
    *,
    application_id: int,
    username: str,
    password: str,
    name: str,
    email: str,
    role: ThirdPartyRole,
    phone: str = "",
) -> PartnerUser:
    """Create a user of the company ``application_id``."""
    username = username.strip()
    if not username or len(username) > MAX_USERNAME:
        msg = f"username: 1 to {MAX_USERNAME} characters"
        raise PartnerUserError(msg)
    if len(password) < 8:  # noqa: PLR2004 - NIST SP 800-63B §5.1.1.2 minimum
        msg = "password: at least 8 characters"
        raise PartnerUserError(msg)
    if session.scalar(select(ThirdPartyUser.id).where(ThirdPartyUser.username == username)):
        msg = f"username: {username!r} is taken"
        raise PartnerUserError(msg)
    if session.get(ThirdPartyApplication, application_id) is None:
        msg = f"no third party {application_id}"
        raise PartnerUserError(msg)
    row = ThirdPartyUser(
        application_id=application_id,
        username=username,
        password_hash=hash_password(password),
        name=name.strip(),
        phone=phone.strip(),
        email=email.strip().lower(),
        role=role.value,
    )
    session.add(row)
    session.flush()
    found = partner_user(session, row.id)
    assert found is not None  # noqa: S101 - just inserted
    return found


def partner_user(session: Session, user_id: int) -> PartnerUser | None:
    """The user with ``user_id`` and their company (None once the company is revoked)."""
    row = session.execute(
        select(ThirdPartyUser, ThirdPartyApplication.name, ThirdPartyApplication.status)
        .join(ThirdPartyApplication, ThirdPartyApplication.id == ThirdPartyUser.application_id)
        .where(ThirdPartyUser.id == user_id)
    ).first()
    if row is None:
        return None
    user, company, status = row
    if status in {"suspended", "revoked"}:
        return None
    return PartnerUser(
        user_id=user.id,
        application_id=user.application_id,
        company_name=company,
        username=user.username,
        name=user.name,
        phone=user.phone,
        email=user.email,
        role=ThirdPartyRole(user.role),
    )


def authenticate_partner(session: Session, username: str, password: str) -> PartnerUser | None:
    """The user whose username and password these are (constant work when unknown)."""
    row = session.scalar(select(ThirdPartyUser).where(ThirdPartyUser.username == username))
    if not verify_password(password, row.password_hash if row else None) or row is None:
        return None
    return partner_user(session, row.id)


def partner_users(session: Session, application_id: int) -> list[PartnerUser]:
    """Every user of one company, by username."""
    ids = session.scalars(
        select(ThirdPartyUser.id)
        .where(ThirdPartyUser.application_id == application_id)
        .order_by(ThirdPartyUser.username)
    )
    return [user for user_id in ids if (user := partner_user(session, user_id)) is not None]
