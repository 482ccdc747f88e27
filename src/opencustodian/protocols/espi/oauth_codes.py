"""Code tables of ESPI's OAuth exchange resources (espi.xsd 4.0 enumerations).

The status, type and use codes are ``UInt16`` unions in espi.xsd (any UInt16 validates; the
enumerated values are the ones with a meaning). Grant types, OAuth errors, the token type and
the token endpoint method are closed ``String32`` enumerations.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from opencustodian.domain.parties import ApplicationStatus

GRANT_TYPES: Final = frozenset({"authorization_code", "client_credentials", "refresh_token"})
ALL_GRANT_TYPES: Final = ("authorization_code", "client_credentials", "refresh_token")
OAUTH_ERRORS: Final = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_redirect_uri",
        "invalid_client_metadata",
        "invalid_client_id",
        "access_denied",
        "unsupported_response_type",
        "server_error",
        "temporarily_unavailable",
    }
)


class DataCustodianApplicationStatus(IntEnum):
    """espi.xsd ``DataCustodianApplicationStatus``: set by the custodian only."""

    REVIEW = 1
    PRODUCTION = 2
    ON_HOLD = 3
    REVOKED = 4

    @classmethod
    def of(cls, status: ApplicationStatus) -> DataCustodianApplicationStatus:
        """The wire code of a domain status (a test application is "in review", not live)."""
        return _CUSTODIAN_STATUS[status]


_CUSTODIAN_STATUS: Final = {
    ApplicationStatus.TEST: DataCustodianApplicationStatus.REVIEW,
    ApplicationStatus.PRODUCTION: DataCustodianApplicationStatus.PRODUCTION,
    ApplicationStatus.SUSPENDED: DataCustodianApplicationStatus.ON_HOLD,
    ApplicationStatus.REVOKED: DataCustodianApplicationStatus.REVOKED,
}


class ThirdPartyApplicationStatus(IntEnum):
    """espi.xsd ``ThirdPartyApplicatonStatus`` (sic): the third party's own stage."""

    DEVELOPMENT = 1
    REVIEW_TEST = 2
    PRODUCTION = 3
    RETIRED = 4


class ThirdPartyApplicationType(IntEnum):
    """espi.xsd ``ThirdPartyApplicationType``."""

    WEB = 1
    DESKTOP = 2
    MOBILE = 3
    DEVICE = 4


class ThirdPartyApplicationUse(IntEnum):
    """espi.xsd ``ThirdPartyApplicationUse``."""

    ENERGY_MANAGEMENT = 1
    COMPARISONS = 2
    GOVERNMENT = 3
    ACADEMIC = 4
    LAW_ENFORCEMENT = 5


class AuthorizationStatus(IntEnum):
    """espi.xsd ``AuthorizationStatus``."""

    REVOKED = 0
    ACTIVE = 1
    DENIED = 2
