"""Energy Data Agreements: a customer's letter of authorization to one third party (seed 003).

Glossary: an *agreement* is the seed's "Customer Agreement" (a letter of authorization, LOA).
A third party's user initiates it for one meter (FR 12); the customer accepts or rejects it from
an emailed invitation. A *one-time* agreement yields a single usage report and is then
*Complete* for good (BR 7); an *ongoing* one is *Active* — it opens that meter's data to the
third party through the consent engine — until it is terminated or reaches its end date.

The statuses and which events move between them are decided here, so every entry point (the
third party's pages, the customer's email link, the customer's agreements page, the daily job)
obeys one state machine.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from opencustodian.kit.time import require_aware

#: BR 4: an invitation not answered within 30 days lapses ("Not Accepted").
INVITATION_DAYS = 30
#: BR 10: one-time agreements one third party may initiate per ESIID per year.
ONE_TIME_PER_ESIID_PER_YEAR = 3
#: BR 10's year, counted back from the moment of initiation.
ONE_TIME_LIMIT_WINDOW = timedelta(days=365)
#: The initiation form has three meter rows (seed 003, "Initiate … page 1 of 2").
MAX_METERS_PER_REQUEST = 3
#: EM201: the ESIID is masked "all but last seven".
ESIID_VISIBLE_CHARACTERS = 7
#: Above this many agreements the third party's page opens as a search (seed: "more than 25").
LIST_VIEW_LIMIT = 25
#: The search box takes "a list of up to 100 search items".
MAX_SEARCH_ITEMS = 100
MAX_COMMENTS = 1000

#: FR 3, the seed's message when an ESIID/Meter # pair is not valid (heading and reasons).
PAIR_NOT_VALID = (
    (
        "Your 3rd Party Agreement request cannot be completed at this time due to one of the "
        "following reasons:"
    ),
    "The ESIID specified is incorrect",
    "The Meter # specified is incorrect",
    "The ESIID/Meter # pair specified is not correct",
    (
        "The customer may not have a Smart Meter yet. A meter with a digital display is not "
        "necessarily a Smart Meter. The customer should contact their REP to determine their "
        "meter type."
    ),
    (
        "If the customer has recently received their Smart Meter, the meter information may "
        "not be available for access through the Smart Meter Texas portal until up to 60 days "
        "after installation of the Smart Meter"
    ),
)
#: FR 3, the seed's message when a registered customer's ESIID/Meter #/Email do not match.
COMBINATION_NOT_VALID = "The ESIID/Meter #/Email combination specified is not valid"
#: FR 3: a non-registered request may not name a meter that belongs to a registered account.
PAIR_OF_REGISTERED_CUSTOMER = (
    "The ESIID/Meter # pair specified belongs to a registered customer: answer Yes to "
    "“Is customer already registered?” and give the customer's email address."
)


class AgreementRuleError(ValueError):
    """A request the seed's rules refuse; the message is what the user is shown.

    ``reasons`` lists the seed's bullet points under the message, when it has them (FR 3).
    """

    def __init__(self, message: str, *, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = reasons

    def __str__(self) -> str:
        return " ".join((self.message, *self.reasons))


class AgreementNotFoundError(LookupError):
    """No agreement by that number is visible to the caller (not theirs, or none at all)."""


class StatusChangedError(AgreementRuleError):
    """FR 14: the agreement's status changed before this answer arrived."""


class AgreementKind(StrEnum):
    """What the customer authorizes: one report, or access until an end date."""

    ONE_TIME = "one_time"
    ONGOING = "ongoing"

    @property
    def label(self) -> str:
        """The seed's name for the kind ("Agreement Type")."""
        return "One-Time Energy Data" if self is AgreementKind.ONE_TIME else "Ongoing Energy Data"


class AgreementEvent(StrEnum):
    """Everything that can happen to an agreement."""

    ACCEPT = "accept"
    REJECT = "reject"
    INVITATION_LAPSED = "invitation_lapsed"
    TERMINATE = "terminate"
    REQUEST_EXTENSION = "request_extension"
    END_DATE_REACHED = "end_date_reached"


class AgreementStatus(StrEnum):
    """Where an agreement stands (seed 003: BR 4, 6, 7; FR 14, 16)."""

    PENDING = "pending"
    COMPLETE = "complete"
    REJECTED = "rejected"
    NOT_ACCEPTED = "not_accepted"
    ACTIVE = "active"
    EXTENSION_PENDING = "extension_pending"
    TERMINATED = "terminated"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        """The status as the seed's pages print it."""
        return _STATUS_LABELS[self]

    @property
    def is_final(self) -> bool:
        """BR 6, BR 7: a final agreement is never revived; a new one must be initiated."""
        return self in FINAL_STATUSES

    @property
    def awaits_customer(self) -> bool:
        """Whether an invitation of this agreement is open (FR 14: Pending, Extension Pending)."""
        return self in {AgreementStatus.PENDING, AgreementStatus.EXTENSION_PENDING}

    @property
    def opens_data(self) -> bool:
        """Whether the third party may read the meter's data through the APIs now."""
        return self in {AgreementStatus.ACTIVE, AgreementStatus.EXTENSION_PENDING}

    def after(self, event: AgreementEvent, kind: AgreementKind) -> AgreementStatus:
        """The status ``event`` leads to; raises ``AgreementRuleError`` when it may not happen."""
        target = _TRANSITIONS.get((self, event))
        if target is None:
            raise AgreementRuleError(_refusal(self, event))
        if target is AgreementStatus.COMPLETE and kind is AgreementKind.ONGOING:
            return AgreementStatus.ACTIVE
        return target


_STATUS_LABELS = {
    AgreementStatus.PENDING: "Pending",
    AgreementStatus.COMPLETE: "Complete",
    AgreementStatus.REJECTED: "Rejected",
    AgreementStatus.NOT_ACCEPTED: "Not Accepted",
    AgreementStatus.ACTIVE: "Active",
    AgreementStatus.EXTENSION_PENDING: "Extension Pending",
    AgreementStatus.TERMINATED: "Terminated",
    AgreementStatus.EXPIRED: "Expired",
}

FINAL_STATUSES = frozenset(
    {
        AgreementStatus.COMPLETE,
        AgreementStatus.REJECTED,
        AgreementStatus.NOT_ACCEPTED,
        AgreementStatus.TERMINATED,
        AgreementStatus.EXPIRED,
    }
)

# ``COMPLETE`` after acceptance means "the customer agreed": ``after`` turns it into ``ACTIVE``
# for an ongoing agreement. An extension the customer rejects or lets lapse leaves the
# agreement Active on its old end date.
_TRANSITIONS = {
    (AgreementStatus.PENDING, AgreementEvent.ACCEPT): AgreementStatus.COMPLETE,
    (AgreementStatus.PENDING, AgreementEvent.REJECT): AgreementStatus.REJECTED,
    (AgreementStatus.PENDING, AgreementEvent.INVITATION_LAPSED): AgreementStatus.NOT_ACCEPTED,
    (AgreementStatus.ACTIVE, AgreementEvent.TERMINATE): AgreementStatus.TERMINATED,
    (AgreementStatus.ACTIVE, AgreementEvent.REQUEST_EXTENSION): AgreementStatus.EXTENSION_PENDING,
    (AgreementStatus.ACTIVE, AgreementEvent.END_DATE_REACHED): AgreementStatus.EXPIRED,
    (AgreementStatus.EXTENSION_PENDING, AgreementEvent.ACCEPT): AgreementStatus.ACTIVE,
    (AgreementStatus.EXTENSION_PENDING, AgreementEvent.REJECT): AgreementStatus.ACTIVE,
    (AgreementStatus.EXTENSION_PENDING, AgreementEvent.INVITATION_LAPSED): AgreementStatus.ACTIVE,
    (AgreementStatus.EXTENSION_PENDING, AgreementEvent.TERMINATE): AgreementStatus.TERMINATED,
    (AgreementStatus.EXTENSION_PENDING, AgreementEvent.END_DATE_REACHED): AgreementStatus.EXPIRED,
}


def _refusal(status: AgreementStatus, event: AgreementEvent) -> str:
    if status is AgreementStatus.NOT_ACCEPTED:
        return "This agreement was not accepted within 30 days and cannot be revived (BR 6)."
    if status is AgreementStatus.COMPLETE:
        return "This agreement is Complete and cannot be revived (BR 7)."
    if status.is_final:
        return f"This agreement is {status.label} and cannot be revived."
    return f"An agreement in status {status.label} cannot be changed that way ({event.value})."


class ReportType(StrEnum):
    """The one-time report's granularity (seed: "15 minute interval, Daily, Monthly" csv)."""

    INTERVAL = "interval"
    DAILY = "daily"
    MONTHLY = "monthly"

    @property
    def label(self) -> str:
        """As the form and EM201 print it."""
        return {"interval": "15 minute interval", "daily": "Daily", "monthly": "Monthly"}[
            self.value
        ]


class ReportDuration(StrEnum):
    """How far back the one-time report reaches (seed: 1 day, 1, 3, 6 months, 1 year)."""

    ONE_DAY = "1d"
    ONE_MONTH = "1m"
    THREE_MONTHS = "3m"
    SIX_MONTHS = "6m"
    ONE_YEAR = "1y"

    @property
    def label(self) -> str:
        """As the form and EM201 print it."""
        return _DURATION_LABELS[self]

    def start_before(self, end: date) -> date:
        """The first day of a report whose last day is the day before ``end``."""
        if self is ReportDuration.ONE_DAY:
            return end - timedelta(days=1)
        return add_months(end, -_DURATION_MONTHS[self])


_DURATION_LABELS = {
    ReportDuration.ONE_DAY: "1 day",
    ReportDuration.ONE_MONTH: "1 month",
    ReportDuration.THREE_MONTHS: "3 months",
    ReportDuration.SIX_MONTHS: "6 months",
    ReportDuration.ONE_YEAR: "1 year",
}
_DURATION_MONTHS = {
    ReportDuration.ONE_MONTH: 1,
    ReportDuration.THREE_MONTHS: 3,
    ReportDuration.SIX_MONTHS: 6,
    ReportDuration.ONE_YEAR: 12,
}


class OngoingTerm(StrEnum):
    """How long an ongoing agreement lasts once accepted, in months."""

    ONE_MONTH = "1"
    THREE_MONTHS = "3"
    SIX_MONTHS = "6"
    ONE_YEAR = "12"
    TWO_YEARS = "24"
    THREE_YEARS = "36"

    @property
    def label(self) -> str:
        """As the form prints it."""
        months = int(self.value)
        if months % 12 == 0:
            years = months // 12
            return f"{years} year" if years == 1 else f"{years} years"
        return f"{months} month" if months == 1 else f"{months} months"

    def end_after(self, start: date) -> date:
        """The end date (exclusive) of a term starting on ``start``."""
        return add_months(start, int(self.value))


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


class CustomerClass(StrEnum):
    """FR 1, FR 6: residential or business customer (decides fields and registration page)."""

    RESIDENTIAL = "residential"
    BUSINESS = "business"


class Language(StrEnum):
    """FR 1: the optional language preference of a non-registered residential customer."""

    ENGLISH = "en"
    SPANISH = "es"

    @property
    def label(self) -> str:
        """As the form prints it."""
        return "English" if self is Language.ENGLISH else "Español"


class Permission(StrEnum):
    """What a third-party user may do on the agreements pages (FR 10)."""

    VIEW = "view"
    INITIATE = "initiate"
    RESEND = "resend"
    TERMINATE = "terminate"
    EXTEND = "extend"
    DOWNLOAD_REPORT = "download_report"
    MANAGE_USERS = "manage_users"


class ThirdPartyRole(StrEnum):
    """A third-party user's role under the company profile; it decides the permissions."""

    ADMINISTRATOR = "administrator"
    AGENT = "agent"
    VIEWER = "viewer"

    @property
    def permissions(self) -> frozenset[Permission]:
        """FR 10: only these actions are active for the user."""
        return _ROLE_PERMISSIONS[self]

    @property
    def label(self) -> str:
        """Title-case name."""
        return self.value.title()


_ROLE_PERMISSIONS = {
    ThirdPartyRole.ADMINISTRATOR: frozenset(Permission),
    ThirdPartyRole.AGENT: frozenset(
        {Permission.VIEW, Permission.INITIATE, Permission.RESEND, Permission.DOWNLOAD_REPORT}
    ),
    ThirdPartyRole.VIEWER: frozenset({Permission.VIEW, Permission.DOWNLOAD_REPORT}),
}


def allowed_actions(
    status: AgreementStatus, kind: AgreementKind, permissions: frozenset[Permission]
) -> frozenset[Permission]:
    """FR 10 and FR 16: the View & Edit page's buttons that are active for this user now."""
    by_status: set[Permission] = {Permission.VIEW}
    if status is AgreementStatus.PENDING:
        by_status.add(Permission.RESEND)  # FR 16: only while Pending
    if status.opens_data:
        by_status.add(Permission.TERMINATE)
    if status is AgreementStatus.ACTIVE and kind is AgreementKind.ONGOING:
        by_status.add(Permission.EXTEND)
    if status is AgreementStatus.COMPLETE and kind is AgreementKind.ONE_TIME:
        by_status.add(Permission.DOWNLOAD_REPORT)
    return frozenset(by_status & permissions)


def mask_esiid(esiid: str) -> str:
    """EM201: every character but the last seven replaced by ``*``."""
    hidden = max(len(esiid) - ESIID_VISIBLE_CHARACTERS, 0)
    return "*" * hidden + esiid[hidden:]


def invitation_expiry(issued_at: datetime) -> datetime:
    """BR 4: when an invitation issued at ``issued_at`` lapses."""
    return require_aware(issued_at) + timedelta(days=INVITATION_DAYS)


@dataclass(frozen=True, slots=True)
class MeterPair:
    """One ESIID + meter number row of the initiation form."""

    esiid: str
    meter_number: str


_IDENTIFIER = re.compile(r"[A-Za-z0-9-]{1,40}")


def meter_pairs(rows: list[tuple[str, str]]) -> list[MeterPair]:
    """The filled rows of the form's three ESIID/meter rows, checked for shape (FR 12).

    A row with only one of the two filled is refused; so are duplicates and more than three.
    """
    pairs: list[MeterPair] = []
    for index, (given_esiid, given_meter) in enumerate(rows, start=1):
        esiid, meter = given_esiid.strip(), given_meter.strip()
        if not esiid and not meter:
            continue
        if not esiid or not meter:
            msg = f"Meter {index}: give both the ESIID and the meter number."
            raise AgreementRuleError(msg)
        if not _IDENTIFIER.fullmatch(esiid) or not _IDENTIFIER.fullmatch(meter):
            msg = f"Meter {index}: ESIIDs and meter numbers are letters and digits only."
            raise AgreementRuleError(msg)
        pairs.append(MeterPair(esiid, meter))
    if not pairs:
        msg = "Give at least one ESIID and meter number (Meter 1)."
        raise AgreementRuleError(msg)
    if len(pairs) > MAX_METERS_PER_REQUEST:
        msg = f"At most {MAX_METERS_PER_REQUEST} meters per request."
        raise AgreementRuleError(msg)
    if len(set(pairs)) != len(pairs):
        msg = "The same ESIID and meter number are given twice."
        raise AgreementRuleError(msg)
    return pairs


@dataclass(frozen=True, slots=True)
class CustomerDetails:
    """The customer block of the initiation form (for a non-registered customer).

    For a registered customer (FR 2) only the email is asked for and the rest is filled in from
    the customer's records.
    """

    first_name: str
    last_name: str
    street: str
    city: str
    state: str
    zip_code: str
    email: str
    middle_initial: str = ""
    title: str = ""
    company_name: str = ""
    phone: str = ""
    language: Language | None = None

    @property
    def address(self) -> str:
        """One line, as EM201 prints it."""
        return f"{self.street}, {self.city}, {self.state} {self.zip_code}"

    @property
    def full_name(self) -> str:
        """First, middle initial, last."""
        middle = f" {self.middle_initial}." if self.middle_initial else ""
        return f"{self.first_name}{middle} {self.last_name}"


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}")
_ZIP = re.compile(r"\d{5}(-\d{4})?")
_STATE = re.compile(r"[A-Z]{2}")


def check_email(email: str, what: str = "Email Address") -> str:
    """A plausible address (one ``@``, a dotted domain), lower-cased; else a clear refusal."""
    email = email.strip()
    if not _EMAIL.fullmatch(email):
        msg = f"{what}: {email!r} is not an email address."
        raise AgreementRuleError(msg)
    return email.lower()


_REQUIRED = (
    ("first_name", "First Name"),
    ("last_name", "Last Name"),
    ("street", "Street"),
    ("city", "City"),
    ("state", "State"),
    ("zip_code", "Zip"),
)
MAX_FIELD = 100


def check_customer_details(
    details: CustomerDetails, customer_class: CustomerClass
) -> CustomerDetails:
    """The form's customer block validated: required fields, shapes, FR 1's language rule."""
    for attribute, label in _REQUIRED:
        if not getattr(details, attribute).strip():
            msg = f"{label} is required."
            raise AgreementRuleError(msg)
    for attribute in (
        "first_name",
        "last_name",
        "street",
        "city",
        "title",
        "company_name",
        "phone",
    ):
        if len(getattr(details, attribute)) > MAX_FIELD:
            msg = f"{attribute.replace('_', ' ').title()}: at most {MAX_FIELD} characters."
            raise AgreementRuleError(msg)
    if len(details.middle_initial.strip()) > 1:
        msg = "Middle Initial: one letter."
        raise AgreementRuleError(msg)
    state = details.state.strip().upper()
    if not _STATE.fullmatch(state):
        msg = "State: the two-letter code, such as TX."
        raise AgreementRuleError(msg)
    if not _ZIP.fullmatch(details.zip_code.strip()):
        msg = "Zip: five digits (or ZIP+4)."
        raise AgreementRuleError(msg)
    if details.language is not None and customer_class is CustomerClass.BUSINESS:
        msg = "Language Preference is asked only of residential customers (FR 1)."
        raise AgreementRuleError(msg)
    return CustomerDetails(
        first_name=details.first_name.strip(),
        last_name=details.last_name.strip(),
        street=details.street.strip(),
        city=details.city.strip(),
        state=state,
        zip_code=details.zip_code.strip(),
        email=check_email(details.email),
        middle_initial=details.middle_initial.strip().upper(),
        title=details.title.strip(),
        company_name=details.company_name.strip(),
        phone=details.phone.strip(),
        language=details.language,
    )


@dataclass(frozen=True, slots=True)
class ThirdPartyContact:
    """FR 4, FR 5: the company (from its profile) and the contact (prefilled, overridable)."""

    company_name: str
    contact_name: str
    phone: str
    email: str


def check_contact(contact: ThirdPartyContact) -> ThirdPartyContact:
    """The contact block validated (name and email required, shapes, lengths)."""
    if not contact.contact_name.strip():
        msg = "Contact Name is required."
        raise AgreementRuleError(msg)
    if len(contact.contact_name) > MAX_FIELD or len(contact.phone) > MAX_FIELD:
        msg = f"Contact Name and Phone: at most {MAX_FIELD} characters."
        raise AgreementRuleError(msg)
    return ThirdPartyContact(
        company_name=contact.company_name,
        contact_name=contact.contact_name.strip(),
        phone=contact.phone.strip(),
        email=check_email(contact.email, "Contact Email"),
    )


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What the customer is asked to authorize: a report, or ongoing access for a term."""

    kind: AgreementKind
    report_type: ReportType | None = None
    report_duration: ReportDuration | None = None
    term: OngoingTerm | None = None
    comments: str = ""

    def __post_init__(self) -> None:
        """A one-time agreement names its report; an ongoing one its term."""
        if self.kind is AgreementKind.ONE_TIME:
            if self.report_type is None or self.report_duration is None:
                msg = "Choose the Report Type and the Report Duration."
                raise AgreementRuleError(msg)
        elif self.term is None:
            msg = "Choose how long the ongoing agreement lasts."
            raise AgreementRuleError(msg)
        if len(self.comments) > MAX_COMMENTS:
            msg = f"Comments: at most {MAX_COMMENTS} characters."
            raise AgreementRuleError(msg)


def one_time_limit_reached(initiated_in_window: int) -> bool:
    """BR 10: whether another one-time agreement for the ESIID would exceed three a year."""
    return initiated_in_window >= ONE_TIME_PER_ESIID_PER_YEAR


def one_time_limit_message(esiid: str, next_possible: date) -> str:
    """BR 10's refusal, saying when the next one-time agreement becomes possible."""
    return (
        f"A 3rd Party is allowed up to three One-Time Energy Data agreements per ESIID per year: "
        f"ESIID {mask_esiid(esiid)} has reached that limit. The next one-time agreement for it "
        f"is possible on {next_possible:%m/%d/%Y}."
    )


class SearchCriterion(StrEnum):
    """The third party's search criteria (seed: "Select type of agreement search criteria")."""

    AGREEMENT_NUMBER = "agreement_number"
    LAST_NAME = "last_name"
    ESIID = "esiid"
    METER_NUMBER = "meter_number"
    HAN_MAC = "han_mac"

    @property
    def label(self) -> str:
        """As the search page prints it."""
        return _CRITERION_LABELS[self]


_CRITERION_LABELS = {
    SearchCriterion.AGREEMENT_NUMBER: "Agreement Number(s)",
    SearchCriterion.LAST_NAME: "Customer Last Name",
    SearchCriterion.ESIID: "ESIID(s)",
    SearchCriterion.METER_NUMBER: "Meter Number(s)",
    SearchCriterion.HAN_MAC: "HAN Device MAC Address",
}


@dataclass(frozen=True, slots=True)
class SearchTerm:
    """One search item: an exact value, or a prefix when it ended with ``*``."""

    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class AgreementSearch:
    """A parsed search: a criterion and up to 100 items."""

    criterion: SearchCriterion
    terms: tuple[SearchTerm, ...] = field(default=())


_SEARCH_ITEM = re.compile(r"[\w .'-]{1,100}", re.UNICODE)


def parse_search(criterion: str, items: str) -> AgreementSearch:
    """The search form parsed: comma-separated items, each exact or with a trailing ``*``."""
    try:
        chosen = SearchCriterion(criterion)
    except ValueError:
        msg = "Select the type of agreement search criteria."
        raise AgreementRuleError(msg) from None
    raw = [item.strip() for item in items.split(",") if item.strip()]
    if not raw:
        msg = "Type one or more search items, separated by commas."
        raise AgreementRuleError(msg)
    if len(raw) > MAX_SEARCH_ITEMS:
        msg = f"At most {MAX_SEARCH_ITEMS} search items (got {len(raw)})."
        raise AgreementRuleError(msg)
    terms = []
    for item in raw:
        prefix = item.endswith("*")
        text = item.removesuffix("*")
        if not _SEARCH_ITEM.fullmatch(text) or "*" in text:
            msg = f"{item!r}: a search item is letters, digits and an optional trailing *."
            raise AgreementRuleError(msg)
        terms.append(SearchTerm(text, prefix))
    return AgreementSearch(chosen, tuple(terms))


def search_matches(search: AgreementSearch, value: str | None) -> bool:
    """Whether ``value`` matches one of the search's items (names compare case-blind)."""
    if value is None:
        return False
    folded = value.casefold()
    for term in search.terms:
        wanted = term.text.casefold()
        if folded.startswith(wanted) if term.prefix else folded == wanted:
            return True
    return False


@dataclass(frozen=True, slots=True)
class AgreementView:
    """Everything an agreement's pages and emails print (seed 003 View & Edit page, EM201)."""

    number: str
    kind: AgreementKind
    status: AgreementStatus
    company_name: str
    privacy_policy_uri: str | None
    contact_name: str
    contact_phone: str
    contact_email: str
    customer: CustomerDetails
    customer_class: CustomerClass
    customer_registered: bool
    esiid: str
    meter_number: str
    created_at: datetime
    invitation_expires_at: datetime
    report_type: ReportType | None = None
    report_duration: ReportDuration | None = None
    term: OngoingTerm | None = None
    comments: str = ""
    start_date: date | None = None
    end_date: date | None = None
    proposed_end_date: date | None = None

    @property
    def masked_esiid(self) -> str:
        """EM201: the ESIID with all but its last seven characters hidden."""
        return mask_esiid(self.esiid)

    @property
    def description(self) -> str:
        """What the customer authorizes, in one sentence (EM201's bullets)."""
        if self.kind is AgreementKind.ONE_TIME:
            assert self.report_type is not None  # noqa: S101 - AgreementTerms guarantees it
            assert self.report_duration is not None  # noqa: S101 - as above
            return (
                f"A single energy usage report to {self.company_name}: "
                f"{self.report_type.label} usage data for the last {self.report_duration.label}."
            )
        assert self.term is not None  # noqa: S101 - as above
        return (
            f"Access for {self.company_name} to this meter's service address, meter number, "
            f"ESIID and 15-minute usage data for {self.term.label}, until the agreement "
            f"ends or you terminate it."
        )


@dataclass(frozen=True, slots=True)
class MeterHolder:
    """Who holds a meter today: the facts FR 2 fills in and FR 3 validates against."""

    service_point_id: int
    meter_id: int
    esiid: str
    meter_number: str
    account_id: int
    customer_id: int
    registered: bool
    customer: CustomerDetails
    is_business: bool


@dataclass(frozen=True, slots=True)
class AgreementState:
    """The facts the state machine and its side effects need about one agreement."""

    agreement_id: int
    number: str
    kind: AgreementKind
    status: AgreementStatus
    application_id: int
    customer_id: int
    service_point_id: int
    account_id: int
    grant_id: int | None = None
    term: OngoingTerm | None = None
    report_duration: ReportDuration | None = None
    end_date: date | None = None
    proposed_end_date: date | None = None


@dataclass(frozen=True, slots=True)
class NewAgreement:
    """One agreement to insert (FR 12: one per meter of the initiation request)."""

    number: str
    application_id: int
    initiated_by: int | None
    holder: MeterHolder
    registered: bool
    customer_class: CustomerClass
    customer: CustomerDetails
    contact: ThirdPartyContact
    terms: AgreementTerms
    created_at: datetime
    invitation_expires_at: datetime


@dataclass(frozen=True, slots=True)
class InvitationFacts:
    """An invitation link's token row and its agreement's status now."""

    agreement_id: int
    issued_for: AgreementStatus
    expires_at: datetime
    used: bool
    current: AgreementStatus


class InvitationOutcome(StrEnum):
    """What opening an invitation link found (BR 8, FR 13, FR 14)."""

    OPEN = "open"
    EXPIRED = "expired"
    STATUS_CHANGED = "status_changed"
    UNKNOWN = "unknown"

    @property
    def message(self) -> str:
        """What the customer is told."""
        return _OUTCOME_MESSAGES[self]


_OUTCOME_MESSAGES = {
    InvitationOutcome.OPEN: "",
    InvitationOutcome.EXPIRED: (
        "This invitation has expired: it was not accepted or rejected within 30 days."
    ),
    InvitationOutcome.STATUS_CHANGED: (
        "This invitation has expired due to a change in the agreement's status. Go to My "
        "Account / 3rd Party Agreements to review your agreements."
    ),
    InvitationOutcome.UNKNOWN: (
        "This link is not valid. Use the links in the invitation email exactly as they arrived, "
        "or go to My Account / 3rd Party Agreements."
    ),
}


def invitation_outcome(
    *,
    issued_for: AgreementStatus,
    current: AgreementStatus,
    expires_at: datetime,
    used: bool,
    now: datetime,
) -> InvitationOutcome:
    """Whether an invitation link may still be answered, and if not, why.

    FR 14: a status change since the invitation was issued (or the link already used) voids it;
    BR 8 / FR 13: after 30 days the invitation has expired, even before the daily job ran.
    """
    if used or current is not issued_for:
        if current is AgreementStatus.NOT_ACCEPTED:
            return InvitationOutcome.EXPIRED
        return InvitationOutcome.STATUS_CHANGED
    if require_aware(now) >= require_aware(expires_at):
        return InvitationOutcome.EXPIRED
    return InvitationOutcome.OPEN
