"""The demo third party's own SQLite file (stdlib ``sqlite3``, one connection per operation).

Three tables: authorization attempts keyed by ``state`` (with the PKCE verifier), connections
(what was granted, the ESPI URIs, token timestamps and — this being a demo third party that must
refresh — the tokens themselves), and received notifications. Times are ISO 8601 UTC strings.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from opencustodian.client import TokenResponse

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS authorization_attempts (
    state TEXT PRIMARY KEY,
    code_verifier TEXT NOT NULL,
    scope TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    origin TEXT NOT NULL,
    data_custodian_id TEXT,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    outcome TEXT,
    error TEXT,
    error_description TEXT,
    connection_id INTEGER REFERENCES connections (id)
);
CREATE TABLE IF NOT EXISTS connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    custodian_name TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_scope TEXT NOT NULL,
    scope TEXT,
    resource_uri TEXT,
    authorization_uri TEXT,
    customer_resource_uri TEXT,
    token_type TEXT,
    access_token TEXT,
    refresh_token TEXT,
    obtained_at TEXT,
    expires_in INTEGER,
    created_at TEXT NOT NULL,
    refresh_count INTEGER NOT NULL DEFAULT 0,
    disconnected_at TEXT
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    resource_uri TEXT NOT NULL,
    connection_id INTEGER REFERENCES connections (id)
);
"""


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Attempt:
    """An authorization attempt, claimed once by the callback."""

    state: str
    code_verifier: str
    scope: str
    redirect_uri: str
    origin: str
    data_custodian_id: str | None


@dataclass(frozen=True, slots=True)
class Connection:
    """A connection as the pages show it (tokens deliberately absent)."""

    id: int
    custodian_name: str
    status: str
    requested_scope: str
    scope: str | None
    resource_uri: str | None
    authorization_uri: str | None
    customer_resource_uri: str | None
    obtained_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    refresh_count: int
    disconnected_at: datetime | None


@dataclass(frozen=True, slots=True)
class Notification:
    """One resource URI received in a BatchList."""

    id: int
    received_at: datetime
    resource_uri: str
    connection_id: int | None


class Database:
    """The app's SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        with self._connect() as connection:
            connection.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as connection, connection:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys = ON")
            yield connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A connection whose work commits together when the block ends (for other stores)."""
        return self._connect()

    # -- authorization attempts --------------------------------------------------------------

    def add_attempt(self, attempt: Attempt, now: datetime) -> None:
        """Remember an attempt until its callback."""
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO authorization_attempts (state, code_verifier, scope, redirect_uri,"
                " origin, data_custodian_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.state,
                    attempt.code_verifier,
                    attempt.scope,
                    attempt.redirect_uri,
                    attempt.origin,
                    attempt.data_custodian_id,
                    _text(now),
                ),
            )

    def claim_attempt(self, state: str, now: datetime, not_before: datetime) -> Attempt | None:
        """The attempt of ``state`` if it is open and recent, marking it used (atomically)."""
        with self._connect() as connection:
            claimed = connection.execute(
                "UPDATE authorization_attempts SET completed_at = ?"
                " WHERE state = ? AND completed_at IS NULL AND created_at >= ?",
                (_text(now), state, _text(not_before)),
            )
            if claimed.rowcount != 1:
                return None
            row = connection.execute(
                "SELECT state, code_verifier, scope, redirect_uri, origin, data_custodian_id"
                " FROM authorization_attempts WHERE state = ?",
                (state,),
            ).fetchone()
        return Attempt(*row)

    def finish_attempt(
        self,
        state: str,
        outcome: str,
        *,
        error: str | None = None,
        description: str | None = None,
        connection_id: int | None = None,
    ) -> None:
        """Record how an attempt ended: ``granted``, ``denied`` or ``error``."""
        with self._connect() as connection:
            connection.execute(
                "UPDATE authorization_attempts SET outcome = ?, error = ?,"
                " error_description = ?, connection_id = ? WHERE state = ?",
                (outcome, error, description, connection_id, state),
            )

    def attempt_outcome(self, state: str) -> str | None:
        """The recorded outcome of ``state`` (None while open or unknown)."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT outcome FROM authorization_attempts WHERE state = ?", (state,)
            ).fetchone()
        return None if row is None else row[0]

    # -- connections -------------------------------------------------------------------------

    def add_connection(
        self, custodian_name: str, requested_scope: str, token: TokenResponse, now: datetime
    ) -> int:
        """Store a new active connection and its token; returns its id."""
        with self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO connections (custodian_name, status, requested_scope, created_at)"
                " VALUES (?, 'active', ?, ?)",
                (custodian_name, requested_scope, _text(now)),
            )
            connection_id = cursor.lastrowid
            assert connection_id is not None  # noqa: S101 - sqlite3 always sets it after INSERT
            self._write_token(connection, connection_id, token)
        return connection_id

    @staticmethod
    def _write_token(
        connection: sqlite3.Connection, connection_id: int, token: TokenResponse
    ) -> None:
        connection.execute(
            "UPDATE connections SET scope = ?, resource_uri = ?, authorization_uri = ?,"
            " customer_resource_uri = ?, token_type = ?, access_token = ?, refresh_token = ?,"
            " obtained_at = ?, expires_in = ? WHERE id = ?",
            (
                token.scope,
                token.resource_uri,
                token.authorization_uri,
                token.customer_resource_uri,
                token.token_type,
                token.access_token,
                token.refresh_token,
                _text(token.obtained_at),
                token.expires_in,
                connection_id,
            ),
        )

    def connection(self, connection_id: int) -> Connection | None:
        """One connection, or None."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM connections WHERE id = ?", (connection_id,)
            ).fetchone()
        return None if row is None else _connection(row)

    def connections(self) -> list[Connection]:
        """Every connection, newest first."""
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM connections ORDER BY id DESC").fetchall()
        return [_connection(row) for row in rows]

    def disconnect(self, connection_id: int, now: datetime) -> None:
        """Mark a connection disconnected and drop its tokens."""
        with self._connect() as connection:
            connection.execute(
                "UPDATE connections SET status = 'disconnected', disconnected_at = ?,"
                " access_token = NULL, refresh_token = NULL WHERE id = ?",
                (_text(now), connection_id),
            )

    def load_token(self, connection_id: int) -> TokenResponse | None:
        """The stored token of a connection (None once disconnected)."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM connections WHERE id = ?", (connection_id,)
            ).fetchone()
        if row is None or row["access_token"] is None:
            return None
        obtained_at = _moment(row["obtained_at"])
        assert obtained_at is not None  # noqa: S101 - written together with access_token
        return TokenResponse(
            access_token=row["access_token"],
            token_type=row["token_type"],
            obtained_at=obtained_at,
            expires_in=row["expires_in"],
            refresh_token=row["refresh_token"],
            scope=row["scope"],
            resource_uri=row["resource_uri"],
            authorization_uri=row["authorization_uri"],
            customer_resource_uri=row["customer_resource_uri"],
        )

    def save_token(self, connection_id: int, token: TokenResponse, *, refreshed: bool) -> None:
        """Replace a connection's token (after a refresh: rotated refresh token included)."""
        with self._connect() as connection:
            self._write_token(connection, connection_id, token)
            if refreshed:
                connection.execute(
                    "UPDATE connections SET refresh_count = refresh_count + 1 WHERE id = ?",
                    (connection_id,),
                )

    def clear_token(self, connection_id: int) -> None:
        """Drop a connection's tokens."""
        with self._connect() as connection:
            connection.execute(
                "UPDATE connections SET access_token = NULL, refresh_token = NULL WHERE id = ?",
                (connection_id,),
            )

    # -- notifications -----------------------------------------------------------------------

    def add_notifications(self, uris: list[str], now: datetime) -> None:
        """Store received URIs, each matched to the connection it names.

        A URI names a connection when it is or extends its resourceURI or authorizationURI (a
        grant's end is notified with its authorizationURI).
        """
        with self._connect() as connection:
            known = connection.execute(
                "SELECT id, resource_uri, authorization_uri FROM connections"
            ).fetchall()
            candidates = [(row[0], value) for row in known for value in (row[1], row[2]) if value]
            for uri in uris:
                connection.execute(
                    "INSERT INTO notifications (received_at, resource_uri, connection_id)"
                    " VALUES (?, ?, ?)",
                    (_text(now), uri, _match(uri, candidates)),
                )

    def notifications(self, limit: int = 200) -> list[Notification]:
        """The latest notifications, newest first."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT id, received_at, resource_uri, connection_id FROM notifications"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            Notification(row[0], datetime.fromisoformat(row[1]), row[2], row[3]) for row in rows
        ]


def _match(uri: str, known: list[tuple[int, str]]) -> int | None:
    """The connection a notified URI (query stripped) is or extends a known URI of (ESPI §7)."""
    bare = urlunsplit(urlsplit(uri)._replace(query="", fragment=""))
    for connection_id, resource_uri in known:
        if bare == resource_uri or bare.startswith(resource_uri.rstrip("/") + "/"):
            return connection_id
    return None


def _connection(row: sqlite3.Row) -> Connection:
    obtained_at = _moment(row["obtained_at"])
    expires_in = row["expires_in"]
    expires_at = (
        None
        if obtained_at is None or expires_in is None
        else TokenResponse("", "", obtained_at, expires_in).expires_at
    )
    created_at = _moment(row["created_at"])
    assert created_at is not None  # noqa: S101 - NOT NULL column
    return Connection(
        id=row["id"],
        custodian_name=row["custodian_name"],
        status=row["status"],
        requested_scope=row["requested_scope"],
        scope=row["scope"],
        resource_uri=row["resource_uri"],
        authorization_uri=row["authorization_uri"],
        customer_resource_uri=row["customer_resource_uri"],
        obtained_at=obtained_at,
        expires_at=expires_at,
        created_at=created_at,
        refresh_count=row["refresh_count"],
        disconnected_at=_moment(row["disconnected_at"]),
    )


class SqliteTokenStore:
    """The client's :class:`~opencustodian.client.TokenStore`, keyed by connection id."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def load(self, key: str) -> TokenResponse | None:
        """The token of connection ``key``."""
        return self.database.load_token(int(key))

    def save(self, key: str, token: TokenResponse) -> None:
        """Store a (refreshed) token for connection ``key``."""
        self.database.save_token(int(key), token, refreshed=True)

    def delete(self, key: str) -> None:
        """Drop the tokens of connection ``key``."""
        self.database.clear_token(int(key))
