"""The development mailbox (``/dev/mailbox``): the email outbox read as an inbox.

With no SMTP server configured, outgoing email (seed 003 EM201–EM205) is held in the outbox and
never sent (``services.mail``); this page is where a developer, a tester or a demo audience
reads it, with the invitation links working — the sealed link token is opened for display.
That makes the page as sensitive as the customers' mailboxes, so it exists only in the
``development`` and ``testing`` environments and answers 404 everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from opencustodian.config import Environment
from opencustodian.domain.mail import LINK_TOKEN_PLACEHOLDER, MAX_ADDRESS, EmailTemplate
from opencustodian.kit.sealing import SealError
from opencustodian.services.mail import reveal
from opencustodian.storage.mail import SqlMailOutbox
from opencustodian.web.pages.rendering import render

if TYPE_CHECKING:
    from datetime import datetime

    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from starlette.requests import Request

    from opencustodian.domain.mail import OutboxEmail
    from opencustodian.web.app import AppContext

MAILBOX_PATH: Final = "/dev/mailbox"
#: The newest messages the list shows (a development outbox; older ones by recipient filter).
PAGE_SIZE: Final = 200
#: Longer ids are no row's (they would overflow the database's integer); answered 404.
MAX_ID_DIGITS: Final = 18
_OPEN_ENVIRONMENTS: Final = frozenset({Environment.DEVELOPMENT, Environment.TESTING})
#: Links in the framed email open in the whole tab, as they would from a mail client.
_BASE_TARGET: Final = '<base target="_top">'


def install(app: FastAPI) -> None:
    """Register the mailbox pages (they answer 404 outside development and testing)."""
    app.add_route(MAILBOX_PATH, mailbox_page, methods=["GET"], include_in_schema=False)
    app.add_route(
        f"{MAILBOX_PATH}/{{email_id}}", message_page, methods=["GET"], include_in_schema=False
    )


@dataclass(frozen=True, slots=True)
class _Shown:
    """A message as the pages print it."""

    email: OutboxEmail
    when: datetime
    scenario: str


def _context(request: Request) -> AppContext:
    """The app context, when the environment opens the mailbox; a 404 otherwise."""
    context: AppContext = request.app.state.context
    if context.settings.environment not in _OPEN_ENVIRONMENTS:
        raise HTTPException(status_code=404)
    return context


def _shown(context: AppContext, email: OutboxEmail) -> _Shown:
    try:
        scenario = EmailTemplate(email.template).scenario
    except ValueError:  # a template id of a later kind of message
        scenario = ""
    return _Shown(email, email.created_at.astimezone(context.profile.time_zone), scenario)


async def mailbox_page(request: Request) -> HTMLResponse:
    """``GET /dev/mailbox[?to=address]``: the newest messages first (when, to, subject, status)."""
    context = _context(request)
    recipient = request.query_params.get("to", "").strip()[:MAX_ADDRESS] or None

    def load() -> list[OutboxEmail]:
        with context.sessions() as session:
            return SqlMailOutbox(session).messages(to_address=recipient, limit=PAGE_SIZE)

    emails = await run_in_threadpool(load)
    return render(
        request,
        "mailbox/index.html",
        {
            "messages": [_shown(context, email) for email in emails],
            "recipient": recipient or "",
            "sending": context.settings.smtp_url is not None,
            "page_size": PAGE_SIZE,
        },
    )


async def message_page(request: Request) -> HTMLResponse:
    """``GET /dev/mailbox/{id}``: the text body, and the HTML body in a sandboxed frame."""
    context = _context(request)
    raw_id = str(request.path_params["email_id"])
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > MAX_ID_DIGITS:
        raise HTTPException(status_code=404)

    def load() -> OutboxEmail | None:
        with context.sessions() as session:
            return SqlMailOutbox(session).message(int(raw_id))

    email = await run_in_threadpool(load)
    if email is None:
        raise HTTPException(status_code=404)
    try:
        text, html = reveal(email, context.key)
        sealed_lost = False
    except SealError:  # the secret key changed since it was queued: show the placeholders
        text, html, sealed_lost = email.body_text, email.body_html, True
    # A sent message's token is dropped: its links can only show the placeholder.
    link_dropped = email.sealed_secret is None and LINK_TOKEN_PLACEHOLDER in email.body_text
    return render(
        request,
        "mailbox/message.html",
        {
            "message": _shown(context, email),
            "text": text,
            "srcdoc": _framed(html),
            "sealed_lost": sealed_lost,
            "link_dropped": link_dropped,
        },
    )


def _framed(html: str) -> str:
    """The HTML body for ``<iframe srcdoc>``, its links opening in the whole tab."""
    head = html.find("<head>")
    if head < 0:
        return _BASE_TARGET + html
    at = head + len("<head>")
    return html[:at] + _BASE_TARGET + html[at:]
