"""The Energy Data Agreement emails (seed 003 EM201–EM205), rendered and queued in the outbox.

Seed 003's invitation email is the model for all of them: who invites, the agreement number,
what the customer authorizes, the privacy-policy paragraph (the third party's link, or "The
Privacy Policy has not been provided."), the disclaimer, the third party's and the customer's
details with the ESIID masked to its last seven characters, the invitation's expiry in the
utility's time zone, the Accept and Reject links and the education paragraphs. Where the seed
names its own portal ("Smart Meter Texas") the utility's name is used.

Every message has a plain-text and an HTML body (autoescaped: a company name or a comment
typed by a third party cannot inject markup). The invitation's link token never enters a
stored body (``services.mail``): links are rendered with a placeholder, and the token is sealed
beside the message until it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from opencustodian.domain.agreements import AgreementKind, AgreementStatus
from opencustodian.domain.mail import LINK_TOKEN_PLACEHOLDER, EmailDraft, EmailTemplate
from opencustodian.services.mail import queue_email

if TYPE_CHECKING:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from opencustodian.domain.agreements import AgreementView
    from opencustodian.domain.ports import MailOutbox

TEMPLATE_DIR: Final = Path(__file__).parent / "templates" / "mail"
#: Seed 003 prints dates as MM/DD/YYYY ("Agreement Start Date: 01/01/2012").
DATE_FORMAT: Final = "%m/%d/%Y"
_WEB_SCHEMES: Final = ("https://", "http://")

_TEMPLATES = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    # HTML bodies are escaped; text bodies are plain text, where escaping would only garble.
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,  # a misspelt field fails the render instead of going blank
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def local_moment(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as the customer reads it: ``04/30/2025 at 2:15 PM EDT`` in ``zone``.

    Spelled out here rather than with ``%p`` and ``%I``, which follow the process locale.
    """
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"  # noqa: PLR2004 - noon splits the day
    return f"{local:{DATE_FORMAT}} at {hour}:{local:%M} {half} {local.tzname()}"


def local_day(day: date | None) -> str:
    """A date as the seed's pages print it, or "N/A" (a one-time agreement has no end date)."""
    return "N/A" if day is None else f"{day:{DATE_FORMAT}}"


def web_link(uri: str | None) -> str | None:
    """``uri`` when it is a web address a mail client may open; None otherwise.

    A third party's privacy-policy URI is shown as a link only when it is http(s): a
    ``javascript:`` or ``data:`` link must not become a clickable button in an email.
    """
    if uri is None or not uri.strip().lower().startswith(_WEB_SCHEMES):
        return None
    return uri.strip()


@dataclass(frozen=True, slots=True)
class _Rendered:
    subject: str
    text: str
    html: str


class OutboxAgreementMailer:
    """``domain.ports.AgreementMailer`` over the outbox (EM201–EM205).

    Messages are queued in the caller's transaction and sent by the mail job after it commits.
    """

    def __init__(  # noqa: PLR0913 - the letterhead of one utility: every argument is needed
        self,
        outbox: MailOutbox,
        *,
        utility_name: str,
        base_url: str,
        zone: ZoneInfo,
        server_key: str,
        hold: bool = False,
    ) -> None:
        """Queue in ``outbox``; links on ``base_url``; times in the utility's ``zone``.

        ``server_key`` seals invitation tokens; ``hold`` keeps every message for the development
        mailbox instead of sending it (pass ``settings.smtp_url is None``).
        """
        self._outbox = outbox
        self._utility = utility_name
        self._base_url = base_url.rstrip("/")
        self._zone = zone
        self._server_key = server_key
        self._hold = hold

    # -- AgreementMailer ------------------------------------------------------------------------

    def invitation(self, agreement: AgreementView, link_token: str, *, resend: bool) -> None:
        """EM201 (or EM202 when ``resend``) to the customer: accept and reject links."""
        template = EmailTemplate.EM202 if resend else EmailTemplate.EM201
        rendered = self._render("invitation", agreement, reminder=resend)
        self._queue(template, agreement.customer.email, rendered, agreement, link_token)

    def accepted(self, agreement: AgreementView) -> None:
        """EM203: confirmation with the agreement's terms to the customer, notice to the party."""
        to_customer = self._render("accepted_customer", agreement)
        self._queue(EmailTemplate.EM203, agreement.customer.email, to_customer, agreement)
        to_party = self._render("accepted_party", agreement)
        self._queue(EmailTemplate.EM203, agreement.contact_email, to_party, agreement)

    def rejected(self, agreement: AgreementView) -> None:
        """EM205: the third party learns the customer rejected the agreement (or extension)."""
        rendered = self._render("rejected", agreement)
        self._queue(EmailTemplate.EM205, agreement.contact_email, rendered, agreement)

    def report_completed(self, agreement: AgreementView) -> None:
        """EM204: the third party's one-time report is ready to download."""
        rendered = self._render("report_completed", agreement)
        self._queue(EmailTemplate.EM204, agreement.contact_email, rendered, agreement)

    # -- rendering ------------------------------------------------------------------------------

    def _queue(
        self,
        template: EmailTemplate,
        to_address: str,
        rendered: _Rendered,
        agreement: AgreementView,
        link_token: str | None = None,
    ) -> None:
        draft = EmailDraft(
            template=template.value,
            to_address=to_address,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            agreement_number=agreement.number,
        )
        queue_email(
            self._outbox,
            draft,
            link_token=link_token,
            server_key=self._server_key,
            hold=self._hold,
        )

    def _render(self, name: str, agreement: AgreementView, *, reminder: bool = False) -> _Rendered:
        values = self._values(agreement)
        subject = _TEMPLATES.get_template(f"{name}.subject.txt").render(values).strip()
        if reminder:
            subject = f"Reminder: {subject}"  # EM202 is EM201 again, marked as a reminder
        values["subject"] = subject
        values["reminder"] = reminder
        return _Rendered(
            subject=subject,
            text=_TEMPLATES.get_template(f"{name}.txt").render(values),
            html=_TEMPLATES.get_template(f"{name}.html").render(values),
        )

    def _values(self, agreement: AgreementView) -> dict[str, Any]:
        """What every template may print, worked out once (the templates only lay it out)."""
        one_time = agreement.kind is AgreementKind.ONE_TIME
        link_base = f"{self._base_url}/agreements/invitation/{LINK_TOKEN_PLACEHOLDER}"
        return {
            "utility": self._utility,
            "a": agreement,
            "one_time": one_time,
            # The seed's sample mixes "Ongoing" into a one-time invitation; the kind decides.
            "kind_name": f"{agreement.kind.label} Agreement",
            "kind_article": "a" if one_time else "an",
            "extension": agreement.status is AgreementStatus.EXTENSION_PENDING,
            "customer_name": agreement.customer.full_name,
            "privacy_link": web_link(agreement.privacy_policy_uri),
            "privacy_text": (agreement.privacy_policy_uri or "").strip(),
            "expires": local_moment(agreement.invitation_expires_at, self._zone),
            "start_date": local_day(agreement.start_date),
            "end_date": local_day(agreement.end_date),
            "proposed_end_date": local_day(agreement.proposed_end_date),
            "accept_url": f"{link_base}/accept",
            "reject_url": f"{link_base}/reject",
            "partner_url": f"{self._base_url}/partner/agreements/{agreement.number}",
            "site_url": self._base_url,
            # EM205 after an extension request: the agreement itself goes on (Active).
            "still_active": agreement.status.opens_data,
            "terms_rows": terms_rows(agreement),
            "party_rows": party_rows(agreement),
            "customer_rows": customer_rows(agreement),
            "meter_rows": [
                ("ESIID", agreement.masked_esiid),
                ("Meter Number", agreement.meter_number),
            ],
        }


def terms_rows(agreement: AgreementView) -> list[tuple[str, str]]:
    """The "Customer Agreement" block of the seed's View & Edit page, label and value."""
    rows = [
        ("Customer Agreement #", agreement.number),
        ("Agreement Type", agreement.kind.label),
        ("Agreement Status", agreement.status.label),
    ]
    if agreement.kind is AgreementKind.ONE_TIME:
        assert agreement.report_type is not None  # noqa: S101 - a one-time agreement has one
        assert agreement.report_duration is not None  # noqa: S101 - as above
        rows += [
            ("Report Type", f"{agreement.report_type.label} csv"),
            ("Report Duration", f"the last {agreement.report_duration.label}"),
        ]
    elif agreement.term is not None:
        rows.append(("Term", agreement.term.label))
    rows += [
        ("Agreement Start Date", local_day(agreement.start_date)),
        ("Agreement End Date", local_day(agreement.end_date)),
    ]
    if agreement.proposed_end_date is not None:
        rows.append(("Proposed End Date", local_day(agreement.proposed_end_date)))
    return rows


def party_rows(agreement: AgreementView) -> list[tuple[str, str]]:
    """EM201's 3rd-party block (FR 4: the company from its profile; FR 5: the contact)."""
    return [
        ("Company Name", agreement.company_name),
        ("3rd Party Email", agreement.contact_email),
        ("3rd Party Phone Number", agreement.contact_phone or "Not provided"),
        ("3rd Party Contact", agreement.contact_name),
        ("Comments", agreement.comments or "None"),
    ]


def customer_rows(agreement: AgreementView) -> list[tuple[str, str]]:
    """EM201's customer block; the ESIID masked "all but last seven"."""
    customer = agreement.customer
    rows = [
        ("Customer First Name", customer.first_name),
        ("Customer Middle Initial", customer.middle_initial or "None"),
        ("Customer Last Name", customer.last_name),
    ]
    if customer.company_name:
        rows.append(("Customer Company Name", customer.company_name))
    return [
        *rows,
        ("Customer Address", customer.address),
        ("Customer Email Address", customer.email),
        ("Customer Phone #", customer.phone or "Not provided"),
        ("ESIID", agreement.masked_esiid),
        ("Meter Number", agreement.meter_number),
    ]
