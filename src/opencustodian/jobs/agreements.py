"""Agreement jobs (seed 003): the mailer, the report's announcement and the daily sweep.

Thin wrappers over ``services.agreements``; each opens its own transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from opencustodian.jobs.agreement_reports import resume_agreement_reports
from opencustodian.jobs.work import deliver_emails, deliver_notifications, lifecycle_for
from opencustodian.kit.time import utc_now
from opencustodian.services.agreement_mail import OutboxAgreementMailer
from opencustodian.services.agreements import AgreementService
from opencustodian.storage.agreements import SqlAgreementStore
from opencustodian.storage.db import transaction
from opencustodian.storage.mail import SqlMailOutbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy.orm import Session, sessionmaker

    from opencustodian.config import Settings
    from opencustodian.domain.ports import AgreementMailer
    from opencustodian.profile import CustodianProfile

LOG = logging.getLogger(__name__)


def agreement_mailer_for(
    settings: Settings, profile: CustodianProfile, base_url: str
) -> Callable[[Session], AgreementMailer]:
    """A factory of the agreement mailer for one session, linking to ``base_url``.

    With no SMTP server configured, messages are held for the development mailbox.
    """

    def build(session: Session) -> AgreementMailer:
        return OutboxAgreementMailer(
            SqlMailOutbox(session),
            base_url=base_url,
            server_key=settings.secret_key,
            utility_name=profile.name,
            zone=profile.time_zone,
            hold=settings.smtp_url is None,
        )

    return build


def report_announcer(
    mailer: Callable[[Session], AgreementMailer],
) -> Callable[[Session, int], None]:
    """``on_ready`` for the report job: queue EM204 in the transaction that stored the report."""

    def announce(session: Session, agreement_id: int) -> None:
        mailer(session).report_completed(SqlAgreementStore(session).view(agreement_id))

    return announce


def sweep_agreements(
    sessions: sessionmaker[Session],
    settings: Settings,
    profile: CustodianProfile,
    base_url: str,
    *,
    now: datetime | None = None,
) -> tuple[int, int]:
    """BR 4: lapse 30-day-old invitations; end ongoing agreements past their end date.

    Returns how many invitations lapsed and how many agreements expired. Safe to run at any
    time and on several workers at once: every change is conditional on the status seen.
    """
    with transaction(sessions) as session:
        service = AgreementService(
            SqlAgreementStore(session),
            agreement_mailer_for(settings, profile, base_url)(session),
            lifecycle_for(base_url)(session),
            key=settings.secret_key,
            zone=profile.time_zone,
            now=now or utc_now(),
        )
        return service.expire_invitations(), service.end_finished_terms()


#: How often a web process without workers runs the agreement housekeeping.
HOUSEKEEPING_SECONDS = 600.0


def start_housekeeping(
    sessions: sessionmaker[Session],
    settings: Settings,
    profile: CustodianProfile,
    base_url: str,
) -> threading.Thread | None:
    """In a process without workers, run the periodic agreement work in a daemon thread.

    With ``OPENCUSTODIAN_JOBS_URL`` set, workers' periodic tasks do this (returns None). Else,
    every ten minutes and once at start: lapse 30-day-old invitations and finished terms
    (BR 4), build reports left pending by a restart, send due mail and notifications.
    """
    if settings.jobs_url:
        return None
    announce = report_announcer(agreement_mailer_for(settings, profile, base_url))

    def run_forever() -> None:
        while True:
            try:
                sweep_agreements(sessions, settings, profile, base_url)
                resume_agreement_reports(sessions, profile.time_zone, profile.limits, announce)
                deliver_emails(sessions, settings)
                deliver_notifications(sessions)
            except Exception:  # a housekeeping round logs and tries again next time
                LOG.exception("agreement housekeeping round failed")
            time.sleep(HOUSEKEEPING_SECONDS)

    thread = threading.Thread(target=run_forever, name="agreement-housekeeping", daemon=True)
    thread.start()
    return thread
