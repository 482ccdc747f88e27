"""Bar charts drawn on the server as SVG: geometry here, markup in ``templates/chart.svg.html``.

Each bar carries its exact value (the decimal text of the client's totals) and its period, as
``data-value``/``data-label`` attributes and an SVG ``<title>`` tooltip, and the page repeats the
numbers in a table: the chart is readable without sight or colour. Net (solar) readings can be
negative, so the zero line sits wherever the range puts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

WIDTH: Final = 720
HEIGHT: Final = 260
LEFT: Final = 64  # room for the value axis labels
RIGHT: Final = 8
TOP: Final = 16
BOTTOM: Final = 36  # room for the period labels
MAX_LABELS: Final = 16  # period labels shown at most; the rest are in the tooltips and table


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its box, its period (``label`` in full, ``tick`` under the axis) and value."""

    x: float
    y: float
    width: float
    height: float
    label: str
    tick: str | None
    value: Decimal
    href: str | None = None

    @property
    def value_text(self) -> str:
        """The exact value as plain decimal text."""
        return format(self.value, "f")


@dataclass(frozen=True, slots=True)
class BarChart:
    """A chart ready for the template."""

    element_id: str
    title: str
    unit: str
    bars: tuple[Bar, ...]
    zero_y: float
    top_value: Decimal
    bottom_value: Decimal
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    tick_y: int = HEIGHT - BOTTOM + 16

    @property
    def top_text(self) -> str:
        """The value at the top of the value axis."""
        return format(self.top_value, "f")

    @property
    def bottom_text(self) -> str:
        """The value at the bottom of the value axis."""
        return format(self.bottom_value, "f")


@dataclass(frozen=True, slots=True)
class Point:
    """One period to draw: full label, short tick text, value and an optional link."""

    label: str
    tick: str
    value: Decimal
    href: str | None = None


def bar_chart(element_id: str, title: str, unit: str, points: Sequence[Point]) -> BarChart:
    """Lay out ``points`` as bars from left to right, scaled to the range of their values."""
    top = max([Decimal(0), *(point.value for point in points)])
    bottom = min([Decimal(0), *(point.value for point in points)])
    span = (top - bottom) or Decimal(1)
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(points), 1)
    every = max(1, -(-len(points) // MAX_LABELS))  # ceiling division

    def y_of(value: Decimal) -> float:
        return TOP + float((top - value) / span) * plot_height

    zero = y_of(Decimal(0))
    bars = []
    for index, point in enumerate(points):
        end = y_of(point.value)
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * 0.1, 2),
                y=round(min(zero, end), 2),
                width=round(slot * 0.8, 2),
                height=round(abs(zero - end), 2),
                label=point.label,
                tick=point.tick if index % every == 0 else None,
                value=point.value,
                href=point.href,
            )
        )
    return BarChart(element_id, title, unit, tuple(bars), round(zero, 2), top, bottom)
