"""The usage chart of a connection, drawn from the readings fetched from the custodian.

``GET /connections/{id}/usage[?day=YYYY-MM-DD]`` shows, per meter reading of the feed, the daily
totals of the 31 local days up to the chosen day (the latest day with data by default) and the
hourly totals of that day, as server-side SVG bar charts with the same numbers in tables.
Local time is the feed's own LocalTimeParameters (espi.xsd ``TimeConfiguration``), else the
configured ``time_zone``, else UTC. ``POST /connections/{id}/fetch`` fetches the feed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from fastapi import Request  # noqa: TC002 - FastAPI reads handler annotations at run time
from fastapi.responses import RedirectResponse

from opencustodian.client import daily_totals, hourly_totals, local_day
from opencustodian.demo.thirdparty.charts import BarChart, Point, bar_chart
from opencustodian.demo.thirdparty.context import problem_page, render, tp_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi.responses import HTMLResponse, Response

    from opencustodian.client import LocalTimeParameters, Total
    from opencustodian.client.totals import Zone
    from opencustodian.demo.thirdparty.context import ThirdParty
    from opencustodian.demo.thirdparty.usage_store import StoredSeries

WINDOW_DAYS = 31
#: The days a chart may show (the client keeps reading starts within these years).
FIRST_DAY = date(1900, 2, 1)
LAST_DAY = date(9998, 12, 31)


@dataclass(frozen=True, slots=True)
class SeriesView:
    """One meter reading's charts and tables."""

    number: int
    series: StoredSeries
    daily: BarChart
    daily_totals: list[Total]
    hourly: BarChart
    hourly_totals: list[Total]


def _zone(tp: ThirdParty, connection_id: int) -> tuple[Zone, str]:
    """The local time to total by, and a sentence saying which it is."""
    local_time = tp.usage.local_time(connection_id)
    if local_time is not None:
        return local_time, _describe(local_time)
    if tp.config.time_zone:
        return ZoneInfo(tp.config.time_zone), f"Times are in {tp.config.time_zone}."
    return None, "The feed declared no local time: times are UTC."


def _describe(local_time: LocalTimeParameters) -> str:
    hours = local_time.tz_offset / 3600
    standard = f"UTC{hours:+g}"
    dst = " with daylight saving time" if local_time.observes_dst else ""
    return f"Times are the utility's local time ({standard}{dst}), as its feed declares."


def _day_points(totals: list[Total], connection_id: int) -> list[Point]:
    return [
        Point(
            total.day.isoformat(),
            total.day.strftime("%m-%d"),
            total.value,
            f"/connections/{connection_id}/usage?day={total.day.isoformat()}",
        )
        for total in totals
    ]


def _hour_points(totals: list[Total]) -> list[Point]:
    return [
        Point(total.start.isoformat(), total.start.strftime("%H"), total.value) for total in totals
    ]


def _view(
    number: int, series: StoredSeries, days: list[Total], hours: list[Total], connection_id: int
) -> SeriesView:
    name = series.title or series.usage_point_title or f"Meter reading {number}"
    return SeriesView(
        number,
        series,
        bar_chart(
            f"daily-chart-{number}",
            f"{name}: daily {series.unit}",
            series.unit,
            _day_points(days, connection_id),
        ),
        days,
        bar_chart(
            f"hourly-chart-{number}",
            f"{name}: hourly {series.unit}",
            series.unit,
            _hour_points(hours),
        ),
        hours,
    )


def show_usage(request: Request, connection_id: int, day: str | None = None) -> HTMLResponse:
    """The charts of a connection's fetched usage."""
    tp = tp_of(request)
    connection = tp.database.connection(connection_id)
    if connection is None:
        return problem_page(request, "No such connection", "This connection does not exist.", 404)
    try:
        chosen = None if day is None else date.fromisoformat(day)
    except ValueError:
        chosen = FIRST_DAY - timedelta(days=1)
    if chosen is not None and not FIRST_DAY <= chosen <= LAST_DAY:
        message = f"The day must be written YYYY-MM-DD, between {FIRST_DAY} and {LAST_DAY}."
        return problem_page(request, "Unknown day", message, 400)
    zone, zone_text = _zone(tp, connection_id)
    stored = [series for series in tp.usage.series(connection_id) if series.reading_count]
    first_day = min((local_day(s.first_start or 0, zone) for s in stored), default=None)
    last_day = max((local_day(s.last_start or 0, zone) for s in stored), default=None)
    selected = chosen or last_day
    views = []
    if selected is not None:
        window_first = selected - timedelta(days=WINDOW_DAYS - 1)
        first, end = _epoch_bounds(window_first, selected)
        for number, series in enumerate(stored, start=1):
            # Only the window is read: two years of 5-minute data would take seconds.
            readings = tp.usage.readings(series.id, first, end)
            days = [
                total
                for total in daily_totals(readings, zone)
                if window_first <= total.day <= selected
            ]
            hours = hourly_totals(readings, zone, day=selected)
            views.append(_view(number, series, days, hours, connection_id))
    return render(
        request,
        "usage.html",
        connection=connection,
        views=views,
        selected=selected,
        previous_day=_step(selected, -1, first_day, last_day),
        next_day=_step(selected, 1, first_day, last_day),
        zone_text=zone_text,
        fetches=tp.usage.fetches(connection_id),
    )


def _epoch_bounds(first_day: date, last_day: date) -> tuple[int, int]:
    """Epoch seconds surely covering ``first_day`` to ``last_day`` in any zone (±14 h)."""
    first = datetime.combine(first_day, time(), tzinfo=UTC) - timedelta(days=1)
    end = datetime.combine(last_day, time(), tzinfo=UTC) + timedelta(days=2)
    return int(first.timestamp()), int(end.timestamp())


def _step(
    selected: date | None, days: int, first_day: date | None, last_day: date | None
) -> date | None:
    """The day ``days`` away from ``selected`` within the data, if that moves at all."""
    if selected is None or first_day is None or last_day is None:
        return None
    target = min(max(selected + timedelta(days=days), first_day), last_day)
    return None if (target - selected).days * days <= 0 else target


def fetch_now(request: Request, connection_id: int) -> Response:
    """Fetch the connection's whole feed again, then show the chart."""
    tp = tp_of(request)
    connection = tp.database.connection(connection_id)
    if connection is None or connection.status != "active":
        return problem_page(request, "No active connection", "Nothing to fetch.", 404)
    failure = tp.fetcher.fetch_connection(connection, "manual")
    if failure is not None:
        return problem_page(
            request,
            "Fetching failed",
            f"{tp.config.custodian_name} did not give this connection's usage data.",
            502,
        )
    return RedirectResponse(f"/connections/{connection_id}/usage", status_code=303)


PAGES: tuple[tuple[str, Callable[..., object], str], ...] = (
    ("/connections/{connection_id}/usage", show_usage, "GET"),
    ("/connections/{connection_id}/fetch", fetch_now, "POST"),
)
