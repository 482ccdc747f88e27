"""Delivery over real SMTP: MIME shape, sealed link tokens, retries, held mail, login and TLS."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from opencustodian.domain import notifications
from opencustodian.domain.mail import LINK_TOKEN_PLACEHOLDER
from opencustodian.jobs.queue import InProcessJobs
from opencustodian.jobs.work import deliver_emails
from opencustodian.kit.sealing import SealError, open_sealed
from opencustodian.kit.smtp_url import parse_smtp_url
from opencustodian.kit.time import utc_now
from opencustodian.services.smtp import SmtpTransport
from opencustodian.storage.db import session_factory
from opencustodian.storage.models import OutgoingEmail
from tests.functional.mail.helpers import (
    CUSTOMER_EMAIL,
    KEY,
    SENDER,
    accept_url,
    mail_settings,
    make_due,
    new_token,
    one_time_view,
    queue,
    rows,
)
from tests.mail import SmtpServer


def invite(engine, token=None, *, hold=False):
    """Queue one invitation (EM201) to the customer; its token."""
    token = token or new_token()
    queue(engine, lambda mailer: mailer.invitation(one_time_view(), token, resend=False), hold=hold)
    return token


def deliver(engine, smtp_url, **options):
    return deliver_emails(session_factory(engine), mail_settings(smtp_url), **options)


def test_a_message_is_multipart_alternative_with_its_headers(engine, smtp_server):
    invite(engine)
    assert deliver(engine, smtp_server.url).delivered == 1
    [mail] = smtp_server.wait_for(1)

    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert str(message["From"]) == SENDER
    assert mail.mail_from == "no-reply@custodian.example"  # the envelope sender
    assert message["Date"].datetime.tzinfo is not None
    [row] = rows(engine)
    created = int(row.created_at.timestamp())
    assert str(message["Message-ID"]) == f"<outbox.{row.id}.{created}@custodian.example>"
    assert str(message["Auto-Submitted"]) == "auto-generated"


def test_the_link_token_is_sealed_in_the_table_and_dropped_once_sent(engine, smtp_server):
    token = invite(engine)
    [row] = rows(engine)
    # In the table: the bodies hold a placeholder, the token only sealed for this recipient.
    assert row.sealed_secret is not None
    for stored in (row.body_text, row.body_html, row.sealed_secret):
        assert token not in stored
    assert LINK_TOKEN_PLACEHOLDER in row.body_text
    assert LINK_TOKEN_PLACEHOLDER in row.body_html
    with pytest.raises(SealError):
        open_sealed(row.sealed_secret, owner="email:someone.else@example.com", server_key=KEY)
    with pytest.raises(SealError):
        open_sealed(row.sealed_secret, owner=f"email:{CUSTOMER_EMAIL}", server_key="other key")

    assert deliver(engine, smtp_server.url).delivered == 1
    [mail] = smtp_server.wait_for(1)
    assert accept_url(token) in mail.text  # unsealed into the message as it is sent

    [row] = rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None
    assert row.sealed_secret is None  # dropped after the send
    assert token not in row.body_text
    assert LINK_TOKEN_PLACEHOLDER in row.body_text


def test_a_server_that_is_down_is_retried_until_it_is_up(engine):
    server = SmtpServer()  # not started: connections are refused
    token = invite(engine)
    before = utc_now()
    first = deliver(engine, server.url)
    assert (first.delivered, first.retrying, first.failed) == (0, 1, 0)
    [row] = rows(engine)
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.last_error is not None
    assert "Connection refused" in row.last_error
    # The first gap of domain.notifications' schedule (30 s), counted from the failed attempt.
    assert row.next_attempt_at >= before + notifications.RETRY_GAPS[0]
    assert row.sealed_secret is not None  # kept for the retry

    assert deliver(engine, server.url).retrying == 0  # not due yet: nothing attempted

    server.start()
    try:
        make_due(engine)
        assert deliver(engine, server.url).delivered == 1
        [mail] = server.wait_for(1)
    finally:
        server.stop()
    assert accept_url(token) in mail.text
    [row] = rows(engine)
    assert (row.status, row.attempts, row.last_error, row.sealed_secret) == ("sent", 2, None, None)


def test_temporary_and_permanent_smtp_errors_are_retried(engine, smtp_server):
    smtp_server.refuse_next("451 4.3.0 Try again later")
    smtp_server.refuse_next("554 5.7.1 Message rejected")
    invite(engine)

    assert deliver(engine, smtp_server.url).retrying == 1
    assert rows(engine)[0].last_error == "SMTP 451: 4.3.0 Try again later"
    make_due(engine)
    assert deliver(engine, smtp_server.url).retrying == 1
    assert rows(engine)[0].last_error == "SMTP 554: 5.7.1 Message rejected"
    make_due(engine)
    assert deliver(engine, smtp_server.url).delivered == 1
    assert len(smtp_server.wait_for(1)) == 1
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("sent", 3)


def test_after_the_last_retry_a_message_fails_for_good_and_drops_its_token(engine):
    server = SmtpServer()  # never started
    invite(engine)
    attempts = len(notifications.RETRY_GAPS) + 1
    outcomes = []
    for _ in range(attempts):
        outcomes.append(deliver(engine, server.url))
        make_due(engine)

    assert [outcome.retrying for outcome in outcomes] == [1] * (attempts - 1) + [0]
    assert outcomes[-1].failed == 1
    [row] = rows(engine)
    assert (row.status, row.attempts, row.sealed_secret) == ("failed", attempts, None)
    assert deliver(engine, server.url).failed == 0  # a failed message is not tried again


def test_without_an_smtp_url_mail_is_held_and_never_sent(engine, smtp_server):
    invite(engine, hold=True)
    [row] = rows(engine)
    assert row.status == "held"
    assert row.sealed_secret is not None  # kept: the dev mailbox shows working links

    nothing = deliver(engine, None)
    assert (nothing.delivered, nothing.retrying, nothing.failed) == (0, 0, 0)
    # Held means held: configuring a server later does not send it either.
    assert deliver(engine, smtp_server.url).delivered == 0
    assert smtp_server.messages == []
    assert rows(engine)[0].status == "held"


def test_two_workers_never_claim_the_same_message(engine):
    from opencustodian.storage.mail import SqlMailOutbox  # noqa: PLC0415 - only this test

    invite(engine)
    sessions = session_factory(engine)
    now = utc_now()
    with sessions() as first, sessions() as second:
        claimed = SqlMailOutbox(first).claim_due(now, 10, now + timedelta(minutes=5))
        first.commit()
        again = SqlMailOutbox(second).claim_due(now, 10, now + timedelta(minutes=5))
        second.commit()
    assert [email.to_address for email in claimed] == [CUSTOMER_EMAIL]
    assert again == []


def test_login_over_starttls(engine, tmp_path):
    server = SmtpServer(credentials=("mailer", "p@ss:word"), tls="starttls", certificates=tmp_path)
    server.start()
    try:
        assert "%40" in server.url  # the password is percent-encoded in the URL
        transport = SmtpTransport(parse_smtp_url(server.url), tls=server.client_tls)
        invite(engine)
        assert deliver(engine, server.url, send=transport.send).delivered == 1
        [mail] = server.wait_for(1)
    finally:
        server.stop()
    assert mail.rcpt_tos == (CUSTOMER_EMAIL,)


def test_implicit_tls_and_a_certificate_that_is_not_trusted(engine, tmp_path):
    server = SmtpServer(tls="implicit", certificates=tmp_path)
    server.start()
    try:
        assert server.url.startswith("smtps://")
        invite(engine)
        # The default context verifies the certificate: a self-signed one is refused.
        assert deliver(engine, server.url).retrying == 1
        assert "CERTIFICATE_VERIFY_FAILED" in (rows(engine)[0].last_error or "")
        make_due(engine)
        trusting = SmtpTransport(parse_smtp_url(server.url), tls=server.client_tls)
        assert deliver(engine, server.url, send=trusting.send).delivered == 1
        assert len(server.wait_for(1)) == 1
    finally:
        server.stop()


def test_a_wrong_password_is_a_failed_attempt(engine):
    server = SmtpServer(credentials=("mailer", "right"))
    server.start()
    try:
        url = server.url.replace(":right@", ":wrong@")
        invite(engine)
        assert deliver(engine, url).retrying == 1
    finally:
        server.stop()
    assert (rows(engine)[0].last_error or "").startswith("SMTP 535")
    assert server.messages == []


def test_in_process_jobs_send_at_once_and_retry_on_their_own(engine, smtp_server, monkeypatch):
    monkeypatch.setattr(notifications, "RETRY_GAPS", (timedelta(seconds=1),) * 5)
    smtp_server.refuse_next("451 4.3.0 Try again later")
    token = invite(engine)
    jobs = InProcessJobs(session_factory(engine), mail_settings(smtp_server.url))

    jobs.emails_queued()
    [mail] = smtp_server.wait_for(1, timeout=20)  # the retry timer sent it, no new call

    assert accept_url(token) in mail.text
    deadline = time.monotonic() + 10
    while rows(engine)[0].status != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("sent", 2)


def test_in_process_jobs_leave_held_mail_alone(engine, smtp_server):
    invite(engine, hold=True)
    InProcessJobs(session_factory(engine), mail_settings(None)).emails_queued()
    InProcessJobs(session_factory(engine)).emails_queued()  # no settings: nothing to send with
    with session_factory(engine)() as session:
        assert session.scalars(select(OutgoingEmail.status)).all() == ["held"]
    assert smtp_server.messages == []
