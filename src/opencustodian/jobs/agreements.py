"""Agreement jobs (seed 003): the daily expiry of invitations and ended terms, and the mailer.

Thin wrappers over ``services.agreements``; each opens its own transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencustodian.services.agreement_mail import OutboxAgreementMailer
from opencustodian.storage.mail import SqlMailOutbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from opencustodian.config import Settings
    from opencustodian.domain.ports import AgreementMailer
    from opencustodian.profile import CustodianProfile


def agreement_mailer_for(
    settings: Settings, profile: CustodianProfile, base_url: str
) -> Callable[[Session], AgreementMailer]:
    """A factory of the agreement mailer for one session, linking to ``base_url``."""

    def build(session: Session) -> AgreementMailer:
        return OutboxAgreementMailer(
            SqlMailOutbox(session),
            base_url=base_url,
            server_key=settings.secret_key,
            utility_name=profile.name,
            zone=profile.time_zone,
        )

    return build
