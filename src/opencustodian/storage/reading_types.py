"""Reading types are stored once per distinct definition.

The row key is a UUID v5 of the field values, so the same type reached by a seed, a CSV and an
imported feed is one row, and feeds can cite it by a stable id.
"""

from __future__ import annotations

from dataclasses import astuple, fields
from typing import TYPE_CHECKING

from sqlalchemy import select

from opencustodian.domain.metering import ReadingType
from opencustodian.kit.ids import stable_uuid
from opencustodian.storage.models import ReadingTypeRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FIELD_NAMES = tuple(item.name for item in fields(ReadingType))


class ReadingTypeCatalog:
    """Finds or creates reading-type rows, remembering ids for the life of the catalog."""

    def __init__(self) -> None:
        self._ids: dict[ReadingType, int] = {}

    def id_for(self, session: Session, reading_type: ReadingType) -> int:
        """The id of the row holding ``reading_type``, created on first use."""
        cached = self._ids.get(reading_type)
        if cached is not None:
            return cached
        key = stable_uuid("reading-type", *astuple(reading_type))
        found = session.scalar(select(ReadingTypeRow.id).where(ReadingTypeRow.uuid == key))
        if found is None:
            values = {name: getattr(reading_type, name) for name in FIELD_NAMES}
            row = ReadingTypeRow(uuid=key, **values)
            session.add(row)
            session.flush()
            found = row.id
        self._ids[reading_type] = found
        return found
