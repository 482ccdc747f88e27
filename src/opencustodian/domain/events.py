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
    AGREEMENT_INITIATED = "agreement:agreement:initiated"
    AGREEMENT_RESENT = "agreement:invitation:resent"
    AGREEMENT_ACCEPTED = "agreement:agreement:accepted"
    AGREEMENT_REJECTED = "agreement:agreement:rejected"
    AGREEMENT_NOT_ACCEPTED = "agreement:agreement:not-accepted"
    AGREEMENT_TERMINATED = "agreement:agreement:terminated"
    AGREEMENT_EXTENSION_REQUESTED = "agreement:extension:requested"
    AGREEMENT_EXTENSION_ANSWERED = "agreement:extension:answered"
    AGREEMENT_EXPIRED = "agreement:agreement:expired"
    AGREEMENT_REPORT_READ = "agreement:data:read"
