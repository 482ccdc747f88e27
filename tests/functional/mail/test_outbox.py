"""The outbox's own rules: what may be queued, listing for the mailbox, what is due next."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opencustodian.domain.mail import LINK_TOKEN_PLACEHOLDER, EmailDraft, MailError, MailStatus
from opencustodian.services.mail import queue_email, reveal
from opencustodian.storage.db import session_factory, transaction
from opencustodian.storage.mail import SqlMailOutbox
from tests.functional.mail.helpers import KEY, new_token

LINK = f"https://custodian.example/agreements/invitation/{LINK_TOKEN_PLACEHOLDER}/accept"


def draft(to="customer@example.com", body=f"Accept: {LINK}", **changes):
    values = {
        "template": "EM201",
        "to_address": to,
        "subject": "An invitation",
        "body_text": body,
        "body_html": f"<p>{body}</p>",
    }
    return EmailDraft(**(values | changes))


def queue(engine, message, token, *, hold=True):
    with transaction(session_factory(engine)) as session:
        return queue_email(
            SqlMailOutbox(session), message, link_token=token, server_key=KEY, hold=hold
        )


@pytest.mark.parametrize(
    ("message", "token", "reason"),
    [
        (draft(body="no link here"), "tok", "needs the placeholder in both bodies"),
        (draft(), None, "placeholder but no token"),
        (draft(), "tok en", "URL-safe"),
        (draft(), "x" * 161, "URL-safe"),
        (draft(body=f"{LINK} tok123"), "tok123", "must not be in the stored bodies"),
        (draft(to="a@example.com\r\nBcc: b@example.com"), "tok", "is not one email address"),
        (draft(to="a@example.com, b@example.com"), "tok", "is not one email address"),
        (draft(to="Name <a@example.com>"), "tok", "is not one email address"),
    ],
)
def test_what_cannot_be_queued(engine, message, token, reason):
    with pytest.raises(MailError, match=reason):
        queue(engine, message, token)
    with session_factory(engine)() as session:
        assert SqlMailOutbox(session).messages() == []  # nothing written


def test_a_subject_is_kept_on_one_line(engine):
    queue(engine, draft(subject="Line one\r\nBcc: victim@example.com"), new_token())
    with session_factory(engine)() as session:
        [email] = SqlMailOutbox(session).messages()
    assert email.subject == "Line one Bcc: victim@example.com"


def test_the_mailbox_lists_newest_first_and_filters_by_recipient(engine):
    tokens = [new_token() for _ in range(3)]
    queue(engine, draft(to="one@example.com"), tokens[0])
    queue(engine, draft(to="two@example.com"), tokens[1])
    queue(engine, draft(to="one@example.com"), tokens[2])
    with session_factory(engine)() as session:
        outbox = SqlMailOutbox(session)
        listed = outbox.messages()
        ones = outbox.messages(to_address="ONE@example.com ")
        assert outbox.messages(limit=1) == listed[:1]
        assert outbox.message(listed[0].email_id) == listed[0]
        assert outbox.message(10_000) is None
    assert [email.to_address for email in listed] == [
        "one@example.com",
        "two@example.com",
        "one@example.com",
    ]
    assert [email.email_id for email in listed] == sorted(
        (email.email_id for email in listed), reverse=True
    )
    assert len(ones) == 2
    assert all(email.status is MailStatus.HELD for email in listed)
    # The mailbox shows each message with its own token in the links.
    assert tokens[2] in reveal(listed[0], KEY)[0]
    assert tokens[2] in reveal(listed[0], KEY)[1]


def test_next_due_is_the_earliest_pending_message(engine):
    with session_factory(engine)() as session:
        assert SqlMailOutbox(session).next_due() is None
    queue(engine, draft(), new_token())  # held: never due
    with session_factory(engine)() as session:
        assert SqlMailOutbox(session).next_due() is None
    queue(engine, draft(), new_token(), hold=False)
    with session_factory(engine)() as session:
        due = SqlMailOutbox(session).next_due()
    assert due is not None
    assert due <= datetime.now(tz=UTC)
