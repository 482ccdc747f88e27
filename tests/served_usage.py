"""What a plain electric usage grant serves, summed straight from the custodian's database.

Independent of the feed writer and of the client: the demo third party's charts are checked
against these sums (per local day and hour in the default profile's ``America/New_York``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import case, select

from opencustodian.storage.models import (
    Grant,
    GrantServicePoint,
    MeterReading,
    ReadingTypeRow,
    ServicePoint,
    interval_readings,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

NEW_YORK = ZoneInfo("America/New_York")  # the default profile's territory
WATT_HOURS = 72


def grant_uuid_of(authorization_uri: str) -> uuid.UUID:
    """The grant id at the end of an ``authorizationURI``."""
    return uuid.UUID(authorization_uri.rsplit("/", 1)[1])


def served_channels(engine: Engine, grant_uuid: uuid.UUID) -> dict[str, list[tuple[int, Decimal]]]:
    """Per served MeterReading uuid: (start, kWh) of every stored reading.

    A plain usage grant serves the net channel of a net-metered service point and the
    delivered channel of any other electric one (``domain.usage_rights``).
    """
    served_channel = case((ServicePoint.net_metered, "net"), else_="forward")
    with engine.connect() as connection:
        grant_id = connection.scalar(select(Grant.id).where(Grant.uuid == grant_uuid))
        points = select(GrantServicePoint.service_point_id).where(
            GrantServicePoint.grant_id == grant_id
        )
        rows = connection.execute(
            select(
                MeterReading.uuid,
                interval_readings.c.start,
                interval_readings.c.value,
                ReadingTypeRow.power_of_ten_multiplier,
                ReadingTypeRow.uom,
            )
            .join(MeterReading, MeterReading.id == interval_readings.c.meter_reading_id)
            .join(ReadingTypeRow, ReadingTypeRow.id == MeterReading.reading_type_id)
            .join(ServicePoint, ServicePoint.id == MeterReading.service_point_id)
            .where(
                MeterReading.service_point_id.in_(points),
                MeterReading.channel == served_channel,
                ServicePoint.commodity == "electricity",
            )
        ).all()
    found: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for row in rows:
        assert row.uom == WATT_HOURS
        kwh = Decimal(row.value).scaleb(row.power_of_ten_multiplier - 3)
        found[str(row.uuid)].append((row.start, kwh))
    return dict(found)


def daily_sums(readings: list[tuple[int, Decimal]]) -> dict[str, Decimal]:
    """kWh per local day (ISO date), each reading on the day it starts."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for start, kwh in readings:
        sums[datetime.fromtimestamp(start, NEW_YORK).date().isoformat()] += kwh
    return dict(sums)


def hourly_sums(readings: list[tuple[int, Decimal]], day: str) -> dict[str, Decimal]:
    """kWh per local hour of ``day``, keyed by the hour's ISO start with its UTC offset."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for start, kwh in readings:
        local = datetime.fromtimestamp(start, NEW_YORK)
        if local.date().isoformat() == day:
            sums[local.replace(minute=0, second=0).isoformat()] += kwh
    return dict(sums)
