"""The custodian profile: the utility's identity, territory time zone and policy limits.

Read from a TOML file (``OPENCUSTODIAN_PROFILE``), falling back to the bundled default whose
limits are those of seed 000 (a large utility's onboarding guide, §3.3 and §5).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from pathlib import Path


class ProfileError(ValueError):
    """The profile file is missing a field or holds a wrong value."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Token lifetimes, rate limits and data windows the custodian enforces."""

    access_token_seconds: int = 3600
    refresh_token_seconds: int = 365 * 86_400
    authorization_code_seconds: int = 300
    token_calls_per_minute: int = 50
    history_years: int = 2
    real_time_window_hours: int = 24
    real_time_latency_minutes: int = 45
    max_authorization_days: int = 1826
    #: A Batch/Subscription request estimated above this many readings is answered ``202``
    #: and built in the background (seed 000 §3.1); Bulk always is.
    sync_feed_max_readings: int = 500_000
    #: How long a finished batch's feed can be fetched.
    batch_result_days: int = 7

    @property
    def max_history_seconds(self) -> int:
        """How far back any interface serves readings: ``history_years`` of 365 days.

        One figure for ESPI feeds, Bulk, CDS and the CLI export, so every interface serves the
        same window of the same grant.
        """
        return self.history_years * 365 * 86_400

    @property
    def real_time_window(self) -> timedelta:
        """How far back readings count as real-time (provisional)."""
        return timedelta(hours=self.real_time_window_hours)

    @property
    def real_time_latency(self) -> timedelta:
        """How long after ingest real-time readings are offered."""
        return timedelta(minutes=self.real_time_latency_minutes)


@dataclass(frozen=True, slots=True)
class CustodianProfile:
    """Who the utility is and what it promises."""

    name: str
    short_name: str
    base_url: str
    time_zone: ZoneInfo
    currency: str
    state: str
    limits: Limits
    #: The Green Button certification page every usage feed links to (``rel="related"``,
    #: research/espi.md §4); None until the utility is certified.
    certification_url: str | None = None
    #: Pages the CDS discovery documents point third parties at (CDS-WG1-01 §3.2 ``support``,
    #: CDS-WG1-02 §3.2 ``cds_human_registration``, ``op_policy_uri``, ``op_tos_uri``); each is
    #: advertised only when set here, so no document names a page this server lacks.
    support_url: str | None = None
    registration_url: str | None = None
    policy_url: str | None = None
    terms_url: str | None = None


def load_profile(path: Path | None = None) -> CustodianProfile:
    """Load ``path``, or the bundled default profile when ``path`` is None."""
    if path is None:
        text = resources.files("opencustodian").joinpath("default_profile.toml").read_text()
        source = "the bundled default profile"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            msg = f"cannot read custodian profile {path}: {error.strerror}"
            raise ProfileError(msg) from error
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        msg = f"{source} is not valid TOML: {error}"
        raise ProfileError(msg) from error
    return _build_profile(data, source)


def _build_profile(data: dict[str, Any], source: str) -> CustodianProfile:
    identity = data.get("identity", {})
    try:
        zone = ZoneInfo(identity.get("time_zone", "America/New_York"))
    except (ZoneInfoNotFoundError, ValueError) as error:
        msg = f"{source}: unknown time zone {identity.get('time_zone')!r}"
        raise ProfileError(msg) from error
    try:
        limits = Limits(**data.get("limits", {}))
    except TypeError as error:
        msg = f"{source}: unknown entry in [limits]: {error}"
        raise ProfileError(msg) from error
    return CustodianProfile(
        name=identity.get("name", "OpenCustodian Demo Utility"),
        short_name=identity.get("short_name", "ODU"),
        base_url=identity.get("base_url", "http://127.0.0.1:8000").rstrip("/"),
        time_zone=zone,
        currency=identity.get("currency", "USD"),
        state=identity.get("state", "NY"),
        limits=limits,
        certification_url=identity.get("certification_url") or None,
        support_url=_web_url(identity, "support_url", source),
        registration_url=_web_url(identity, "registration_url", source),
        policy_url=_web_url(identity, "policy_url", source),
        terms_url=_web_url(identity, "terms_url", source),
    )


def _web_url(identity: dict[str, Any], key: str, source: str) -> str | None:
    """An optional page URL of ``[identity]``: absolute http(s), or None when unset."""
    value = identity.get(key) or None
    if value is not None and (
        not isinstance(value, str) or not value.startswith(("https://", "http://"))
    ):
        msg = f"{source}: identity.{key} must be an absolute http(s) URL"
        raise ProfileError(msg)
    return value
