"""Wiring the agreement use cases into a request: one service per transaction, jobs after it.

The service queues emails and reports inside the transaction; only once it has committed are
the jobs started (mail delivery, the report build, BatchList notifications of ended grants),
so nothing is sent for a change that rolled back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencustodian.kit.time import utc_now
from opencustodian.services.agreements import AgreementService
from opencustodian.storage.agreements import SqlAgreementStore

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from opencustodian.web.app import AppContext


def agreement_service(
    context: AppContext, session: Session, now: datetime | None = None
) -> AgreementService:
    """The agreement use cases over ``session`` (the caller commits)."""
    return AgreementService(
        SqlAgreementStore(session),
        context.agreement_mailer(session),
        context.lifecycle(session),
        key=context.key,
        zone=context.profile.time_zone,
        now=now or utc_now(),
    )


def start_follow_up(context: AppContext, service: AgreementService) -> None:
    """After the commit: deliver the queued mail, build queued reports, notify ended grants."""
    if service.effects.emails:
        context.jobs.emails_queued()
    for agreement_id in service.effects.reports:
        context.jobs.report_requested(agreement_id)
    if service.grants_ended:
        context.jobs.notifications_queued()
