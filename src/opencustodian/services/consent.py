"""How grants end: revocation, expiry, move-out, account closure (seed 001; issue #3 §4).

Each ending revokes the grant's tokens, is audited, and is notified to the third party in the
same transaction, so the very next API call with any of its tokens fails and nothing is
announced that did not happen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencustodian.domain.consent import EndReason
from opencustodian.domain.events import EventTag
from opencustodian.protocols.espi.uris import authorization_uri
from opencustodian.services.notifications import queue_batch_list

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import datetime

    from opencustodian.domain.consent import EndedGrant
    from opencustodian.domain.ports import ConsentLifecycleStore, NotificationStore


class GrantLifecycle:
    """Ends grants for one transaction's stores."""

    def __init__(
        self,
        grants: ConsentLifecycleStore,
        notifications: NotificationStore,
        *,
        base_url: str,
        render_batch_list: Callable[[Sequence[str]], str],
    ) -> None:
        """Work through ``grants`` and ``notifications``; URIs are built on ``base_url``."""
        self._grants = grants
        self._notifications = notifications
        self._base_url = base_url
        self._render = render_batch_list
        #: Whether this unit of work ended a grant (so notifications await delivery).
        self.ended_any = False

    def end(
        self, grant_ids: Iterable[int], reason: EndReason, now: datetime, *, actor: str
    ) -> list[EndedGrant]:
        """End each still-live grant of ``grant_ids`` for ``reason``."""
        ended: list[EndedGrant] = []
        for grant_id in grant_ids:
            result = self._grants.end_grant(grant_id, reason, now)
            if result is None:
                continue
            self._grants.record_event(
                EventTag.GRANT_ENDED,
                f"grant:{result.grant_uuid}",
                {"reason": reason.value, "application_id": result.application_id},
                actor,
            )
            self.notify(result.application_id, result.grant_uuid)
            ended.append(result)
            self.ended_any = True
        return ended

    def notify(self, application_id: int, grant_uuid: str) -> None:
        """Queue a BatchList naming the grant's Authorization resource (research §7, PSH002)."""
        queue_batch_list(
            self._notifications,
            application_id,
            tag=EventTag.GRANT_ENDED.value,
            resources=[authorization_uri(self._base_url, grant_uuid)],
            render=self._render,
        )

    def end_expired(self, now: datetime) -> list[EndedGrant]:
        """End every grant whose chosen period is over (run by the periodic job)."""
        return self.end(self._grants.grants_past_end(now), EndReason.EXPIRED, now, actor="system")

    def end_for_accounts(
        self, account_ids: Iterable[int], reason: EndReason, now: datetime, *, actor: str
    ) -> list[EndedGrant]:
        """End grants that shared service points from ``account_ids`` (move-out, closure)."""
        return self.end(self._grants.grants_covering(account_ids), reason, now, actor=actor)
