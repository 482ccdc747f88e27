"""Load shapes: how much a synthetic meter records in each slot of each local day.

A day's energy is a *base* part (lights, appliances, water heating) spread by the day-of-week
shape, plus a *weather* part (cooling above 65 °F, heating below) spread by its own shape.
Shapes are normalised to sum to one over the day's slots, so slot values are shares of the day.
Plain ``math`` only: shapes are computed once per meter and per-interval work stays a multiply.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from opencustodian.kit.time import SECONDS_PER_DAY

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Sequence

    from opencustodian.demo.synthetic.calendar import DayFrame, LocalDay
    from opencustodian.demo.synthetic.weather import Weather

Shape = tuple[float, ...]
"""Share of a day's energy per slot of the local clock day; sums to one."""

_HOURS = 24.0
_LIGHTING_PEAK_DAY = 355  # the winter solstice: the longest evenings need the most light
_YEAR_DAYS = 365.25
_RESIDENTIAL_WEEK = (1.0, 1.0, 1.0, 1.0, 1.03, 1.1, 1.12)
_FLAT_WEEK = (1.0,) * 7


class Bump(NamedTuple):
    """A daily peak: its height, the local hour it centres on, and its width in hours."""

    amplitude: float
    hour: float
    width: float


def slot_hours(slots: int) -> list[float]:
    """The local clock hour at the middle of each of a day's ``slots``."""
    return [(slot + 0.5) * _HOURS / slots for slot in range(slots)]


def bump_shape(slots: int, floor: float, bumps: Sequence[Bump]) -> Shape:
    """A constant floor plus bell-shaped peaks, wrapping around midnight.

    Each peak is a cached bell centred on slot 0, rotated to the slot nearest its hour: no
    ``exp`` per customer, which matters when 100,000 customers each get their own shapes.
    """
    raw = [floor] * slots
    for amplitude, hour, width in bumps:
        bell = _bell(slots, width)
        centre = round(hour * slots / _HOURS - 0.5) % slots
        rotated = bell[-centre:] + bell[:-centre] if centre else bell
        raw = [value + amplitude * share for value, share in zip(raw, rotated, strict=True)]
    return _normalized(raw)


@functools.cache
def business_shape(slots: int, opens: float, closes: float, floor: float) -> Shape:
    """A floor plus a smooth plateau between opening and closing hours.

    Cached: callers round the hours to quarter hours, so 100,000 businesses share a few hundred
    shapes instead of computing thousands of ``exp`` each.
    """
    raw = [
        floor + _sigmoid(2.5 * (hour - opens)) * _sigmoid(2.5 * (closes - hour))
        for hour in slot_hours(slots)
    ]
    return _normalized(raw)


@functools.cache
def _bell(slots: int, width: float) -> tuple[float, ...]:
    """A bell of ``width`` hours centred on slot 0, by circular distance in slots."""
    step = _HOURS / slots
    return tuple(
        math.exp(-((min(slot, slots - slot) * step / width) ** 2)) for slot in range(slots)
    )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def quarter_hour(hour: float) -> float:
    """``hour`` rounded to a quarter hour (business hours are posted that way)."""
    return round(hour * 4) / 4


def _normalized(raw: Sequence[float]) -> Shape:
    total = sum(raw)
    return tuple(value / total for value in raw)


@dataclass(frozen=True, slots=True)
class LoadModel:
    """How one meter's consumption responds to the day of week, the season and the weather.

    Energies are in the meter's raw unit per day (Wh for electricity, ft³ for gas).
    """

    shapes: tuple[Shape, ...]
    cooling_shape: Shape
    heating_shape: Shape
    base_per_day: float
    week_factors: tuple[float, ...]
    weather_week_factors: tuple[float, ...]
    cooling_per_degree: float
    heating_per_degree: float
    lighting_amplitude: float
    day_noise: float
    interval_noise: float

    def day_energy(self, day: LocalDay, weather: Weather) -> tuple[float, float, Shape]:
        """The day's base energy, its weather energy and the shape that spreads the latter."""
        season = 1.0 + self.lighting_amplitude * math.cos(
            2 * math.pi * (day.day_of_year - _LIGHTING_PEAK_DAY) / _YEAR_DAYS
        )
        base = self.base_per_day * self.week_factors[day.weekday] * season
        weather_share = self.weather_week_factors[day.weekday]
        cooling = weather.cooling_degrees(day.index)
        if cooling > 0:
            return base, self.cooling_per_degree * cooling * weather_share, self.cooling_shape
        heating = weather.heating_degrees(day.index) * self.heating_per_degree * weather_share
        return base, heating, self.heating_shape

    def day_total(self, day: LocalDay, weather: Weather) -> float:
        """The day's expected energy, stretched to a 23- or 25-hour DST day."""
        base, weather_energy, _ = self.day_energy(day, weather)
        return (base + weather_energy) * day.seconds / SECONDS_PER_DAY


def residential_electric(
    rng: random.Random, interval: int, *, cooling: bool, electric_heat: bool
) -> LoadModel:
    """A home: morning and evening peaks, later mornings at weekends, summer air conditioning."""
    slots = SECONDS_PER_DAY // interval
    morning, evening = rng.uniform(6.3, 8.0), rng.uniform(18.3, 20.7)
    weekday = bump_shape(
        slots,
        0.35,
        [
            Bump(rng.uniform(0.6, 1.0), morning, 1.3),
            Bump(0.15, 13.0, 3.0),
            Bump(rng.uniform(1.1, 1.6), evening, 2.2),
        ],
    )
    weekend = bump_shape(
        slots, 0.35, [Bump(0.7, morning + 1.5, 1.6), Bump(0.45, 13.5, 4.0), Bump(1.3, evening, 2.4)]
    )
    return LoadModel(
        shapes=(weekday,) * 5 + (weekend,) * 2,
        cooling_shape=bump_shape(slots, 0.35, [Bump(1.0, 17.0, 3.5), Bump(0.3, 22.5, 3.0)]),
        heating_shape=bump_shape(slots, 0.6, [Bump(0.8, 7.0, 2.0), Bump(0.6, 19.0, 3.0)]),
        base_per_day=rng.uniform(7_000.0, 15_000.0),
        week_factors=_RESIDENTIAL_WEEK,
        weather_week_factors=_FLAT_WEEK,
        cooling_per_degree=rng.uniform(350.0, 900.0) if cooling else 0.0,
        heating_per_degree=rng.uniform(300.0, 700.0) if electric_heat else rng.uniform(30.0, 90.0),
        lighting_amplitude=0.08,
        day_noise=0.12,
        interval_noise=0.35,
    )


def commercial_electric(rng: random.Random, interval: int) -> LoadModel:
    """A shop or office: a business-hours plateau, short Saturdays, closed Sundays, big HVAC."""
    slots = SECONDS_PER_DAY // interval
    opens, closes = quarter_hour(rng.uniform(7.0, 9.0)), quarter_hour(rng.uniform(17.0, 21.0))
    base = rng.uniform(60_000.0, 260_000.0)
    weekday = business_shape(slots, opens, closes, 0.3)
    saturday = business_shape(slots, opens + 1.0, closes - 3.0, 0.3)
    sunday = bump_shape(slots, 1.0, [])
    return LoadModel(
        shapes=(weekday,) * 5 + (saturday, sunday),
        cooling_shape=business_shape(slots, opens, closes + 1.0, 0.15),
        heating_shape=weekday,
        base_per_day=base,
        week_factors=(1.0, 1.0, 1.0, 1.0, 1.0, rng.uniform(0.45, 0.75), rng.uniform(0.2, 0.35)),
        weather_week_factors=(1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.3),
        cooling_per_degree=base * rng.uniform(0.012, 0.03),
        heating_per_degree=base * 0.003,
        lighting_amplitude=0.03,
        day_noise=0.06,
        interval_noise=0.12,
    )


def residential_gas(rng: random.Random, interval: int) -> LoadModel:
    """A home's gas: water heating and cooking every day, space heating in winter (ft³)."""
    slots = SECONDS_PER_DAY // interval
    base = bump_shape(slots, 0.2, [Bump(1.0, rng.uniform(6.5, 8.0), 1.5), Bump(0.8, 19.0, 2.0)])
    return LoadModel(
        shapes=(base,) * 7,
        cooling_shape=base,
        heating_shape=bump_shape(slots, 0.55, [Bump(1.0, 6.5, 2.2), Bump(0.5, 18.5, 3.0)]),
        base_per_day=rng.uniform(25.0, 55.0),
        week_factors=_RESIDENTIAL_WEEK,
        weather_week_factors=_FLAT_WEEK,
        cooling_per_degree=0.0,
        heating_per_degree=rng.uniform(9.0, 22.0),
        lighting_amplitude=0.0,
        day_noise=0.1,
        interval_noise=0.3,
    )


def commercial_gas(rng: random.Random, interval: int) -> LoadModel:
    """A business's gas: kitchens and hot water in opening hours, heating in winter (ft³)."""
    slots = SECONDS_PER_DAY // interval
    opens, closes = quarter_hour(rng.uniform(6.0, 9.0)), quarter_hour(rng.uniform(17.0, 22.0))
    open_hours = business_shape(slots, opens, closes, 0.2)
    return LoadModel(
        shapes=(open_hours,) * 6 + (bump_shape(slots, 1.0, []),),
        cooling_shape=open_hours,
        heating_shape=business_shape(slots, opens - 2.0, closes, 0.5),
        base_per_day=rng.uniform(80.0, 400.0),
        week_factors=(1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.3),
        weather_week_factors=(1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6),
        cooling_per_degree=0.0,
        heating_per_degree=rng.uniform(25.0, 90.0),
        lighting_amplitude=0.0,
        day_noise=0.08,
        interval_noise=0.15,
    )


def interval_loads(
    model: LoadModel, frame: DayFrame, weather: Weather, draw: Callable[[], float]
) -> list[float]:
    """The energy of each interval in ``frame``, with day and interval noise.

    Shapes are read at each interval's clock slot, so a DST day keeps its 7:00 peak; ``draw``
    is the meter's ``random.random``: one noise draw per interval, plus one per day.
    """
    day = frame.day
    base, weather_energy, weather_shape = model.day_energy(day, weather)
    base *= 1.0 + model.day_noise * (2.0 * draw() - 1.0)
    shape = model.shapes[day.weekday]
    if frame.positions is not None:
        shape = tuple(shape[slot] for slot in frame.positions)
        weather_shape = tuple(weather_shape[slot] for slot in frame.positions)
    count = len(frame.starts)
    if count < len(shape):  # today: only the intervals complete by now
        shape, weather_shape = shape[:count], weather_shape[:count]
    low, span = 1.0 - model.interval_noise, 2.0 * model.interval_noise
    return [
        (share * base + weather_share * weather_energy) * (low + span * draw())
        for share, weather_share in zip(shape, weather_shape, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class SolarModel:
    """A rooftop array: production follows the sun's elevation at the territory's coordinates.

    Solar time comes from the interval's UTC instant and the longitude, so production peaks at
    solar noon (about 13:00 local in summer under DST) whatever the clock does.
    """

    capacity_w: float
    latitude: float
    longitude: float
    derate: float = 0.8

    def production(
        self, frame: DayFrame, sunshine: float, draw: Callable[[], float]
    ) -> list[float]:
        """Energy produced (Wh) in each interval of ``frame`` on a day with ``sunshine``."""
        starts, interval, day_of_year = frame.starts, frame.starts.step, frame.day.day_of_year
        declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + day_of_year) / 365)
        sin_lat, cos_lat = (
            math.sin(math.radians(self.latitude)),
            math.cos(math.radians(self.latitude)),
        )
        sin_part, cos_part = sin_lat * math.sin(declination), cos_lat * math.cos(declination)
        offset_hours = self.longitude / 15.0 + _equation_of_time_minutes(day_of_year) / 60.0
        peak = self.capacity_w * interval / 3600.0 * self.derate * sunshine
        flicker = 0.5 * (1.0 - sunshine) + 0.03  # passing clouds on partly cloudy days
        low, span = 1.0 - flicker, 2.0 * flicker
        produced = []
        for start in starts:
            utc_hours = ((start + interval / 2) % SECONDS_PER_DAY) / 3600.0
            hour_angle = math.radians(15.0 * (utc_hours + offset_hours - 12.0))
            elevation = sin_part + cos_part * math.cos(hour_angle)
            produced.append(
                peak * elevation**1.15 * (low + span * draw()) if elevation > 0 else 0.0
            )
        return produced


def _equation_of_time_minutes(day_of_year: int) -> float:
    """How far the sun runs ahead of the clock (a standard approximation, ±16 minutes)."""
    angle = 2 * math.pi * (day_of_year - 81) / 364
    return 9.87 * math.sin(2 * angle) - 7.53 * math.cos(angle) - 1.5 * math.sin(angle)
