"""Audit events written on their own short transaction (``domain.ports.AuditLog``).

Streaming reads (Download My Data, the operator's export) hold no transaction while bytes go
out, so their audit row is committed by itself, before the first byte (DESIGN.md: every data
access is an audit event).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert

from opencustodian.storage.models import AuditEvent

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class SqlAuditLog:
    """``domain.ports.AuditLog`` over an engine."""

    def __init__(self, engine: Engine) -> None:
        """Write through ``engine``."""
        self._engine = engine

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append one audit event and commit it before returning."""
        with self._engine.begin() as connection:
            connection.execute(
                insert(AuditEvent).values(tag=tag, subject=subject, data=data, actor=actor)
            )
