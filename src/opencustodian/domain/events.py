"""Audit event tags, ``source:subject:action`` (the warehouse convention)."""

from __future__ import annotations

from enum import StrEnum


class EventTag(StrEnum):
    """Every auditable thing that happens."""

    INGEST_FILE_IMPORTED = "ingest:file:imported"
    SEED_UTILITY_CREATED = "seed:utility:created"
    APPLICATION_REGISTERED = "registration:application:created"
    APPLICATION_UPDATED = "registration:application:updated"
    APPLICATION_SECRET_ROTATED = "registration:secret:rotated"
    APPLICATION_SECRET_DELIVERED = "registration:secret:delivered"
    APPLICATION_STATUS_CHANGED = "registration:application:status-changed"
    GRANT_APPROVED = "consent:grant:approved"
    GRANT_DENIED = "consent:grant:denied"
    GRANT_ACTIVATED = "consent:grant:activated"
    GRANT_ENDED = "consent:grant:ended"
    TOKEN_ISSUED = "oauth:token:issued"
    TOKEN_REVOKED = "oauth:token:revoked"
    CODE_REUSED = "oauth:code:reused"
    REFRESH_TOKEN_REUSED = "oauth:refresh-token:reused"
    DATA_READ = "espi:data:read"
    CDS_DATA_READ = "cds:data:read"
    ECIS_DATA_READ = "ecis:data:read"
    DATA_DOWNLOADED = "portal:data:downloaded"
    DATA_EXPORTED = "cli:data:exported"
    NOTIFICATION_DELIVERED = "notify:batchlist:delivered"
    NOTIFICATION_FAILED = "notify:batchlist:failed"
