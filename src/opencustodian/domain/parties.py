"""Third parties and their registered applications.

Glossary: a *third-party application* is ESPI's ApplicationInformation and CDS's client. Its
registration carries the fields of a utility's Green Button registration form (seed 000 §2.2):
who the third party is, where customers are sent back to (exact redirect URIs), where
notifications go, and which data scopes it may ever ask for.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import ip_address
from urllib.parse import urlsplit


class RegistrationError(ValueError):
    """A registration field is missing or wrong; the message names the field."""


class ApplicationStatus(StrEnum):
    """Where an application stands with the utility (seed 001: a third party can be blacklisted).

    ``test`` and ``production`` applications may act; ``suspended`` ones are blacklisted until
    reinstated; ``revoked`` is final.
    """

    TEST = "test"
    PRODUCTION = "production"
    SUSPENDED = "suspended"
    REVOKED = "revoked"

    @property
    def may_act(self) -> bool:
        """Whether tokens of an application in this status work."""
        return self in {ApplicationStatus.TEST, ApplicationStatus.PRODUCTION}


class RegistrationEnvironment(StrEnum):
    """Which environment a registration is for; decides the first status."""

    TEST = "test"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class ApplicationRegistration:
    """The registration form of a third-party application, validated on creation."""

    name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    description: str = ""
    contacts: tuple[str, ...] = ()
    website: str | None = None
    logo_uri: str | None = None
    scope_selection_uri: str | None = None
    notification_uri: str | None = None
    environment: RegistrationEnvironment = RegistrationEnvironment.TEST

    def __post_init__(self) -> None:
        """Refuse a form a utility would send back."""
        problem = _first_missing(self) or _first_too_long(self)
        if problem:
            raise RegistrationError(problem)
        for uri in self.redirect_uris:
            check_callback_uri("redirect_uris", uri)
        for field_name in ("scope_selection_uri", "notification_uri", "website", "logo_uri"):
            value = getattr(self, field_name)
            if value is not None:
                check_callback_uri(field_name, value)

    @property
    def initial_status(self) -> ApplicationStatus:
        """The status a new application starts in."""
        return ApplicationStatus(self.environment.value)


def _first_missing(registration: ApplicationRegistration) -> str | None:
    """The message for the first required field left empty, if any."""
    if not registration.name.strip():
        return "name: a third party needs a name customers recognise"
    if not registration.redirect_uris:
        return "redirect_uris: at least one redirect URI is required"
    if not registration.scopes:
        return "scopes: at least one scope string is required"
    return None


#: The longest value each field may hold (what storage and espi.xsd can carry).
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_URI = 500
MAX_CONTACT = 254
MAX_SCOPE = 256
#: How many values a repeated field may hold.
MAX_ITEMS = 20


def _first_too_long(registration: ApplicationRegistration) -> str | None:
    """The message for the first field over its limit, if any."""
    singles = (
        ("name", registration.name, MAX_NAME),
        ("description", registration.description, MAX_DESCRIPTION),
        ("website", registration.website or "", MAX_URI),
        ("logo_uri", registration.logo_uri or "", MAX_URI),
        ("scope_selection_uri", registration.scope_selection_uri or "", MAX_URI),
        ("notification_uri", registration.notification_uri or "", MAX_URI),
    )
    for field_name, value, limit in singles:
        if len(value) > limit:
            return f"{field_name}: at most {limit} characters (got {len(value)})"
    repeated = (
        ("redirect_uris", registration.redirect_uris, MAX_URI),
        ("contacts", registration.contacts, MAX_CONTACT),
        ("scopes", registration.scopes, MAX_SCOPE),
    )
    for field_name, values, limit in repeated:
        if len(values) > MAX_ITEMS:
            return f"{field_name}: at most {MAX_ITEMS} values (got {len(values)})"
        for value in values:
            if len(value) > limit:
                return f"{field_name}: each value at most {limit} characters (got {len(value)})"
    return None


def check_callback_uri(field_name: str, uri: str) -> None:
    """Refuse URIs that cannot be matched exactly or that would leak codes.

    RFC 9700 §4.1.1: redirect URIs are compared exactly, so no fragments and no wildcards;
    §4.1.4 / RFC 8252 §8.3: plain ``http`` only on the loopback interface.
    """
    parts = urlsplit(uri)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        msg = f"{field_name}: {uri!r} must be an absolute https URI"
        raise RegistrationError(msg)
    if parts.fragment or "*" in uri:
        msg = f"{field_name}: {uri!r} may hold neither a fragment nor a wildcard"
        raise RegistrationError(msg)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        msg = f"{field_name}: {uri!r} must use https (plain http only on loopback)"
        raise RegistrationError(msg)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
