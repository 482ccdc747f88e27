"""EM201–EM205 (seed 003) rendered from an agreement, sent over real SMTP, checked as received."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from opencustodian.domain.agreements import AgreementStatus
from opencustodian.jobs.work import deliver_emails
from opencustodian.services.agreement_mail import local_moment
from opencustodian.storage.db import session_factory
from tests.functional.mail.helpers import (
    BASE_URL,
    CUSTOMER_EMAIL,
    ESIID,
    EXPIRES_TEXT,
    MASKED_ESIID,
    PARTY_EMAIL,
    SENDER,
    UTILITY,
    ZONE,
    accept_url,
    active_ongoing_view,
    links,
    mail_settings,
    new_token,
    one_time_view,
    ongoing_view,
    queue,
    reject_url,
    rows,
)

PARTNER_URL = f"{BASE_URL}/partner/agreements/102512000233"
PRIVACY_URL = "https://greenenergy.example/privacy"


def send_all(engine, smtp_server, count):
    """Deliver the outbox through the test server; what arrived."""
    outcome = deliver_emails(session_factory(engine), mail_settings(smtp_server.url))
    assert outcome.delivered == count
    return smtp_server.wait_for(count)


def test_em201_invitation_reaches_the_customer_with_links_masking_and_expiry(engine, smtp_server):
    token = new_token()
    view = one_time_view()
    queue(engine, lambda mailer: mailer.invitation(view, token, resend=False), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert mail.rcpt_tos == (CUSTOMER_EMAIL,)
    assert mail.to == CUSTOMER_EMAIL
    assert str(mail.message["From"]) == SENDER
    assert mail.subject == (
        "Green Energy Services invites you to a One-Time Energy Data Agreement (# 102512000233)"
    )
    for body in (mail.text, mail.html_text):
        assert MASKED_ESIID in body
        assert ESIID not in body  # EM201: all but the last seven characters masked
        assert f"You have until {EXPIRES_TEXT} to accept this invitation" in body
        assert "104051941" in body  # the meter number
        assert "102512000233" in body
        assert "Chika" in body
        assert "Akin" in body
        assert "400 N Olive Street" in body
        assert "James Wilson" in body
        assert PARTY_EMAIL in body
        assert "244-322-5454" in body
        assert "Quote for a 6 kW rooftop system." in body  # the third party's comments
        assert UTILITY.split(" &")[0] in body
        assert "Smart Meter Texas" not in body  # the utility's name, not the seed's portal
        assert "Ongoing" not in body  # the seed's sample mixes the kinds up; this is one-time
        assert "Click Accept to enter a One-Time Energy Data Agreement" in body
        assert "never have to share" in body  # the education paragraphs
    assert ESIID not in mail.html  # nowhere in the markup either (attributes, comments)
    assert view.description in mail.text
    assert "Report Type: Daily csv" in mail.text
    assert "Report Duration: the last 3 months" in mail.text
    assert f"Their privacy policy can be viewed at: {PRIVACY_URL}" in mail.text
    assert "has not been provided" not in mail.text
    assert f"Accept: {accept_url(token)}" in mail.text
    assert f"Reject: {reject_url(token)}" in mail.text
    assert {accept_url(token), reject_url(token), PRIVACY_URL} <= set(links(mail.html))
    assert [row.template for row in rows(engine)] == ["EM201"]


def test_em201_says_when_the_privacy_policy_was_not_provided(engine, smtp_server):
    view = one_time_view(privacy_policy_uri=None)
    queue(engine, lambda mailer: mailer.invitation(view, new_token(), resend=False), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    for body in (mail.text, mail.html_text):
        assert "The Privacy Policy has not been provided." in body
        assert "Their privacy policy can be viewed at" not in body
    assert PRIVACY_URL not in links(mail.html)


def test_a_privacy_policy_that_is_not_a_web_address_is_never_a_link(engine, smtp_server):
    view = one_time_view(privacy_policy_uri="javascript:alert(1)")
    queue(engine, lambda mailer: mailer.invitation(view, new_token(), resend=False), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert not [link for link in links(mail.html) if link.startswith("javascript:")]


def test_em201_for_an_ongoing_agreement_names_it_ongoing_with_its_term(engine, smtp_server):
    token = new_token()
    view = ongoing_view()
    queue(engine, lambda mailer: mailer.invitation(view, token, resend=False), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert mail.subject == (
        "Green Energy Services invites you to an Ongoing Energy Data Agreement (# 102512000233)"
    )
    for body in (mail.text, mail.html_text):
        assert "Click Accept to enter an Ongoing Energy Data Agreement" in body
        assert "One-Time" not in body
        assert "until the agreement ends or you terminate it" in body
        assert MASKED_ESIID in body
        assert ESIID not in body
    assert "Term: 1 year" in mail.text
    assert f"Accept: {accept_url(token)}" in mail.text


def test_em202_is_the_invitation_again_marked_as_a_reminder(engine, smtp_server):
    first, second = new_token(), new_token()
    view = one_time_view()

    def write(mailer):
        mailer.invitation(view, first, resend=False)
        mailer.invitation(view, second, resend=True)

    queue(engine, write, hold=False)
    original, reminder = send_all(engine, smtp_server, 2)

    assert [row.template for row in rows(engine)] == ["EM201", "EM202"]
    assert reminder.subject == f"Reminder: {original.subject}"
    assert reminder.rcpt_tos == (CUSTOMER_EMAIL,)
    assert "This is a reminder" in reminder.text
    assert "This is a reminder" not in original.text
    assert {accept_url(second), reject_url(second)} <= set(links(reminder.html))
    assert accept_url(first) not in reminder.text  # each message carries its own token
    assert f"You have until {EXPIRES_TEXT}" in reminder.text


def test_an_extension_invitation_asks_for_the_new_end_date(engine, smtp_server):
    token = new_token()
    view = active_ongoing_view(
        status=AgreementStatus.EXTENSION_PENDING, proposed_end_date=date(2028, 5, 2)
    )
    queue(engine, lambda mailer: mailer.invitation(view, token, resend=False), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert mail.subject == (
        "Green Energy Services asks to extend your Ongoing Energy Data Agreement # 102512000233"
    )
    for body in (mail.text, mail.html_text):
        assert "asks to extend its end date to" in body
        assert "05/02/2028" in body  # the proposed end date
        assert "05/02/2027" in body  # the current one
        assert f"You have until {EXPIRES_TEXT} to accept this request" in body
    assert {accept_url(token), reject_url(token)} <= set(links(mail.html))


def test_the_expiry_is_printed_in_the_utility_time_zone_in_winter_too(engine, smtp_server):
    view = one_time_view(invitation_expires_at=datetime(2026, 12, 1, 18, 30, tzinfo=UTC))
    queue(engine, lambda mailer: mailer.invitation(view, new_token(), resend=False), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert "You have until 12/01/2026 at 12:30 PM CST" in mail.text  # UTC-6 in December


def test_em203_confirms_to_the_customer_and_notifies_the_third_party(engine, smtp_server):
    view = one_time_view(status=AgreementStatus.COMPLETE, start_date=date(2026, 5, 2))
    queue(engine, lambda mailer: mailer.accepted(view), hold=False)
    received = send_all(engine, smtp_server, 2)

    by_recipient = {mail.rcpt_tos: mail for mail in received}
    assert set(by_recipient) == {(CUSTOMER_EMAIL,), (PARTY_EMAIL,)}
    customer, party = by_recipient[(CUSTOMER_EMAIL,)], by_recipient[(PARTY_EMAIL,)]
    assert customer.subject == (
        "You accepted One-Time Energy Data Agreement # 102512000233 with Green Energy Services"
    )
    # The customer's copy of the agreement (seed P2.3: "with copy of LOA").
    for line in (
        "This is your copy of the agreement",
        "Agreement Status: Complete",
        "Report Type: Daily csv",
        "Agreement Start Date: 05/02/2026",
        "Company Name: Green Energy Services",
        f"Green Energy Services's privacy policy: {PRIVACY_URL}",
    ):
        assert line in customer.text
    assert (
        party.subject == "One-Time Energy Data Agreement # 102512000233 accepted by Chika B. Akin"
    )
    assert "being prepared" in party.text
    assert PARTNER_URL in links(party.html)
    for mail in received:
        for body in (mail.text, mail.html_text):
            assert MASKED_ESIID in body
            assert ESIID not in body
            assert "/agreements/invitation/" not in body  # no answer links after the answer
    assert [row.template for row in rows(engine)] == ["EM203", "EM203"]


def test_em203_of_an_ongoing_agreement_gives_its_dates(engine, smtp_server):
    queue(engine, lambda mailer: mailer.accepted(active_ongoing_view()), hold=False)
    received = send_all(engine, smtp_server, 2)

    customer = next(mail for mail in received if mail.rcpt_tos == (CUSTOMER_EMAIL,))
    party = next(mail for mail in received if mail.rcpt_tos == (PARTY_EMAIL,))
    assert "may read this meter's data from 05/02/2026 until 05/02/2027" in customer.text
    assert "You can terminate the agreement at any time" in customer.text
    assert "from 05/02/2026 until 05/02/2027" in party.text


def test_em204_tells_the_third_party_its_report_is_ready(engine, smtp_server):
    view = one_time_view(status=AgreementStatus.COMPLETE, start_date=date(2026, 5, 2))
    queue(engine, lambda mailer: mailer.report_completed(view), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert mail.rcpt_tos == (PARTY_EMAIL,)
    assert mail.subject == (
        "Energy usage report ready: One-Time Energy Data Agreement # 102512000233"
    )
    assert f"Download the report: {PARTNER_URL}" in mail.text
    assert PARTNER_URL in links(mail.html)
    for body in (mail.text, mail.html_text):
        assert MASKED_ESIID in body
        assert ESIID not in body
        assert "has been completed" in body
    assert [row.template for row in rows(engine)] == ["EM204"]


def test_em205_tells_the_third_party_the_customer_rejected(engine, smtp_server):
    view = one_time_view(status=AgreementStatus.REJECTED)
    queue(engine, lambda mailer: mailer.rejected(view), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert mail.rcpt_tos == (PARTY_EMAIL,)
    assert mail.subject == "One-Time Energy Data Agreement # 102512000233 rejected by Chika B. Akin"
    assert "No data is shared under this agreement." in mail.text
    assert PARTNER_URL in links(mail.html)
    assert MASKED_ESIID in mail.text
    assert ESIID not in mail.text
    assert [row.template for row in rows(engine)] == ["EM205"]


def test_em205_after_a_declined_extension_says_the_agreement_goes_on(engine, smtp_server):
    queue(engine, lambda mailer: mailer.rejected(active_ongoing_view()), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert mail.subject.startswith("Extension of Ongoing Energy Data Agreement # 102512000233")
    assert "The agreement remains Active and ends on 05/02/2027." in mail.text


def test_a_third_party_name_cannot_inject_markup_into_the_html(engine, smtp_server):
    view = one_time_view(company_name='Evil <script>alert("x")</script> Co')
    queue(engine, lambda mailer: mailer.invitation(view, new_token(), resend=False), hold=False)
    [mail] = send_all(engine, smtp_server, 1)

    assert "<script>" not in mail.html
    assert "Evil &lt;script&gt;" in mail.html
    assert 'Evil <script>alert("x")</script> Co' in mail.text  # plain text is not HTML
    assert "\n" not in mail.subject


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 3, 8, 5, 59, tzinfo=UTC), "03/07/2026 at 11:59 PM CST"),
        (datetime(2026, 3, 8, 6, 5, tzinfo=UTC), "03/08/2026 at 12:05 AM CST"),
        (datetime(2026, 3, 8, 8, 0, tzinfo=UTC), "03/08/2026 at 3:00 AM CDT"),  # after the jump
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "11/01/2026 at 1:30 AM CDT"),
        (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), "11/01/2026 at 1:30 AM CST"),  # again
    ],
)
def test_expiry_times_read_in_the_utility_zone_around_dst(moment, shown):
    assert local_moment(moment, ZONE) == shown
