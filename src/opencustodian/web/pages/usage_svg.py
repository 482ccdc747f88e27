"""Geometry of the portal's usage chart, drawn as server-side SVG (DESIGN.md: no JS build).

Bars are placed by time: a bar spans its period's share of the chart's width, so a 25-hour
DST day has 100 quarter-hour slots and a month's days keep their real lengths. Values go up
from a zero line (a solar home's net channel goes below it when it sends energy out); the
value axis has round steps (1, 2, 2.5 or 5 × 10ⁿ) and names the unit. Coordinates are computed
with ``Decimal`` from the exact quantities and printed to 0.01 px.

Every bar carries its period and value as ``<title>`` (read by screen readers and shown as a
tooltip) and as ``data-start``/``data-value`` attributes; the page repeats the bars as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Final

from opencustodian.domain.metering import Channel
from opencustodian.domain.quantities import plain
from opencustodian.kit.time import (
    SECONDS_PER_DAY,
    from_epoch,
    local_date,
    local_midnight,
    to_epoch,
)
from opencustodian.services.usage_chart import ChartView

if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo

    from opencustodian.services.usage_chart import Bar, UsageChart

WIDTH: Final = 720
HEIGHT: Final = 300
LEFT: Final = Decimal(72)
RIGHT: Final = Decimal(WIDTH - 16)
TOP: Final = Decimal(16)
BOTTOM: Final = Decimal(HEIGHT - 40)
Y_TICKS: Final = 4
TICK_LENGTH: Final = Decimal(5)
PIXEL: Final = Decimal("0.01")
_NICE: Final = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
_DAY_LABEL_HOURS: Final = range(0, 24, 3)
_MONTH_LABEL_DAYS: Final = (1, 8, 15, 22, 29)


@dataclass(frozen=True, slots=True)
class SvgBar:
    """One ``<rect>``: its box, its value and its words."""

    x: str
    y: str
    width: str
    height: str
    start: int
    value: str
    period: str
    label: str
    below_zero: bool


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis mark: where (the other coordinate is the axis) and its text."""

    at: str
    label: str


@dataclass(frozen=True, slots=True)
class SvgChart:
    """Everything the template draws."""

    width: int
    height: int
    left: str
    right: str
    top: str
    bottom: str
    tick_end: str  # where a time mark below the plot ends
    zero: str
    bars: list[SvgBar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    unit: str
    title: str
    description: str


def nice_step(span: Decimal, ticks: int = Y_TICKS) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ that covers ``span`` in ``ticks`` steps."""
    raw = span / ticks
    if raw <= 0:
        return Decimal(1)
    base = Decimal(1).scaleb(raw.adjusted())
    return next(multiple * base for multiple in _NICE if multiple * base >= raw)


def _px(value: Decimal) -> str:
    return str(value.quantize(PIXEL))


def svg_chart(chart: UsageChart, zone: ZoneInfo) -> SvgChart:
    """Lay out ``chart`` (see the module docstring)."""
    values = [bar.value for bar in chart.bars]
    low, high = min([Decimal(0), *values]), max([Decimal(0), *values])
    step = nice_step(high - low)
    axis_low = (low / step).to_integral_value(ROUND_FLOOR) * step
    axis_high = (high / step).to_integral_value(ROUND_CEILING) * step
    if axis_high == axis_low:
        axis_high = axis_low + step

    def y(value: Decimal) -> Decimal:
        return TOP + (axis_high - value) / (axis_high - axis_low) * (BOTTOM - TOP)

    def x(epoch: int) -> Decimal:
        return LEFT + Decimal(epoch - chart.first) / Decimal(chart.end - chart.first) * (
            RIGHT - LEFT
        )

    bars = [_bar(bar, chart, zone, x, y) for bar in chart.bars]
    y_ticks = []
    level = axis_low
    while level <= axis_high:
        y_ticks.append(Tick(_px(y(level)), plain(level.normalize() if level else Decimal(0))))
        level += step
    x_ticks = [Tick(_px(x(epoch)), label) for epoch, label in _time_marks(chart, zone)]
    return SvgChart(
        width=WIDTH,
        height=HEIGHT,
        left=_px(LEFT),
        right=_px(RIGHT),
        top=_px(TOP),
        bottom=_px(BOTTOM),
        tick_end=_px(BOTTOM + TICK_LENGTH),
        zero=_px(y(Decimal(0))),
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        unit=chart.unit,
        title=chart_title(chart),
        description=_description(chart, zone),
    )


def _bar(
    bar: Bar,
    chart: UsageChart,
    zone: ZoneInfo,
    x: Callable[[int], Decimal],
    y: Callable[[Decimal], Decimal],
) -> SvgBar:
    left, right = x(bar.start), x(bar.end)
    gap = min(Decimal(1), (right - left) / 5)
    top, bottom = y(max(bar.value, Decimal(0))), y(min(bar.value, Decimal(0)))
    period = period_label(bar, chart, zone)
    return SvgBar(
        x=_px(left + gap / 2),
        y=_px(top),
        width=_px(right - left - gap),
        height=_px(bottom - top),
        start=bar.start,
        value=plain(bar.value),
        period=period,
        label=f"{period}: {plain(bar.value)} {chart.unit}",
        below_zero=bar.value < 0,
    )


def period_label(bar: Bar, chart: UsageChart, zone: ZoneInfo) -> str:
    """``13:00–13:15`` (day view, local times) or ``Sat 31 Oct`` (month view).

    On a DST-change day the zone's abbreviation tells the repeated hour's two halves apart
    (``01:00–01:15 EDT`` and ``01:00–01:15 EST``; ``01:00 EDT–01:00 EST`` across the change).
    """
    start = from_epoch(bar.start).astimezone(zone)
    if chart.view is ChartView.MONTH:
        return f"{start:%a} {start.day} {start:%b}"
    end = from_epoch(bar.end).astimezone(zone)
    if chart.end - chart.first == SECONDS_PER_DAY:
        return f"{start:%H:%M}–{end:%H:%M}"
    if start.utcoffset() != end.utcoffset():  # the interval the clocks change in
        return f"{start:%H:%M %Z}–{end:%H:%M %Z}"
    return f"{start:%H:%M}–{end:%H:%M} {start:%Z}"


def chart_title(chart: UsageChart) -> str:
    """What the chart shows, in one line (the SVG's ``<title>``)."""
    commodity = chart.point.name.commodity.value.capitalize()
    if chart.view is ChartView.MONTH:
        return f"{commodity} use per day in {chart.day:%B %Y}, in {chart.unit}"
    return f"{commodity} use on {chart.day:%A} {chart.day.day} {chart.day:%B %Y}, in {chart.unit}"


def _description(chart: UsageChart, zone: ZoneInfo) -> str:
    if not chart.bars:
        return "No readings were recorded in this period."
    highest = max(chart.bars, key=lambda bar: bar.value)
    words = (
        f"{len(chart.bars)} bars, total {plain(chart.total)} {chart.unit}; highest "
        f"{plain(highest.value)} {chart.unit} ({period_label(highest, chart, zone)})."
    )
    if chart.channel is Channel.NET:
        words += " Net of solar: bars below zero are energy you sent to the grid."
    return words


def _time_marks(chart: UsageChart, zone: ZoneInfo) -> list[tuple[int, str]]:
    """Epochs and labels along the time axis: every 3 hours, or weekly days of the month."""
    if chart.view is ChartView.MONTH:
        last = local_date(chart.end - 1, zone)
        return [
            (to_epoch(local_midnight(chart.day.replace(day=day), zone)), f"{day} {chart.day:%b}")
            for day in _MONTH_LABEL_DAYS
            if day <= last.day
        ]
    day = chart.day
    marks = []
    for hour in _DAY_LABEL_HOURS:
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
        marks.append((to_epoch(moment), f"{hour:02d}:00"))
    return [(epoch, label) for epoch, label in marks if chart.first <= epoch < chart.end]
