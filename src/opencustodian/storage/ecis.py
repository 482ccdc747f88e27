"""ECIS storage: a client's verification keys, used request ids, and what an account shows.

- ``signing_keys``/``set_jwks``/``set_sealed_secret`` read and replace the JWK Set and the
  sealed HS256 secret on ``third_party_applications``.
- ``use_jwt_id`` records a request's ``jti`` in ``used_jwt_ids`` (unique per application): the
  insert runs in a savepoint, so a second use of the same ``jti`` — even one racing on another
  web process — fails on the unique constraint and is reported as a replay without spoiling
  the caller's transaction. Rows whose JWT has expired are deleted on the way (a replay of an
  expired JWT is refused by its ``exp`` already), so the table holds at most ten minutes of
  requests.
- ``covered_account`` finds the account a request names *only among the grants' own rows*
  (``grant_service_points`` joined to the grant's customer's accounts, each point still in
  the tenure the access record found live): an account the grants do not cover is never
  read, so the answer cannot tell whether it exists. It returns the account, its covered
  service points with their tariff, net metering and current meter, and which grants cover it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from opencustodian.domain.customers import AccountClass
from opencustodian.domain.invoices import CoveredAccount, EcisAccount, EcisPoint
from opencustodian.domain.metering import Commodity
from opencustodian.storage.models import (
    Account,
    AccountServicePoint,
    AuditEvent,
    GrantServicePoint,
    Meter,
    ServicePoint,
    ThirdPartyApplication,
    UsedJwtId,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from sqlalchemy.orm import Session

    from opencustodian.domain.invoices import GrantCoverage


class SqlEcisStore:
    """ECIS reads and writes over one session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        """Work through ``session``."""
        self._session = session

    # -- keys ------------------------------------------------------------------------------------

    def signing_keys(self, application_id: int) -> tuple[dict[str, Any] | None, str | None]:
        """The application's registered JWK Set and sealed HS256 secret (each None if unset)."""
        row = self._session.execute(
            select(ThirdPartyApplication.jwks, ThirdPartyApplication.client_secret_sealed).where(
                ThirdPartyApplication.id == application_id
            )
        ).first()
        if row is None:
            return None, None
        jwks = row.jwks if isinstance(row.jwks, dict) else None
        return jwks, row.client_secret_sealed

    def set_jwks(self, application_id: int, jwks: dict[str, Any] | None) -> None:
        """Replace the registered JWK Set (None: no keys)."""
        self._session.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.id == application_id)
            .values(jwks=jwks)
        )

    def set_sealed_secret(self, application_id: int, sealed: str | None) -> None:
        """Keep (or, with None, forget) the sealed client secret HS256 is verified with."""
        self._session.execute(
            update(ThirdPartyApplication)
            .where(ThirdPartyApplication.id == application_id)
            .values(client_secret_sealed=sealed)
        )

    def use_jwt_id(
        self, application_id: int, jti: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Record ``jti`` as used until ``expires_at``; False when it was used already."""
        self._session.execute(delete(UsedJwtId).where(UsedJwtId.expires_at <= now))
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(UsedJwtId).values(
                        application_id=application_id, jti=jti, expires_at=expires_at
                    )
                )
        except IntegrityError:
            return False
        return True

    # -- the account a request names ------------------------------------------------------------

    def covered_account(
        self, account_number: str, grants: Sequence[GrantCoverage]
    ) -> CoveredAccount | None:
        """The account ``account_number`` as ``grants`` cover it, or None (module docstring)."""
        since = {
            (grant.grant_id, point): day for grant in grants for point, day in grant.held_since
        }
        customers = {grant.grant_id: grant.customer_id for grant in grants}
        if not since:
            return None
        rows = self._session.execute(
            select(
                GrantServicePoint.grant_id,
                GrantServicePoint.service_point_id,
                AccountServicePoint.move_in,
                Account.id,
                Account.uuid,
                Account.account_number,
                Account.account_class,
                Account.customer_id,
            )
            .join(Account, Account.id == GrantServicePoint.account_id)
            .join(
                AccountServicePoint,
                and_(
                    AccountServicePoint.account_id == GrantServicePoint.account_id,
                    AccountServicePoint.service_point_id == GrantServicePoint.service_point_id,
                ),
            )
            .where(
                GrantServicePoint.grant_id.in_(sorted(customers)),
                Account.account_number == account_number,
            )
        ).all()
        live = [
            row
            for row in rows
            if since.get((row.grant_id, row.service_point_id)) == row.move_in
            and customers[row.grant_id] == row.customer_id
        ]
        if not live:
            return None
        first = live[0]
        account = EcisAccount(
            first.id,
            first.uuid,
            first.account_number,
            AccountClass(first.account_class),
            self._points(
                {row.service_point_id: row.move_in for row in live},
            ),
        )
        return CoveredAccount(account, tuple(sorted({row.grant_id for row in live})))

    def _points(self, held_since: dict[int, date]) -> tuple[EcisPoint, ...]:
        rows = self._session.execute(
            select(
                ServicePoint.id,
                ServicePoint.uuid,
                ServicePoint.commodity,
                ServicePoint.rate_plan,
                ServicePoint.net_metered,
                ServicePoint.esiid,
            )
            .where(ServicePoint.id.in_(sorted(held_since)))
            .order_by(ServicePoint.id)
        ).all()
        meters = self._current_meters(held_since)
        return tuple(
            EcisPoint(
                row.id,
                row.uuid,
                Commodity(row.commodity),
                row.rate_plan,
                row.net_metered,
                row.esiid,
                meters.get(row.id),
            )
            for row in rows
        )

    def _current_meters(self, held_since: dict[int, date]) -> dict[int, str]:
        """Per point, the latest meter installed there during the tenure (or still there)."""
        rows = self._session.execute(
            select(Meter.service_point_id, Meter.meter_number, Meter.removed_on)
            .where(Meter.service_point_id.in_(sorted(held_since)))
            .order_by(Meter.service_point_id, Meter.installed_on, Meter.id)
        ).all()
        meters: dict[int, str] = {}
        for row in rows:
            # A meter taken out before the tenure began was the previous occupant's.
            if row.removed_on is None or row.removed_on > held_since[row.service_point_id]:
                meters[row.service_point_id] = row.meter_number
        return meters

    # -- audit -----------------------------------------------------------------------------------

    def record_event(self, tag: str, subject: str, data: dict[str, object], actor: str) -> None:
        """Append an audit event in the same transaction."""
        self._session.add(AuditEvent(tag=tag, subject=subject, data=data, actor=actor))
