"""What happens to a registered third party after registration (seed 000 §2.2, seed 001).

- The utility suspends (blacklists) an application, reinstates it, or revokes it for good.
  Each change is recorded with its time, audited and announced to the third party with a
  BatchList naming its ApplicationInformation resource. Suspension stops every token of the
  application at once (``services.access`` checks the status on every call) without ending
  its grants, so reinstating restores them; revocation also ends every grant.
- Client secrets are stored only as hashes, so a new secret is either shown once to the
  operator, or withheld (the old one stops at once) and handed to the third party on its next
  ``GET …/ApplicationInformation/{id}`` with the registration access token — exactly once.
- The third party updates its own fields with ``PUT …/ApplicationInformation/{id}``, checked
  by the same rules as the registration form.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from opencustodian.domain.consent import EndReason
from opencustodian.domain.events import EventTag
from opencustodian.domain.parties import ApplicationStatus
from opencustodian.kit.tokens import hash_secret, new_secret
from opencustodian.protocols.espi.uris import application_information_uri
from opencustodian.services.notifications import queue_batch_list
from opencustodian.services.registration import CLIENT_SECRET_PREFIX, canonical_scopes

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from opencustodian.domain.ports import ApplicationRegistry, NotificationStore
    from opencustodian.protocols.espi.application_update import ApplicationInformationUpdate
    from opencustodian.services.consent import GrantLifecycle


class StatusAction(StrEnum):
    """What an operator may do to an application's standing."""

    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"


class SecretDelivery(StrEnum):
    """How a rotated client secret reaches the third party."""

    SHOW = "show"  # shown once to the operator, who passes it on
    API = "api"  # withheld; the next ApplicationInformation GET delivers it


class ApplicationStatusError(ValueError):
    """The change does not apply to the application as it stands; the message says why."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What a status change did."""

    application_id: int
    before: ApplicationStatus
    after: ApplicationStatus
    ended_grants: int
    notified: bool


@dataclass(frozen=True, slots=True)
class Announcer:
    """Queues the BatchList that tells a third party its ApplicationInformation changed."""

    notifications: NotificationStore
    base_url: str
    render: Callable[[Sequence[str]], str]

    def announce(self, application_id: int, application_uuid: uuid.UUID, tag: str) -> bool:
        """Queue the notification; False when the application has no notification URI."""
        return queue_batch_list(
            self.notifications,
            application_id,
            tag=tag,
            resources=[application_information_uri(self.base_url, str(application_uuid))],
            render=self.render,
        )


def subject(application_uuid: uuid.UUID) -> str:
    """The audit subject of an application."""
    return f"application:{application_uuid}"


def next_status(
    action: StatusAction, current: ApplicationStatus, before_suspension: ApplicationStatus | None
) -> ApplicationStatus:
    """The status ``action`` leads to from ``current``; raises `ApplicationStatusError`."""
    if current is ApplicationStatus.REVOKED:
        msg = "the application is revoked; revocation is final"
        raise ApplicationStatusError(msg)
    if action is StatusAction.REVOKE:
        return ApplicationStatus.REVOKED
    if action is StatusAction.SUSPEND:
        if current is ApplicationStatus.SUSPENDED:
            msg = "the application is already suspended"
            raise ApplicationStatusError(msg)
        return ApplicationStatus.SUSPENDED
    if current is not ApplicationStatus.SUSPENDED:
        msg = f"only a suspended application can be reinstated (it is {current.value})"
        raise ApplicationStatusError(msg)
    # Back to the environment it was suspended from; when unknown, the safer one.
    if before_suspension is not None and before_suspension.may_act:
        return before_suspension
    return ApplicationStatus.TEST


def change_status(  # noqa: PLR0913 - one operator decision and its three collaborators
    registry: ApplicationRegistry,
    lifecycle: GrantLifecycle,
    announcer: Announcer,
    *,
    application_uuid: uuid.UUID,
    action: StatusAction,
    now: datetime,
    actor: str,
) -> StatusChange:
    """Suspend, reinstate or revoke an application, in the caller's transaction.

    Raises `ApplicationStatusError` for an unknown application or a change that does not apply.
    """
    found = registry.status_of(application_uuid)
    if found is None:
        msg = f"no application {application_uuid}"
        raise ApplicationStatusError(msg)
    application_id, before = found
    remembered = (
        registry.status_before_suspension(application_id)
        if action is StatusAction.REINSTATE
        else None
    )
    after = next_status(action, before, remembered)
    registry.set_status(application_id, after, now)
    registry.record_event(
        EventTag.APPLICATION_STATUS_CHANGED,
        subject(application_uuid),
        {"action": action.value, "from": before.value, "to": after.value},
        actor,
    )
    ended = []
    if after is ApplicationStatus.REVOKED:
        ended = lifecycle.end(
            registry.live_grant_ids(application_id), EndReason.ADMIN_REVOKED, now, actor=actor
        )
    notified = announcer.announce(
        application_id, application_uuid, EventTag.APPLICATION_STATUS_CHANGED.value
    )
    return StatusChange(application_id, before, after, len(ended), notified)


def rotate_secret(  # noqa: PLR0913 - the rotation, its delivery and its audit facts
    registry: ApplicationRegistry,
    application_id: int,
    application_uuid: uuid.UUID,
    *,
    delivery: SecretDelivery,
    key: str,
    now: datetime,
    actor: str,
) -> str | None:
    """Replace the client secret; the old one stops at once.

    Returns the new secret for `SecretDelivery.SHOW`; for `SecretDelivery.API` none is made
    yet (the stored hash is cleared) and the next ApplicationInformation GET issues it.
    """
    secret = new_secret(CLIENT_SECRET_PREFIX) if delivery is SecretDelivery.SHOW else None
    registry.set_secret_hash(application_id, hash_secret(secret, key) if secret else None, now)
    registry.record_event(
        EventTag.APPLICATION_SECRET_ROTATED,
        subject(application_uuid),
        {"delivery": delivery.value},
        actor,
    )
    return secret


def deliver_pending_secret(
    registry: ApplicationRegistry,
    application_id: int,
    application_uuid: uuid.UUID,
    *,
    key: str,
    now: datetime,
) -> str | None:
    """Issue the secret that awaits delivery; None when another request delivered it first.

    Only call this when the stored hash is empty; the claim is conditional on it still being
    empty, so of two concurrent requests exactly one receives a secret.
    """
    secret = new_secret(CLIENT_SECRET_PREFIX)
    if not registry.claim_secret_delivery(application_id, hash_secret(secret, key), now):
        return None
    registry.record_event(
        EventTag.APPLICATION_SECRET_DELIVERED,
        subject(application_uuid),
        {"channel": "ApplicationInformation"},
        f"application:{application_uuid}",
    )
    return secret


def update_registration(  # noqa: PLR0913 - the update and the facts of its audit
    registry: ApplicationRegistry,
    application_id: int,
    application_uuid: uuid.UUID,
    changes: ApplicationInformationUpdate,
    *,
    placeholder_notify_uri: str | None = None,
    actor: str,
) -> list[str]:
    """Apply a third party's ApplicationInformation update; returns the changed field names.

    Values pass the registration form's rules (``ApplicationRegistration``) and scopes are
    stored canonically; raises ``RegistrationError``. ``placeholder_notify_uri`` is what the
    GET shows for ``thirdPartyNotifyUri`` when none is registered (espi.xsd requires one): a
    body that sends it back unchanged does not register it.
    """
    current = registry.registration_of(application_id)
    notify = changes.third_party_notify_uri
    if notify is not None and notify == placeholder_notify_uri:
        notify = None
    updated = replace(
        current,
        name=changes.client_name or current.name,
        description=_keep(changes.third_party_application_description, current.description) or "",
        website=_keep(changes.client_uri, current.website),
        logo_uri=_keep(changes.logo_uri, current.logo_uri),
        redirect_uris=_keep_many(changes.redirect_uris, current.redirect_uris),
        notification_uri=_keep(notify, current.notification_uri),
        scope_selection_uri=_keep(
            changes.third_party_scope_selection_screen_uri, current.scope_selection_uri
        ),
        contacts=_keep_many(changes.contacts, current.contacts),
        scopes=_keep_many(changes.scopes, current.scopes),
    )
    scopes = canonical_scopes(updated.scopes)
    changed = [
        name
        for name in (
            "name",
            "description",
            "website",
            "logo_uri",
            "redirect_uris",
            "notification_uri",
            "scope_selection_uri",
            "contacts",
        )
        if getattr(updated, name) != getattr(current, name)
    ]
    if scopes != current.scopes:
        changed.append("scopes")
    registry.update_registration(application_id, replace(updated, scopes=scopes), scopes)
    registry.record_event(
        EventTag.APPLICATION_UPDATED,
        subject(application_uuid),
        {"changed": changed, "ignored": list(changes.ignored_fields)},
        actor,
    )
    return changed


def _keep(given: str | None, current: str | None) -> str | None:
    """``None`` keeps the current value, ``""`` clears it, anything else replaces it."""
    if given is None:
        return current
    return given or None


def _keep_many(given: tuple[str, ...] | None, current: tuple[str, ...]) -> tuple[str, ...]:
    return current if given is None else given
