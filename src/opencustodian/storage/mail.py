"""The email outbox in the database (``outgoing_emails``).

Messages are written in the transaction of the change they report and sent afterwards by a job
(``services.mail``); with no SMTP server configured they are held and shown on the development
mailbox. A message's link token lives only in ``sealed_secret`` and is dropped once it is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from opencustodian.domain.mail import MailStatus, OutboxEmail, clip_error
from opencustodian.storage.models import EnergyDataAgreement, OutgoingEmail

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from opencustodian.domain.mail import EmailDraft


class SqlMailOutbox:
    """Outbox rows over one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    def queue(self, draft: EmailDraft, *, sealed_secret: str | None, held: bool) -> int:
        """Store a message, due at once (or held for the dev mailbox); returns its id."""
        row = OutgoingEmail(
            template=draft.template,
            to_address=draft.to_address,
            subject=draft.subject,
            body_text=draft.body_text,
            body_html=draft.body_html,
            sealed_secret=sealed_secret,
            agreement_id=self._agreement_id(draft.agreement_number),
            status=MailStatus.HELD.value if held else MailStatus.PENDING.value,
            attempts=0,
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def _agreement_id(self, number: str | None) -> int | None:
        """The agreement row a message is about (None when it is not stored, as in tests)."""
        if number is None:
            return None
        return self._session.scalar(
            select(EnergyDataAgreement.id).where(EnergyDataAgreement.number == number)
        )

    def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[OutboxEmail]:
        """Pending messages due at ``now``, oldest first, each claimed until ``lease_until``.

        The claim is a conditional update on the ``next_attempt_at`` just read: of two workers
        that read the same row, only one update matches, so only one sends it. Nothing is held
        locked while the message travels.
        """
        candidates = self._session.execute(
            select(OutgoingEmail.id, OutgoingEmail.next_attempt_at)
            .where(
                OutgoingEmail.status == MailStatus.PENDING.value,
                OutgoingEmail.next_attempt_at <= now,
            )
            .order_by(OutgoingEmail.next_attempt_at, OutgoingEmail.id)
            .limit(limit)
        ).all()
        claimed = [
            email_id
            for email_id, seen in candidates
            if self._claim(email_id, seen=seen, lease_until=lease_until)
        ]
        rows = self._session.scalars(
            select(OutgoingEmail).where(OutgoingEmail.id.in_(claimed)).order_by(OutgoingEmail.id)
        )
        return [_email(row) for row in rows]

    def _claim(self, email_id: int, *, seen: datetime, lease_until: datetime) -> bool:
        result = self._session.execute(
            update(OutgoingEmail)
            .where(
                OutgoingEmail.id == email_id,
                OutgoingEmail.status == MailStatus.PENDING.value,
                OutgoingEmail.next_attempt_at == seen,
            )
            .values(next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def record_attempt(
        self, email_id: int, *, now: datetime, error: str | None, retry_at: datetime | None
    ) -> None:
        """Record one attempt: sent (the sealed secret dropped), retry at ``retry_at``, or failed.

        A message given up on drops its secret too: it will never be sent, so the token has no
        further use and is better not kept.
        """
        row = self._session.get(OutgoingEmail, email_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = clip_error(error) if error else None
        if error is None:
            row.status, row.sent_at, row.sealed_secret = MailStatus.SENT.value, now, None
        elif retry_at is None:
            row.status, row.sealed_secret = MailStatus.FAILED.value, None
        else:
            row.next_attempt_at = retry_at

    def next_due(self) -> datetime | None:
        """When the earliest pending message is next due (None: nothing left to send)."""
        return self._session.scalar(
            select(func.min(OutgoingEmail.next_attempt_at)).where(
                OutgoingEmail.status == MailStatus.PENDING.value
            )
        )

    def messages(self, *, to_address: str | None = None, limit: int = 100) -> list[OutboxEmail]:
        """The newest messages first, optionally only those to one recipient (case-blind)."""
        query = select(OutgoingEmail)
        if to_address:
            query = query.where(func.lower(OutgoingEmail.to_address) == to_address.strip().lower())
        rows = self._session.scalars(
            query.order_by(OutgoingEmail.created_at.desc(), OutgoingEmail.id.desc()).limit(limit)
        )
        return [_email(row) for row in rows]

    def message(self, email_id: int) -> OutboxEmail | None:
        """One message by id."""
        row = self._session.get(OutgoingEmail, email_id)
        return None if row is None else _email(row)


def _email(row: OutgoingEmail) -> OutboxEmail:
    return OutboxEmail(
        email_id=row.id,
        template=row.template,
        to_address=row.to_address,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        sealed_secret=row.sealed_secret,
        status=MailStatus(row.status),
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )
