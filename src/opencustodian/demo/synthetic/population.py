"""Who the synthetic utility serves: one plan per customer, drawn from the seed and index.

Customer ``i`` is drawn from ``random.Random(f"{seed}:customer:{i}")`` alone, so the same seed
gives the same customer and customer ``i`` does not depend on how many are seeded. The mix
follows seed 000 §3.3h: residential electric AMI at 15 minutes (most), commercial electric AMI
at 5 minutes (~15 % of customers), legacy interval meters at 15 minutes, gas AMI hourly (many
homes also have gas), non-interval meters read monthly, and rooftop solar on ~10 % of homes,
net metered with forward, reverse and net channels. The first six customers are fixed
showcases so a small seed covers every kind (customer 1 is the demo login: a home with solar
and gas; customer 2 a business on 5-minute data).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from opencustodian.demo.synthetic import identity, loads, tariffs
from opencustodian.domain.customers import AccountClass, AccountStatus
from opencustodian.domain.metering import Channel, Commodity, MeterCategory

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from opencustodian.demo.synthetic.calendar import HistoryWindow

ELECTRIC_SERVICE = 1
GAS_SERVICE = 2
TERRITORY_LATITUDE = 40.7  # a New York-like territory; only the sun's path depends on it

_COMMERCIAL_SHARE = 0.15
_SOLAR_SHARE_OF_AMI_HOMES = 0.12  # ≈10 % of all homes, as 80 % of homes have AMI
_GAS_SHARE = {AccountClass.RESIDENTIAL: 0.6, AccountClass.COMMERCIAL: 0.4}
_GAS_AMI_SHARE = 0.9
_SUSPENDED_SHARE = 0.02
_CLOSED_SHARE = 0.03
_ESCO_SHARE = 0.2
_FORMER_TENANT_SHARE = 0.08
_COOLING_SHARE = 0.85
_ELECTRIC_HEAT_SHARE = 0.3
_MIN_DAYS_FOR_MOVE_IN = 150  # a mid-history move-in needs room for bills on both sides


@dataclass(frozen=True, slots=True)
class Mix:
    """The kind of customer: class, meters, solar, gas, account status and supply."""

    account_class: AccountClass
    electric: MeterCategory
    solar: bool = False
    gas: MeterCategory | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    esco: bool = False
    former_tenant: bool = False
    cooling: bool = True
    electric_heat: bool = False


@dataclass(frozen=True, slots=True)
class Holding:
    """An account's tenure at the premises: move-in inclusive, move-out exclusive."""

    holder: int
    person: identity.Person
    account_number: str
    account_class: AccountClass
    status: AccountStatus
    move_in: date
    move_out: date | None
    esco: tariffs.Esco | None


@dataclass(frozen=True, slots=True)
class MeterPlan:
    """A service point with its one meter: what it measures, how often, and how it behaves."""

    service: int
    commodity: Commodity
    category: MeterCategory
    interval: int | None
    esiid: str
    meter_number: str
    installed_on: date
    rate_plan: tariffs.RatePlan
    load: loads.LoadModel
    solar: loads.SolarModel | None
    title: str

    @property
    def channels(self) -> tuple[Channel, ...]:
        """Forward only, or forward, reverse and net for a net-metered solar home."""
        if self.solar is None:
            return (Channel.FORWARD,)
        return (Channel.FORWARD, Channel.REVERSE, Channel.NET)

    @property
    def billed_channel(self) -> Channel:
        """The channel bills charge: net usage for net metering, else delivered usage."""
        return Channel.NET if self.solar is not None else Channel.FORWARD


@dataclass(frozen=True, slots=True)
class CustomerPlan:
    """A premises, its accounts over time (former tenant first) and its service points."""

    index: int
    address: identity.Address
    holdings: tuple[Holding, ...]
    service_points: tuple[MeterPlan, ...]


_RES, _COM = AccountClass.RESIDENTIAL, AccountClass.COMMERCIAL
_AMI, _LEGACY, _MONTHLY = (
    MeterCategory.AMI,
    MeterCategory.LEGACY_INTERVAL,
    MeterCategory.NON_INTERVAL,
)
_ACTIVE = AccountStatus.ACTIVE
SHOWCASES = {
    1: Mix(_RES, _AMI, solar=True, gas=_AMI),
    2: Mix(_COM, _AMI),
    3: Mix(_RES, _LEGACY, gas=_MONTHLY, esco=True, former_tenant=True),
    4: Mix(_RES, _MONTHLY, cooling=False, electric_heat=True),
    5: Mix(_COM, _LEGACY, gas=_AMI, status=AccountStatus.CLOSED),
    6: Mix(_RES, _AMI, gas=_AMI, status=AccountStatus.SUSPENDED, esco=True),
}


@functools.cache
def territory_longitude(zone: ZoneInfo) -> float:
    """The territory's longitude: a degree east of its zone's standard meridian (NY: −74°)."""
    offsets = [
        datetime(2001, month, 15, 12, tzinfo=zone).utcoffset() or timedelta(0) for month in (1, 7)
    ]
    standard_hours = min(offsets).total_seconds() / 3600
    return standard_hours * 15.0 + 1.0


def plan_customer(seed: int, index: int, window: HistoryWindow, state: str) -> CustomerPlan:
    """Customer ``index`` of ``seed``: the same plan every time for the same window."""
    rng = random.Random(f"{seed}:customer:{index}")
    drawn = draw_mix(rng)  # drawn for showcases too, so every stream stays aligned
    mix = SHOWCASES.get(index, drawn)
    business = mix.account_class is _COM
    address = identity.draw_address(rng, state, business=business)
    person = identity.draw_person(rng, identity.username(index), business=business)
    former = identity.draw_person(rng, identity.username(index, former=True), business=business)
    meters = _meters(rng, index, mix, window, person.business_name or address.street)
    monthly = any(meter.category is _MONTHLY for meter in meters)
    holders = (
        (former, identity.account_number(index, 0)),
        (person, identity.account_number(index, 1)),
    )
    holdings = _holdings(rng, mix, window, holders, monthly=monthly)
    return CustomerPlan(index, address, holdings, meters)


def draw_mix(rng: random.Random) -> Mix:
    """A random customer kind in the utility's proportions (always the same nine draws)."""
    account_class = _COM if rng.random() < _COMMERCIAL_SHARE else _RES
    electric = _electric_category(account_class, rng.random())
    solar = account_class is _RES and electric is _AMI and rng.random() < _SOLAR_SHARE_OF_AMI_HOMES
    has_gas = rng.random() < _GAS_SHARE[account_class]
    gas = (_AMI if rng.random() < _GAS_AMI_SHARE else _MONTHLY) if has_gas else None
    status_draw = rng.random()
    status = (
        AccountStatus.SUSPENDED
        if status_draw < _SUSPENDED_SHARE
        else AccountStatus.CLOSED
        if status_draw < _SUSPENDED_SHARE + _CLOSED_SHARE
        else _ACTIVE
    )
    esco = rng.random() < _ESCO_SHARE
    former_tenant = rng.random() < _FORMER_TENANT_SHARE
    cooling = rng.random() < _COOLING_SHARE
    electric_heat = gas is None and rng.random() < _ELECTRIC_HEAT_SHARE
    return Mix(
        account_class,
        electric,
        solar=solar,
        gas=gas,
        status=status,
        esco=esco,
        former_tenant=former_tenant,
        cooling=cooling,
        electric_heat=electric_heat,
    )


def _electric_category(account_class: AccountClass, draw: float) -> MeterCategory:
    ami_share, legacy_share = (0.8, 0.1) if account_class is _RES else (0.8, 0.15)
    if draw < ami_share:
        return _AMI
    return _LEGACY if draw < ami_share + legacy_share else _MONTHLY


def _interval(
    commodity: Commodity, category: MeterCategory, account_class: AccountClass
) -> int | None:
    """Seed 000 §3.3h: commercial AMI 5 min, residential AMI and legacy 15 min, gas AMI 1 h."""
    if category is _MONTHLY:
        return None
    if commodity is Commodity.GAS:
        return 3600
    return 300 if category is _AMI and account_class is _COM else 900


def _meters(
    rng: random.Random, index: int, mix: Mix, window: HistoryWindow, label: str
) -> tuple[MeterPlan, ...]:
    electric = _electric_meter(rng, index, mix, window, label)
    if mix.gas is None:
        return (electric,)
    return (electric, _gas_meter(rng, index, mix, window, label))


def _electric_meter(
    rng: random.Random, index: int, mix: Mix, window: HistoryWindow, label: str
) -> MeterPlan:
    interval = _interval(Commodity.ELECTRICITY, mix.electric, mix.account_class)
    model_interval = interval or 3600  # a monthly meter only needs daily totals
    if mix.account_class is _COM:
        load = loads.commercial_electric(rng, model_interval)
        plan = tariffs.COMMERCIAL_ELECTRIC
    else:
        load = loads.residential_electric(
            rng, model_interval, cooling=mix.cooling, electric_heat=mix.electric_heat
        )
        plan = tariffs.RESIDENTIAL_NET_METERING if mix.solar else tariffs.RESIDENTIAL_ELECTRIC
    # Arrays are sized to offset 70–120 % of the home's yearly base use; a kW of panels here
    # makes about 1,000 kWh a year, so W of capacity ≈ daily Wh × 365 / 1,000 × offset.
    capacity = load.base_per_day * 0.365 * rng.uniform(0.7, 1.2)
    longitude = territory_longitude(window.zone)
    return MeterPlan(
        service=ELECTRIC_SERVICE,
        commodity=Commodity.ELECTRICITY,
        category=mix.electric,
        interval=interval,
        esiid=identity.esiid(index, ELECTRIC_SERVICE),
        meter_number=identity.meter_number(index, ELECTRIC_SERVICE, electric=True),
        installed_on=window.first_day - timedelta(days=rng.randint(60, 3_000)),
        rate_plan=plan,
        load=load,
        solar=loads.SolarModel(capacity, TERRITORY_LATITUDE, longitude) if mix.solar else None,
        title=f"{label} — electric",
    )


def _gas_meter(
    rng: random.Random, index: int, mix: Mix, window: HistoryWindow, label: str
) -> MeterPlan:
    category = mix.gas or _AMI
    interval = _interval(Commodity.GAS, category, mix.account_class)
    business = mix.account_class is _COM
    model = loads.commercial_gas if business else loads.residential_gas
    return MeterPlan(
        service=GAS_SERVICE,
        commodity=Commodity.GAS,
        category=category,
        interval=interval,
        esiid=identity.esiid(index, GAS_SERVICE),
        meter_number=identity.meter_number(index, GAS_SERVICE, electric=False),
        installed_on=window.first_day - timedelta(days=rng.randint(60, 3_000)),
        rate_plan=tariffs.COMMERCIAL_GAS if business else tariffs.RESIDENTIAL_GAS,
        load=model(rng, interval or 3600),
        solar=None,
        title=f"{label} — gas",
    )


Holder = tuple[identity.Person, str]
"""A person and the account number they hold."""


def _holdings(
    rng: random.Random,
    mix: Mix,
    window: HistoryWindow,
    holders: tuple[Holder, Holder],
    *,
    monthly: bool,
) -> tuple[Holding, ...]:
    """The current account, and the former tenant's when the customer moved in mid-history.

    A premises with a monthly meter changes hands on the 1st, so each monthly reading (and
    bill) belongs to one account.
    """
    span = len(window.days)
    moved_in_mid_history = mix.former_tenant and span >= _MIN_DAYS_FOR_MOVE_IN
    early_move_in = window.first_day - timedelta(days=rng.randint(30, 5_000))
    late_move_in = window.first_day + timedelta(days=rng.randint(30, max(30, span - 60)))
    move_in = _month_start_on_or_after(late_move_in) if monthly else late_move_in
    move_in = move_in if moved_in_mid_history else early_move_in
    status, closed_on = _closing(rng, mix.status, move_in, window.last_day, monthly=monthly)
    escos = [rng.choice(tariffs.ESCOS) for _ in range(2)]
    (former_person, former_number), (person, number) = holders
    current = Holding(
        holder=1,
        person=person,
        account_number=number,
        account_class=mix.account_class,
        status=status,
        move_in=move_in,
        move_out=closed_on,
        esco=escos[1] if mix.esco else None,
    )
    if not moved_in_mid_history:
        return (current,)
    former = Holding(
        holder=0,
        person=former_person,
        account_number=former_number,
        account_class=mix.account_class,
        status=AccountStatus.CLOSED,
        move_in=move_in - timedelta(days=rng.randint(400, 4_000)),
        move_out=move_in,
        esco=escos[0] if rng.random() < _ESCO_SHARE else None,
    )
    return (former, current)


def _closing(
    rng: random.Random, status: AccountStatus, move_in: date, today: date, *, monthly: bool
) -> tuple[AccountStatus, date | None]:
    """A closed account's move-out date: in the last few months, at least a month after move-in."""
    candidate = max(today - timedelta(days=rng.randint(10, 120)), move_in + timedelta(days=31))
    if status is not AccountStatus.CLOSED:
        return status, None
    closed_on = candidate.replace(day=1) if monthly else candidate
    if closed_on > today or closed_on <= move_in:
        return _ACTIVE, None  # the window is too short to close it inside history
    return status, closed_on


def _month_start_on_or_after(day: date) -> date:
    if day.day == 1:
        return day
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
