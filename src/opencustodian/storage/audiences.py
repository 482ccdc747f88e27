"""Who covers which meter readings: the audience of new-data notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from opencustodian.domain.consent import GrantKind, GrantStatus
from opencustodian.domain.notifications import DataAudience
from opencustodian.storage.models import Grant, GrantServicePoint, MeterReading

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.orm import Session


class SqlDataAudienceStore:
    """Reads grants over one session (the import's own transaction)."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    def audiences(self, meter_reading_ids: Iterable[int]) -> list[DataAudience]:
        """Active customer grants covering the service points of these meter readings."""
        rows = self._session.execute(
            select(Grant.application_id, Grant.subscription_uuid, Grant.scope, MeterReading.id)
            .join(GrantServicePoint, GrantServicePoint.grant_id == Grant.id)
            .join(MeterReading, MeterReading.service_point_id == GrantServicePoint.service_point_id)
            .where(
                MeterReading.id.in_(list(meter_reading_ids)),
                Grant.status == GrantStatus.ACTIVE.value,
                Grant.kind == GrantKind.CUSTOMER.value,
            )
            .order_by(Grant.id, MeterReading.id)
        )
        return [
            DataAudience(application_id, str(subscription), scope, meter_reading_id)
            for application_id, subscription, scope, meter_reading_id in rows
        ]
