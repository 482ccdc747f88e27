"""Territory weather: one temperature and one sunshine figure per local day, shared by all.

Every customer of the territory sees the same weather, so a heat wave lifts every air
conditioner on the same days. Temperature is a seasonal normal plus a smooth anomaly (a
mean-reverting random walk, day to day); sunshine is drawn per day as clear, partly cloudy or
overcast. The walk starts at a fixed date, so a day's weather depends on the seed and the date
only — not on the window or on how many customers are seeded.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from opencustodian.kit.time import iter_local_days

if TYPE_CHECKING:
    from opencustodian.demo.synthetic.calendar import HistoryWindow

WALK_ANCHOR = date(2000, 1, 1)
BALANCE_POINT_F = 65.0  # the usual base temperature of heating and cooling degree days
_MEAN_F = 54.5  # a New York-like climate: about 32 °F late January, 77 °F late July
_SWING_F = 22.5
_COLDEST_DAY = 21
_YEAR_DAYS = 365.25
_ANOMALY_KEEP = 0.78  # how much of yesterday's anomaly survives: fronts last a few days
_ANOMALY_STEP_F = 3.6
_CLEAR_SHARE = 0.35
_PARTLY_SHARE = 0.40


@dataclass(frozen=True, slots=True)
class Weather:
    """Per-day weather of the window, aligned with ``HistoryWindow.days``."""

    temperatures_f: tuple[float, ...]
    sunshine: tuple[float, ...]

    def cooling_degrees(self, index: int) -> float:
        """Cooling degrees of day ``index`` (°F above the balance point)."""
        return max(0.0, self.temperatures_f[index] - BALANCE_POINT_F)

    def heating_degrees(self, index: int) -> float:
        """Heating degrees of day ``index`` (°F below the balance point)."""
        return max(0.0, BALANCE_POINT_F - self.temperatures_f[index])


def normal_temperature_f(day_of_year: int) -> float:
    """The seasonal normal daily mean temperature of the territory."""
    angle = 2 * math.pi * (day_of_year - _COLDEST_DAY) / _YEAR_DAYS
    return _MEAN_F - _SWING_F * math.cos(angle)


def territory_weather(seed: int, window: HistoryWindow) -> Weather:
    """The weather of every day in ``window`` for ``seed``."""
    rng = random.Random(f"{seed}:weather")
    anchor = min(WALK_ANCHOR, window.first_day)
    anomaly = 0.0
    temperatures: list[float] = []
    sunshine: list[float] = []
    for day in iter_local_days(anchor, window.last_day):
        # Draw the same three numbers every day, inside the window or not, so the stream stays
        # aligned with the date.
        anomaly = _ANOMALY_KEEP * anomaly + rng.gauss(0.0, _ANOMALY_STEP_F)
        sky = _sky(rng.random(), rng.random())
        if day >= window.first_day:
            temperatures.append(normal_temperature_f(day.timetuple().tm_yday) + anomaly)
            sunshine.append(sky)
    return Weather(tuple(temperatures), tuple(sunshine))


def _sky(kind: float, spread: float) -> float:
    """The share of clear-sky sunshine a day gets."""
    if kind < _CLEAR_SHARE:
        return 0.88 + 0.12 * spread
    if kind < _CLEAR_SHARE + _PARTLY_SHARE:
        return 0.45 + 0.43 * spread
    return 0.08 + 0.35 * spread
