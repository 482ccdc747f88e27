"""Setting up the demo: the demo third party's registration and an administrator login.

Run on every ``opencustodian demo`` start, idempotently: the third party is registered once
(then only its secret is renewed, because the custodian keeps just a hash and the demo third
party needs the secret in the clear), and the administrator is created once. The third party
also gets its portal users — one per role, so the agreements pages show what each role may do
(seed 003 FR 10) — and its privacy-policy link, which agreement invitations show (EM201).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from opencustodian.demo.synthetic import DEMO_PASSWORD
from opencustodian.demo.thirdparty.config import PREDEFINED_SCOPES
from opencustodian.domain.agreements import ThirdPartyRole
from opencustodian.domain.parties import ApplicationRegistration, RegistrationEnvironment
from opencustodian.kit.passwords import hash_password
from opencustodian.services.registration import register_application, rotate_client_secret
from opencustodian.storage.applications import SqlApplicationStore
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.models import AdminUser, ThirdPartyApplication, ThirdPartyUser
from opencustodian.storage.partner_users import add_partner_user

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

THIRD_PARTY_NAME = "SunSpark Solar"
ADMIN_USERNAME = "admin"
BULK_SCOPE = "FB=35_67;"
#: The demo third party's portal users (password ``DEMO_PASSWORD``): username, name, role.
PARTNER_USERS = (
    ("sunspark-admin", "Riley Chen", ThirdPartyRole.ADMINISTRATOR),
    ("sunspark-agent", "Jordan Ortiz", ThirdPartyRole.AGENT),
    ("sunspark-viewer", "Casey Morgan", ThirdPartyRole.VIEWER),
)
PARTNER_PHONE = "555-0170"


def demo_registration(tp_base: str) -> ApplicationRegistration:
    """The demo third party's registration form."""
    return ApplicationRegistration(
        name=THIRD_PARTY_NAME,
        description="Sizes rooftop solar and batteries from your real hourly usage.",
        redirect_uris=(f"{tp_base}/callback",),
        scopes=(*(option.scope for option in PREDEFINED_SCOPES), BULK_SCOPE),
        contacts=("developers@sunspark.example",),
        website=tp_base,
        scope_selection_uri=f"{tp_base}/scope-selection",
        notification_uri=f"{tp_base}/notifications",
        environment=RegistrationEnvironment.PRODUCTION,
    )


def prepare(engine: Engine, key: str, tp_base: str) -> tuple[str, str]:
    """Register (or renew) the demo third party and ensure the admin; returns its credentials.

    The third party's portal users and privacy-policy link are ensured too.
    """
    with transaction(session_factory(engine)) as session:
        _ensure_admin(session)
        existing = session.scalar(
            select(ThirdPartyApplication).where(ThirdPartyApplication.name == THIRD_PARTY_NAME)
        )
        store = SqlApplicationStore(session)
        if existing is None:
            issued = register_application(demo_registration(tp_base), store, key)
            credentials = issued.client_id, issued.client_secret
        else:
            existing.redirect_uris = [f"{tp_base}/callback"]
            existing.scope_selection_uri = f"{tp_base}/scope-selection"
            existing.notification_uri = f"{tp_base}/notifications"
            credentials = existing.client_id, rotate_client_secret(existing.client_id, store, key)
        application = session.scalar(
            select(ThirdPartyApplication).where(ThirdPartyApplication.client_id == credentials[0])
        )
        assert application is not None  # noqa: S101 - registered or renewed just above
        # The demo third party serves its policy itself; its port may change between runs.
        application.privacy_policy_uri = f"{tp_base}/privacy"
        _ensure_partner_users(session, application.id)
        return credentials


def _ensure_partner_users(session: Session, application_id: int) -> None:
    """SunSpark Solar's portal users, created once (a changed password is left alone)."""
    for username, name, role in PARTNER_USERS:
        taken = session.scalar(select(ThirdPartyUser.id).where(ThirdPartyUser.username == username))
        if taken is None:
            add_partner_user(
                session,
                application_id=application_id,
                username=username,
                password=DEMO_PASSWORD,
                name=name,
                email=f"{username.removeprefix('sunspark-')}@sunspark.example",
                role=role,
                phone=PARTNER_PHONE,
            )


def _ensure_admin(session: Session) -> None:
    if session.scalar(select(AdminUser.id).where(AdminUser.username == ADMIN_USERNAME)) is None:
        session.add(AdminUser(username=ADMIN_USERNAME, password_hash=hash_password(DEMO_PASSWORD)))
