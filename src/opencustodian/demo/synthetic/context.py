"""What every customer of one seed run shares: the window, the weather, ids of reading types.

Built once per run. The demo password is hashed here once and the hash reused for every
synthetic customer: argon2 is deliberately slow (tens of milliseconds), and 100,000 customers
would otherwise spend most of the seed hashing the same public password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from argon2 import PasswordHasher

from opencustodian.demo.synthetic.calendar import HistoryWindow
from opencustodian.demo.synthetic.weather import Weather, territory_weather
from opencustodian.kit.ids import stable_uuid
from opencustodian.kit.time import require_aware, utc_now
from opencustodian.storage.reading_types import ReadingTypeCatalog

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    from sqlalchemy.orm import Session

    from opencustodian.domain.metering import ReadingType
    from opencustodian.profile import CustodianProfile

DEMO_PASSWORD = "demo-password"  # noqa: S105 - the published password of synthetic demo logins


@dataclass(slots=True)
class SeedContext:
    """One seed run's shared state."""

    seed: int
    profile: CustodianProfile
    window: HistoryWindow
    weather: Weather
    password_hash: str
    reading_types: ReadingTypeCatalog = field(default_factory=ReadingTypeCatalog)

    def uuid(self, *parts: object) -> uuid.UUID:
        """A stable id for a seeded row: the same seed and parts give the same UUID."""
        return stable_uuid("seed", self.seed, *parts)

    def reading_type_id(self, session: Session, reading_type: ReadingType) -> int:
        """The row of ``reading_type``: the same row an import of that type uses."""
        return self.reading_types.id_for(session, reading_type)


def build_context(
    profile: CustodianProfile, seed: int, now: datetime | None, history_days: int
) -> SeedContext:
    """The shared state of a run ending at ``now`` (aware; default: the current instant)."""
    moment = utc_now() if now is None else require_aware(now)
    window = HistoryWindow(profile.time_zone, moment, history_days, profile.limits.real_time_window)
    return SeedContext(
        seed=seed,
        profile=profile,
        window=window,
        weather=territory_weather(seed, window),
        password_hash=PasswordHasher().hash(DEMO_PASSWORD),
    )
