"""The development mailbox: held mail with working links, in development and tests only."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from opencustodian.config import Environment, Settings
from opencustodian.web.app import create_app
from tests.functional.mail.helpers import (
    CUSTOMER_EMAIL,
    KEY,
    PARTY_EMAIL,
    accept_url,
    new_token,
    one_time_view,
    queue,
    reject_url,
    rows,
)
from tests.live import serving


def mailbox_app(engine, environment):
    secret = KEY if environment is not Environment.PRODUCTION else "a-production-secret"
    return create_app(Settings(environment=environment, secret_key=secret), engine)


def srcdoc(page: str) -> str:
    """The HTML body inside the page's sandboxed iframe."""
    match = re.search(r'<iframe id="html-body"[^>]* srcdoc="([^"]*)"', page)
    assert match is not None, "no framed HTML body"
    return html.unescape(match.group(1))


@pytest.fixture
def held_mail(engine):
    """An invitation and an acceptance notice, held (no SMTP server); the invitation's token."""
    token = new_token()
    view = one_time_view()

    def write(mailer):
        mailer.invitation(view, token, resend=False)
        mailer.rejected(view)

    queue(engine, write, hold=True)
    return token


def test_the_mailbox_lists_held_mail_newest_first(engine, held_mail):
    del held_mail
    with serving(mailbox_app(engine, Environment.TESTING)) as base:
        page = httpx.get(f"{base}/dev/mailbox")
        filtered = httpx.get(f"{base}/dev/mailbox", params={"to": CUSTOMER_EMAIL})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    table = page.text[page.text.index('<table id="mailbox">') :]
    assert table.index(PARTY_EMAIL) < table.index(CUSTOMER_EMAIL)  # EM205 was queued last
    assert "invites you to a One-Time Energy Data Agreement" in table
    assert table.count('class="status status-held">held') == 2
    assert ">EM201<" in table
    assert ">EM205<" in table
    assert filtered.status_code == 200
    listed = filtered.text[filtered.text.index('<table id="mailbox">') :]
    assert CUSTOMER_EMAIL in listed
    assert "rejected by" not in listed


def test_a_held_invitation_shows_both_bodies_with_working_links(engine, held_mail):
    invitation = rows(engine)[0]
    with serving(mailbox_app(engine, Environment.TESTING)) as base:
        page = httpx.get(f"{base}/dev/mailbox/{invitation.id}")
    assert page.status_code == 200
    framed = srcdoc(page.text)
    assert f'href="{accept_url(held_mail)}"' in framed
    assert f'href="{reject_url(held_mail)}"' in framed
    assert '<base target="_top">' in framed  # links open in the tab, out of the sandbox
    assert 'sandbox="allow-popups' in page.text
    assert "allow-scripts" not in page.text
    text_body = page.text[page.text.index('<pre id="text-body"') :]
    assert accept_url(held_mail) in html.unescape(text_body)
    assert "@@link-token@@" not in page.text
    assert rows(engine)[0].sealed_secret == invitation.sealed_secret  # viewing changes nothing


@pytest.mark.parametrize("path", ["/dev/mailbox", "/dev/mailbox/1"])
def test_the_mailbox_does_not_exist_in_production(engine, held_mail, path):
    del held_mail
    with serving(mailbox_app(engine, Environment.PRODUCTION)) as base:
        response = httpx.get(f"{base}{path}")
    assert response.status_code == 404
    assert "Green Energy" not in response.text


@pytest.mark.parametrize("email_id", ["999999", "abc", "1" * 40, "-1"])
def test_an_unknown_message_is_404(engine, email_id):
    with serving(mailbox_app(engine, Environment.DEVELOPMENT)) as base:
        response = httpx.get(f"{base}/dev/mailbox/{email_id}")
    assert response.status_code == 404
