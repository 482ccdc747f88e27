"""Audit event tags, ``source:subject:action`` (the warehouse convention)."""

from __future__ import annotations

from enum import StrEnum


class EventTag(StrEnum):
    """Every auditable thing that happens. Later issues add grant and access events."""

    INGEST_FILE_IMPORTED = "ingest:file:imported"
    SEED_UTILITY_CREATED = "seed:utility:created"
