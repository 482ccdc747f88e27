"""Configuration of the demo third party and the scope sets it offers.

The predefined scope sets are the "sample representation of scopes on a third-party portal" of
the Con Edison onboarding guide (seed 000, §3.1), copied exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opencustodian.client import (
    ClientAuthMethod,
    JsonCodeKey,
    ParamStyle,
    ServerMetadata,
    TokenBodyStyle,
)

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class ScopeOption:
    """A named scope string the customer can tick."""

    name: str
    scope: str


PREDEFINED_SCOPES: tuple[ScopeOption, ...] = (
    ScopeOption(
        "Consumption Electric",
        "FB=1_3_4_5;IntervalDuration=Monthly_3600_900_300;BlockDuration=Monthly_Daily;"
        "HistoryLength=63072000_86400;",
    ),
    ScopeOption(
        "Consumption Electric Net",
        "FB=1_3_4_7;IntervalDuration=Monthly_3600_900_300;BlockDuration=Monthly_Daily;"
        "HistoryLength=63072000_86400;",
    ),
    ScopeOption(
        "Consumption Gas",
        "FB=1_3_4_10;IntervalDuration=Monthly_3600_900_300;BlockDuration=Monthly_Daily;"
        "HistoryLength=63072000_86400;",
    ),
    ScopeOption(
        "Billing Information Without Cost",
        "FB=1_3_15;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63072000;",
    ),
    ScopeOption(
        "Billing Information With Cost",
        "FB=1_3_15_16;IntervalDuration=Monthly;BlockDuration=Monthly;HistoryLength=63072000;",
    ),
    ScopeOption("Retail Customer", "FB=51_53_56_57_58_60;"),
)


@dataclass(frozen=True, slots=True)
class ThirdPartyConfig:
    """Who the demo third party is and which custodian it talks to.

    Attributes:
        name: the third party's display name (e.g. "SunSpark Solar").
        base_url: its own public URL; the redirect URI is ``{base_url}/callback``.
        custodian_name: the utility's display name.
        custodian_base_url: the custodian's base URL (endpoints under ``/oauth/``).
        client_id: the client id the custodian registered.
        client_secret: the client secret (never shown).
        database_path: the SQLite file of this app.
        token_body_style: ``"form"`` (RFC 6749) or ``"json"`` (seed 000).
        authorize_param_style: ``"rfc6749"`` (``client_id``) or ``"seed"`` (``clientId``).
        json_code_key: ``"oauthCode"`` or ``"authCode"`` in JSON code exchanges.
        client_auth_method: ``"client_secret_basic"`` or ``"client_secret_post"``.
        state_lifetime: how long an authorization attempt may take before its state expires.
        time_zone: the IANA zone charts use when a feed declares no LocalTimeParameters
            (None: UTC).
    """

    name: str
    base_url: str
    custodian_name: str
    custodian_base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    database_path: Path | str = "thirdparty.sqlite3"
    token_body_style: TokenBodyStyle = "form"  # noqa: S105 - a body format name, not a secret
    authorize_param_style: ParamStyle = "rfc6749"
    json_code_key: JsonCodeKey = "oauthCode"
    client_auth_method: ClientAuthMethod = "client_secret_basic"
    state_lifetime: timedelta = timedelta(minutes=10)
    time_zone: str | None = None

    def __post_init__(self) -> None:
        """Refuse settings outside their allowed values (they may come from the command line).

        Raises:
            ValueError: a style, key, method or time zone is not one of its allowed values.
        """
        if self.time_zone is not None:
            try:
                ZoneInfo(self.time_zone)
            except (ZoneInfoNotFoundError, ValueError) as error:
                msg = f"time_zone must be an IANA time zone, not {self.time_zone!r}"
                raise ValueError(msg) from error
        choices: tuple[tuple[str, object, object], ...] = (
            ("token_body_style", self.token_body_style, TokenBodyStyle),
            ("authorize_param_style", self.authorize_param_style, ParamStyle),
            ("json_code_key", self.json_code_key, JsonCodeKey),
            ("client_auth_method", self.client_auth_method, ClientAuthMethod),
        )
        for name, value, kind in choices:
            allowed = get_args(kind)
            if value not in allowed:
                msg = f"{name} must be one of {', '.join(allowed)}, not {value!r}"
                raise ValueError(msg)

    @property
    def redirect_uri(self) -> str:
        """Where the custodian sends the customer back: ``{base_url}/callback``."""
        return f"{self.base_url.rstrip('/')}/callback"

    @property
    def endpoints(self) -> ServerMetadata:
        """The custodian's endpoints by convention (``{base}/oauth/authorize`` …)."""
        return ServerMetadata.from_base_url(self.custodian_base_url)
